"""``/admin/integrity``: signals of stuffed ratings, the weekly summary, and the review of responses.

The page only reads; the two forms post to :func:`reinstate` and :func:`exclude`, which call
the services of ``webapp.integrity.review`` (the CLI calls the same ones) and commit the
change with its audit event.
"""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from sqlalchemy.orm import joinedload
from wtforms import HiddenField, StringField

from webapp.admin.blueprint import admin
from webapp.admin.common import arg_text, paginate
from webapp.errors import render_error
from webapp.extensions import db
from webapp.integrity.review import REASON_MAX_LENGTH, ReviewError, exclude_response, reinstate_response
from webapp.integrity.signals import SIGNAL_NAMES, Window, channel_name, compute_signals, flag_name
from webapp.integrity.summary import weekly_summary
from webapp.models import Device, Response, Unit
from webapp.periods import Period, current_quarter

BACK_PREFIX = "/admin/integrity"

REVIEW_ERRORS = {
    "reason_required": (_l("Say why: the reason is kept in the audit log"), 400),
    "reason_too_long": (_l("Use at most 500 characters"), 400),
    "not_flagged": (_l("This response is not flagged (any more): there is nothing to reinstate."), 409),
    "not_valid": (_l("This response is not counted (any more): there is nothing to exclude."), 409),
}


class ReviewForm(FlaskForm):
    """The reason for reinstating or excluding one response; ``back`` is the list to return to."""

    reason = StringField()
    back = HiddenField()


def quarters_with_data() -> list[Period]:
    """Quarters with at least one response, newest first (the period picker's choices)."""
    labels = db.session.scalars(select(Response.period).distinct().order_by(Response.period.desc()))
    return [Period.parse(label) for label in labels]


def _period(choices: list[Period]) -> Period | None:
    """The asked quarter, the latest with data by default; ``None`` when the argument is bad."""
    text = (request.args.get("period") or "").strip()
    if not text:
        return choices[0] if choices else current_quarter()
    try:
        period = Period.parse(text)
    except ValueError:
        return None
    return period if period.kind == "Q" and period.label == text else None


def _page_number() -> int | None:
    text = request.args.get("page", "1")
    if not (text.isascii() and text.isdigit() and len(text) < 7) or int(text) < 1:
        return None
    return int(text)


def _int_arg(name: str) -> int | None | bool:
    """The argument as a positive number, ``None`` when absent, ``False`` when malformed."""
    text = (request.args.get(name) or "").strip()
    if not text:
        return None
    return int(text) if text.isascii() and text.isdigit() and len(text) < 12 else False


@admin.get("/integrity")
def integrity():
    choices = quarters_with_data()
    period = _period(choices)
    number = _page_number()
    device_id = _int_arg("device")
    if period is None or number is None or device_id is False:
        return render_error(
            400,
            str(_l("This address is not right")),
            str(_l("Choose a quarter like 2026-Q3 from the list, and a page number from 1.")),
        )
    device = db.session.get(Device, device_id) if device_id else None
    unit_code = arg_text("unit", 40)
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
    if (device_id and device is None) or (unit_code and unit is None):
        abort(404)

    query = select(Response).where(Response.period == period.label)
    if device is not None:
        query = query.where(Response.device_id == device.id)
    if unit is not None:
        query = query.where(Response.unit_id == unit.id)
    if device is None and unit is None:
        query = query.where(Response.status == "flagged")
    query = query.options(joinedload(Response.unit)).order_by(Response.received_at.desc(), Response.id.desc())
    page = paginate(query, number)
    if page.number != number:  # beyond the last page (paginate would show the last one)
        abort(404)
    if period not in choices:
        choices = sorted([*choices, period], reverse=True)
    return render_template(
        "admin/integrity.html",
        period=period,
        choices=choices,
        report=compute_signals(Window.for_quarter(period)),
        summary=weekly_summary(),
        page=page,
        device=device,
        unit=unit,
        form=ReviewForm(formdata=None),
        back=request.full_path.rstrip("?"),
        signal_names=SIGNAL_NAMES,
        flag_name=flag_name,
        channel_name=channel_name,
        reason_max=REASON_MAX_LENGTH,
    )


def _safe_back(text: str | None) -> str:
    """Only a page of this area is a place to go back to (no open redirect)."""
    text = (text or "").strip()
    if text.startswith(BACK_PREFIX) and "//" not in text and "\\" not in text and len(text) < 500:
        return text
    return url_for("admin.integrity")


def _response_or_404(response_id: int) -> Response:
    response = db.session.get(Response, response_id)
    if response is None:
        abort(404)
    return response


def _render_review(response: Response, form: ReviewForm, error: str | None = None, status: int = 200):
    return render_template(
        "admin/integrity_response.html",
        response=response,
        form=form,
        error=error,
        back=_safe_back(form.back.data),
        flag_name=flag_name,
        channel_name=channel_name,
        reason_max=REASON_MAX_LENGTH,
    ), status


@admin.get("/integrity/responses/<int:response_id>")
def integrity_response(response_id: int):
    form = ReviewForm(formdata=None, back=_safe_back(request.args.get("back")))
    return _render_review(_response_or_404(response_id), form)


def _review(response_id: int, action, done: str):
    response = _response_or_404(response_id)
    form = ReviewForm()
    if not form.validate_on_submit():
        return _render_review(response, form, status=400)
    try:
        action(response_id, form.reason.data, actor=current_user.email)
    except ReviewError as error:
        db.session.rollback()
        message, status = REVIEW_ERRORS.get(error.code, (_l("This response cannot be changed."), 409))
        return _render_review(_response_or_404(response_id), form, str(message), status)
    db.session.commit()
    flash(done % {"id": response_id})
    return redirect(_safe_back(form.back.data))


@admin.post("/integrity/responses/<int:response_id>/reinstate")
def integrity_reinstate(response_id: int):
    return _review(response_id, reinstate_response, str(_l("Response %(id)s is reinstated: it counts again.")))


@admin.post("/integrity/responses/<int:response_id>/exclude")
def integrity_exclude(response_id: int):
    return _review(response_id, exclude_response, str(_l("Response %(id)s is excluded from the estimates.")))
