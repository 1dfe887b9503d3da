"""The online survey's flow, shared by its pages (:mod:`surveys.online`) and assisted interviews.

What is rated (unit, service, instrument), the progress kept in the session, the pages of an
instrument, storing the response once, and :func:`answer_page`, the one handler of a question page
that both the respondent's own survey and an interviewer's (:mod:`webapp.interview`) use through a
:class:`Flow` (its URLs, session key and mode). How it works is told in :mod:`surveys.online`.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import abort, redirect, render_template, request, session, url_for
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from surveys import definitions, languages
from surveys.demographics import RESIDENCE_KINDS
from surveys.forms import (
    Step,
    SurveyPageForm,
    answer_error_message,
    field_id,
    page_fields,
    read_page_answers,
    residence_groups,
    survey_steps,
)
from surveys.messages import describe
from surveys.submission import FieldError, Stored, Submission, SubmissionRejected, submit_response
from webapp.extensions import db
from webapp.i18n import current_language
from webapp.models import Instrument, ReceiptToken, Service, Unit, utcnow
from webapp.models.collection import SUBMITTED_PAGE, DropoffCount
from webapp.periods import vietnam_today

#: Per address, on every view that takes a POST.
POST_LIMIT = "30/minute"


#: Receipt codes cannot be guessed, but there is no reason to let anyone try quickly.
RECEIPT_LIMIT = "60/minute"


#: The short rating any administrative service may be rated with besides its own survey.
QUICK_INSTRUMENT = "counter-quick"


SESSION_KEY = "survey_progress"


#: Surveys kept in progress at once in one session (the session is a cookie: keep it small).
MAX_SURVEYS_IN_PROGRESS = 2


#: ``duration_seconds`` beyond this is not a plausible single sitting: not recorded.
MAX_DURATION_SECONDS = 86_400


#: Draws the detail questions each respondent is asked: the operating system's randomness, so
#: no one can predict or steer which questions a session gets.
_SAMPLER = random.SystemRandom()


@dataclass(frozen=True)
class SurveyTarget:
    """A unit's service and the instrument version it is rated with."""

    unit: Unit
    service: Service
    row: Instrument
    instrument: definitions.Instrument

    @property
    def key(self) -> str:
        return f"{self.unit.code}/{self.row.code}/{self.service.code}"


@dataclass(frozen=True)
class Flow:
    """How a survey is answered: by the respondent on their own (``/survey``), or with an interviewer
    entering the answers (``/interview``, :mod:`webapp.interview`).

    ``blueprint`` names the views (``question_page``, ``thanks``, ``services_view``) and ``unit_arg``
    their unit's URL variable; each flow keeps its progress under its own ``session_key``.
    """

    blueprint: str
    unit_arg: str = "unit_code"
    #: The view listing the unit's services (the first page's Back link).
    services_view: str = "unit_services"
    session_key: str = SESSION_KEY
    #: ``assisted``: an interviewer entered the answers (else ``self``, or ``read_aloud`` when
    #: the respondent listened to the questions).
    assisted: bool = False
    template: str = "survey/page.html"
    #: Called with the target and the stored response after a response was created (the audit event).
    after_store: Callable[[SurveyTarget, Stored], None] | None = None

    def url(self, view: str, target_unit: str, **values: Any) -> str:
        return url_for(f"{self.blueprint}.{view}", **{self.unit_arg: target_unit}, **values)


#: The respondent answering on their own phone or computer.
SELF_FLOW = Flow("survey")


#: The form field page.html sends as "1" once the respondent used a listen button.
READ_ALOUD_FIELD = "read_aloud"


_definitions: dict[tuple[int, str], definitions.Instrument] = {}


def instrument_definition(row: Instrument) -> definitions.Instrument:
    """The definition of a stored instrument version (parsed once per content hash)."""
    key = (row.id, row.content_hash)
    if key not in _definitions:
        _definitions[key] = definitions.instrument_from_snapshot(row.snapshot, f"{row.code}.v{row.version}")
    return _definitions[key]


