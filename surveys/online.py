"""The online survey: ``/survey/<unit_code>`` → ``/survey/<unit_code>/<instrument_code>``, and ``/r/<token>``.

One section of the instrument per page, works entirely without JavaScript:

- ``GET /survey/<unit>`` lists the unit's services; each links to its instrument's survey
  with ``?service=<code>``.
- ``GET|POST /survey/<unit>/<instrument>[/<page>]?service=<code>`` asks one page. A valid
  POST keeps the page's answers in the session (per unit + instrument + service) and
  redirects to the next page; the last page stores the response once and redirects to
  ``/survey/<unit>/<instrument>/thanks`` (POST-redirect-GET).
- ``GET /r/<token>`` checks a receipt's code and starts the same survey bound to it
  (channel ``qr``); ``/r`` lets people type the code printed on the paper.

Consent gating: the section holding ``consent_demographics`` is split in two pages; the
demographic questions are on the second, which exists only once the respondent said yes.

Honeypot: a POST whose hidden ``website`` field is filled stores nothing and is answered
with the ordinary thank-you page, so a robot learns nothing from the answer. People never
see the field (it is off-screen, ``aria-hidden`` and out of the tab order).

Duplicates: the session holds a ``client_id`` (UUID) made on the first page and handed to
:func:`surveys.submission.submit_response`, so a final page sent twice stores one response
and both requests end on the same thank-you page.

Matrix sampling: when the survey starts, the detail questions of each sampled aspect are
drawn on the server (:func:`surveys.definitions.draw_asked_items` with
:class:`random.SystemRandom`), kept in the session and stored with the response
(``asked_items``); only those are shown, and an answer to another one is refused.

Mode and language: the response records ``read_aloud`` once the respondent used a listen button
(page.html sends ``read_aloud=1``), else ``self``, and the language the questions were shown in.
The same pages serve assisted interviews (:mod:`webapp.interview`) through another :class:`Flow`:
its own URLs and session key, mode ``assisted``, and an audit event instead of the network address.

Drop-off: each page a session reaches, and the sending of its answers, adds one to an
anonymous per-day counter (:class:`webapp.models.collection.DropoffCount`); nothing about the
session is stored. ``/admin/dropoff`` shows the shares.
"""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from surveys.forms import (
    MAX_CODE_LENGTH,
    ReceiptCodeForm,
)
from surveys.survey_flow import (
    POST_LIMIT,
    RECEIPT_LIMIT,
    SELF_FLOW,
    answer_page,
    fetch_open_unit,
    fetch_services_to_rate,
    page_url,
    start_receipt_survey,
)
from surveys.tokens import TokenState, check_token
from webapp.access import RESPONDENT, declare_access
from webapp.extensions import limiter
from webapp.periods import vietnam_today

survey = declare_access(Blueprint("survey", __name__, template_folder="templates"), RESPONDENT)


@survey.get("/survey/<unit_code>")
def unit_services(unit_code: str):
    """The services of a unit, each leading to its survey."""
    unit = fetch_open_unit(unit_code)
    if unit is None:
        abort(404)
    return render_template("survey/unit.html", unit=unit, services=fetch_services_to_rate(unit))


@survey.route("/survey/<unit_code>/<instrument_code>", defaults={"page": 1}, methods=["GET", "POST"])
@survey.route("/survey/<unit_code>/<instrument_code>/<int:page>", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def question_page(unit_code: str, instrument_code: str, page: int):
    """One page of questions; a valid POST saves it and moves on (or stores the response)."""
    return answer_page(SELF_FLOW, unit_code, instrument_code, page)


@survey.get("/survey/<unit_code>/<instrument_code>/thanks")
def thanks(unit_code: str, instrument_code: str):
    """After the last page: what happens with the rating."""
    unit = fetch_open_unit(unit_code)
    if unit is None:
        abort(404)
    return render_template("survey/thanks.html", unit=unit, unit_page_url=f"/units/{unit.code}")


@survey.route("/r", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"])
def receipt_code():
    """A form to type the code printed on a receipt; sent, it leads to ``/r/<code>``."""
    form = ReceiptCodeForm(formdata=request.form if request.method == "POST" else request.args)
    error = None
    if "code" in (request.form if request.method == "POST" else request.args):
        code = form.cleaned_code()
        if code:
            return redirect(url_for("survey.receipt", token=code))
        error = _("Enter the code printed on your receipt.")
    return render_template("survey/receipt_code.html", form=form, error=error), 422 if error else 200


@survey.get("/r/<token>")
@limiter.limit(RECEIPT_LIMIT)
def receipt(token: str):
    """A receipt's QR code: start its survey, or explain why it cannot be used."""
    checked = check_token(token)
    if checked.state is TokenState.USED:
        # 409: the receipt's one rating is already stored (a polite page, nothing to fill in).
        return render_template("survey/receipt_used.html"), 409
    if checked.state is TokenState.VALID:
        target = start_receipt_survey(checked.token)
        if target is not None:
            return redirect(page_url(target, 1))
    if checked.token is not None:
        # Expired, or (rarely) its office or survey is no longer offered: the code is spent.
        unit = checked.token.unit
        survey_url = url_for("survey.unit_services", unit_code=unit.code) if unit.valid_on(vietnam_today()) else None
        form = ReceiptCodeForm(formdata=None)
        return render_template("survey/receipt_problem.html", problem="expired", survey_url=survey_url, form=form), 410
    problem = "mistyped" if checked.state is TokenState.MISTYPED else "unknown"
    form = ReceiptCodeForm(formdata=None, code=token.strip()[:MAX_CODE_LENGTH])
    return render_template("survey/receipt_problem.html", problem=problem, survey_url=None, form=form), 404