def fetch_open_unit(unit_code: str) -> Unit | None:
    """The unit called ``unit_code`` if it exists today."""
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    return unit if unit is not None and unit.valid_on(vietnam_today()) else None


def fetch_active_instruments() -> dict[str, Instrument]:
    """The version new respondents get, for each instrument code."""
    return {row.code: row for row in db.session.scalars(select(Instrument).where(Instrument.active.is_(True)))}


def fetch_services_to_rate(unit: Unit) -> list[Service]:
    """The unit's services whose survey can be answered online, by name."""
    active = fetch_active_instruments()
    services = [
        service
        for service in unit.services_on(vietnam_today())
        if service.instrument_code in active
        and "online" in instrument_definition(active[service.instrument_code]).channels
    ]
    language = current_language()
    return sorted(services, key=lambda service: service.name(language))


def find_survey_target(
    unit_code: str, instrument_code: str, service_code: str, channel: str = "online"
) -> SurveyTarget | None:
    """What ``/survey/<unit>/<instrument>?service=`` rates, or None when that survey does not exist.

    The service must be offered by a unit that exists today, and the instrument must be
    the service's own or the quick rating of its sector, and be answerable on ``channel``.
    """
    unit = fetch_open_unit(unit_code)
    if unit is None:
        return None
    service = next((s for s in unit.services_on(vietnam_today()) if s.code == service_code), None)
    if service is None or instrument_code not in (service.instrument_code, QUICK_INSTRUMENT):
        return None
    row = fetch_active_instruments().get(instrument_code)
    if row is None:
        return None
    instrument = instrument_definition(row)
    if channel not in instrument.channels or instrument.sector != service.sector:
        return None
    return SurveyTarget(unit, service, row, instrument)


def fetch_residence_units() -> list[Unit]:
    """Communes and wards that exist today: where a respondent may say they live."""
    today = vietnam_today()
    return list(
        db.session.scalars(
            select(Unit).where(
                Unit.kind.in_(tuple(RESIDENCE_KINDS)),
                Unit.valid_from <= today,
                (Unit.valid_to.is_(None)) | (Unit.valid_to >= today),
            )
        )
    )


def _now_seconds() -> int:
    return int(utcnow().timestamp())


def load_progress(target: SurveyTarget, flow: Flow = SELF_FLOW) -> dict[str, Any] | None:
    """This survey's progress in the session, unless it was for another instrument version."""
    progress = session.get(flow.session_key, {}).get(target.key)
    if progress is None or progress.get("version") != target.row.version:
        return None
    return progress


def save_progress(target: SurveyTarget, progress: dict[str, Any], flow: Flow = SELF_FLOW) -> None:
    """Keep ``progress`` in the session; forget the oldest surveys beyond the few kept."""
    progress["touched"] = _now_seconds()
    surveys = dict(session.get(flow.session_key, {}))
    surveys[target.key] = progress
    kept = sorted(surveys.items(), key=lambda entry: entry[1].get("touched", 0), reverse=True)
    session[flow.session_key] = dict(kept[:MAX_SURVEYS_IN_PROGRESS])


def start_progress(target: SurveyTarget, token: ReceiptToken | None = None, flow: Flow = SELF_FLOW) -> dict[str, Any]:
    """A fresh start: a new client id, the clock started, no answers yet, the questions drawn."""
    asked = definitions.draw_asked_items(target.instrument, _SAMPLER)
    progress = {
        "client_id": str(uuid.uuid4()),
        "version": target.row.version,
        "started": _now_seconds(),
        "answers": {},
        "reached": 1,
        "token": token.id if token is not None else None,
        "done": False,
        # The items not drawn (shorter than those drawn: the session is a cookie); None: all asked.
        "skipped": None
        if asked is None
        else sorted(item.code for item in target.instrument.items if item.code not in asked),
        # The highest page this session was counted as reaching (drop-off counters).
        "counted": 0,
    }
    save_progress(target, progress, flow)
    return progress


def asked_items(target: SurveyTarget, progress: dict[str, Any]) -> frozenset[str] | None:
    """The item codes this session is asked; None when everything is asked."""
    skipped = progress.get("skipped")
    if skipped is None:
        return None
    return frozenset(item.code for item in target.instrument.items if item.code not in skipped)


def steps_for(target: SurveyTarget, progress: dict[str, Any]) -> list[Step]:
    consent = progress["answers"].get(definitions.CONSENT_ITEM) == "yes"
    return survey_steps(target.instrument, consent_given=consent, asked=asked_items(target, progress))


def add_to_dropoff(instrument_id: int, page: int, section: str | None) -> None:
    """One more session reached ``page`` (``SUBMITTED_PAGE``: sent its answers) today; committed.

    An upsert, so concurrent sessions never lose a count nor collide on the first of the day.
    """
    values = {"instrument_id": instrument_id, "day": vietnam_today(), "page": page, "section": section, "sessions": 1}
    table = DropoffCount.__table__
    dialect = db.engine.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(table).values(values)
    statement = statement.on_conflict_do_update(
        index_elements=["instrument_id", "day", "page"], set_={"sessions": table.c.sessions + 1}
    )
    db.session.execute(statement)
    db.session.commit()


def count_page_reached(target: SurveyTarget, progress: dict[str, Any], step: Step, flow: Flow = SELF_FLOW) -> None:
    """Count this session on ``step``'s page the first time it gets there."""
    if step.number <= progress.get("counted", 0):
        return
    add_to_dropoff(target.row.id, step.number, step.section.code)
    progress["counted"] = step.number
    save_progress(target, progress, flow)


def save_page_answers(
    target: SurveyTarget, progress: dict[str, Any], step: Step, formdata, flow: Flow = SELF_FLOW
) -> tuple[dict[str, str], dict[str, Any]]:
    """Validate one page's answers and keep them in ``progress`` when they are acceptable.

    Returns the error message per item code (empty when saved) and the answers as posted,
    to show again when refused.
    """
    raw = read_page_answers(step, formdata)
    answers = definitions.coerce_answers(target.instrument, raw)
    merged = {code: value for code, value in progress["answers"].items() if code not in step.item_codes}
    merged.update(answers)
    sources = {"residence_units": [unit.code for unit in fetch_residence_units()]} if step.needs_sources else None
    errors: dict[str, str] = {}
    problems = definitions.validate_answers(
        target.instrument, merged, sources=sources, asked=asked_items(target, progress)
    )
    for problem in problems:
        if problem.item in step.checked_codes and problem.item not in errors:
            errors[problem.item] = answer_error_message(target.instrument.item(problem.item), problem)
    if errors:
        return errors, raw
    if step.asks_consent and merged.get(definitions.CONSENT_ITEM) != "yes":
        # Said no (perhaps after going back): drop anything answered about the person.
        merged = {code: value for code, value in merged.items() if not _is_demographic(target, code)}
    progress["answers"] = merged
    progress["reached"] = max(progress["reached"], step.number + 1)
    if formdata.get(READ_ALOUD_FIELD) == "1":
        # The respondent listened to the questions on some page: the response was read aloud.
        progress["read_aloud"] = True
    save_progress(target, progress, flow)
    return {}, merged


def _is_demographic(target: SurveyTarget, code: str) -> bool:
    return target.instrument.has_item(code) and target.instrument.item(code).demographic


def response_mode(progress: dict[str, Any], flow: Flow = SELF_FLOW) -> str:
    """``assisted`` in an interview, else ``read_aloud`` when the respondent listened, else ``self``."""
    if flow.assisted:
        return "assisted"
    return "read_aloud" if progress.get("read_aloud") else "self"


def response_language() -> str:
    """The language the questions were shown in (Vietnamese when the page's is not a survey language)."""
    language = current_language()
    return language if languages.is_known(language) else languages.SOURCE


def finish_survey(target: SurveyTarget, progress: dict[str, Any], flow: Flow = SELF_FLOW) -> Stored:
    """Store the response (once per client id) and mark the progress done.

    The answers leave the session: only the client id and the response id stay, so that the
    last page sent again ends on the same thank-you page. Raises :class:`SubmissionRejected`
    when the answers or the receipt are refused.
    """
    answers = dict(progress["answers"])
    if answers.get(definitions.CONSENT_ITEM) != "yes":
        answers = {code: value for code, value in answers.items() if not _is_demographic(target, code)}
    token = None
    if progress.get("token") is not None:
        token = db.session.get(ReceiptToken, progress["token"])
        if token is None:
            raise SubmissionRejected([FieldError("token", "not_this_service")])
    duration = _now_seconds() - int(progress["started"])
    submission = Submission(
        client_id=uuid.UUID(progress["client_id"]),
        instrument_code=target.row.code,
        instrument_version=target.row.version,
        unit_code=target.unit.code,
        service_code=target.service.code,
        channel="qr" if token is not None else "online",
        answers=answers,
        duration_seconds=duration if 0 <= duration <= MAX_DURATION_SECONDS else None,
        receipt_token=token,
        # An interviewer's tablet sends many respondents' answers: its address says nothing about
        # stuffing (the audit log says who assisted), so it is not counted per address.
        source_address=None if flow.assisted else request.remote_addr,
        asked_items=asked_items(target, progress),
        mode=response_mode(progress, flow),
        language=response_language(),
    )
    stored = submit_response(submission)
    if stored.created:
        add_to_dropoff(target.row.id, SUBMITTED_PAGE, None)
        if flow.after_store is not None:
            flow.after_store(target, stored)
    save_progress(
        target,
        {
            "client_id": progress["client_id"],
            "version": progress["version"],
            "done": True,
            "response_id": stored.response_id,
        },
        flow,
    )
    return stored


def start_receipt_survey(token: ReceiptToken) -> SurveyTarget | None:
    """Bind the survey of ``token``'s unit and service to the token (channel ``qr``).

    Answers already given with the same token in this session are kept; None when that
    survey cannot be answered any more (the unit closed, the instrument withdrawn).
    """
    target = find_survey_target(token.unit.code, token.service.instrument_code, token.service.code, channel="qr")
    if target is None:
        return None
    progress = load_progress(target)
    if progress is None or progress.get("done") or progress.get("token") != token.id:
        start_progress(target, token=token)
    return target


def forget_progress(target: SurveyTarget, flow: Flow = SELF_FLOW) -> None:
    """Drop this survey's answers from the session (a robot's, a receipt used meanwhile, the next respondent)."""
    surveys = dict(session.get(flow.session_key, {}))
    surveys.pop(target.key, None)
    session[flow.session_key] = surveys


def page_url(target: SurveyTarget, number: int, anchor: str | None = None, flow: Flow = SELF_FLOW) -> str:
    return flow.url(
        "question_page",
        target.unit.code,
        instrument_code=target.row.code,
        page=number,
        service=target.service.code,
        _anchor=anchor,
    )


def thanks_url(target: SurveyTarget, flow: Flow = SELF_FLOW) -> str:
    return flow.url("thanks", target.unit.code, instrument_code=target.row.code, service=target.service.code)


def answer_page(flow: Flow, unit_code: str, instrument_code: str, page: int, check=None):
    """The view of one page of questions in ``flow``; ``check(target)`` may refuse the target (abort)."""
    service_code = request.args.get("service", "")
    if not service_code:
        return redirect(flow.url(flow.services_view, unit_code))
    target = find_survey_target(unit_code, instrument_code, service_code)
    if target is None:
        abort(404)
    if check is not None:
        check(target)
    progress = load_progress(target, flow)
    if request.method == "POST" and progress is not None and progress.get("done"):
        # The last page sent again after it was stored (a double click, the Back button).
        return redirect(thanks_url(target, flow))
    if progress is None or progress.get("done"):
        progress = start_progress(target, flow=flow)
    steps = steps_for(target, progress)
    if not 1 <= page <= len(steps):
        abort(404)
    if page > progress["reached"]:
        # Earlier pages come first: their required answers are not known yet.
        return redirect(page_url(target, min(progress["reached"], len(steps)), flow=flow))
    form = SurveyPageForm()
    if request.method == "GET":
        count_page_reached(target, progress, steps[page - 1], flow)
        return _render_page(target, steps, page, form, progress["answers"], flow=flow)

    if form.honeypot_filled:
        forget_progress(target, flow)
        return redirect(thanks_url(target, flow))
    errors, values = save_page_answers(target, progress, steps[page - 1], request.form, flow)
    if errors:
        # Shown again with the problems: 422 tells scripts and tests the answers were refused.
        return _render_page(target, steps, page, form, values, errors, flow=flow), 422
    steps = steps_for(target, progress)  # saying yes to the personal questions adds a page
    if page < len(steps):
        return redirect(page_url(target, page + 1, flow=flow))
    try:
        finish_survey(target, progress, flow)
    except SubmissionRejected as rejected:
        if any(error.code == "already_used" for error in rejected.errors):
            forget_progress(target, flow)
            return render_template("survey/receipt_used.html"), 409
        summary = _submission_errors(target, steps, rejected, flow)
        return _render_page(target, steps, page, form, values, summary=summary, flow=flow), 422
    return redirect(thanks_url(target, flow))


def _render_page(
    target: SurveyTarget,
    steps: list[Step],
    page: int,
    form: SurveyPageForm,
    values: dict[str, Any],
    errors: dict[str, str] | None = None,
    summary: list[dict[str, str]] | None = None,
    flow: Flow = SELF_FLOW,
):
    """The page of questions ``page``, showing ``values`` and the problems found, if any."""
    language = current_language()
    step = steps[page - 1]
    errors = errors or {}
    summary = [
        # A question left out by sampling has no field on the page to link to.
        {
            "href": f"#{field_id(code)}" if code in step.item_codes else "",
            "text": _summary_text(target.instrument.item(code), message),
        }
        for code, message in errors.items()
    ] + (summary or [])
    residences = residence_groups(fetch_residence_units(), language) if step.needs_sources else ()
    return render_template(
        flow.template,
        target=target,
        step=step,
        total=len(steps),
        form=form,
        fields=page_fields(step, values, errors, language, residences),
        errors=summary,
        action=page_url(target, page, flow=flow),
        back_url=page_url(target, page - 1, flow=flow) if page > 1 else flow.url(flow.services_view, target.unit.code),
        is_last=page == len(steps),
        privacy_here=page == 1 or step.asks_consent,
    )


def _summary_text(item: definitions.Item, message: str) -> str:
    """An error summary entry: which question, then what to do."""
    return f"{item.text.get(current_language())} – {message}"


def _submission_errors(
    target: SurveyTarget, steps: list[Step], rejected: SubmissionRejected, flow: Flow = SELF_FLOW
) -> list[dict[str, str]]:
    """The error summary for a refused submission: answer problems link to their page."""
    entries = []
    for error in rejected.errors:
        code = error.field.removeprefix("answers.")
        step = next((s for s in steps if code in s.item_codes), None)
        if step is not None:
            item = target.instrument.item(code)
            problem = definitions.AnswerError(code, error.code, dict(error.params))
            entries.append(
                {
                    "href": page_url(target, step.number, field_id(code), flow),
                    "text": _summary_text(item, answer_error_message(item, problem)),
                }
            )
        else:
            entries.append({"href": "", "text": describe(error)})
    return entries
