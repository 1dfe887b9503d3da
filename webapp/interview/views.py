"""The interview area: ``/interview`` (pick a unit), ``/interview/<unit>`` (pick a service), then the
unit's survey page by page, and "Next respondent" (see the package's documentation)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import ColumnElement, and_

from surveys.submission import Stored
from surveys.survey_flow import (
    QUICK_INSTRUMENT,
    Flow,
    SurveyTarget,
    answer_page,
    fetch_active_instruments,
    fetch_open_unit,
    fetch_services_to_rate,
    find_survey_target,
    forget_progress,
    instrument_definition,
)
from webapp.access import declare_staff_area, scope_root, scoped_units_query, unit_in_scope
from webapp.audit import record_event
from webapp.extensions import db, limiter
from webapp.models import Service, Unit
from webapp.periods import vietnam_today
from webapp.registry.search import unit_order, unit_search_clause, valid_on_clause

interview = declare_staff_area(Blueprint("interview", __name__, url_prefix="/interview"), roles=("interviewer",))

#: Units shown at once in the picker (search narrows it).
PICKER_LIMIT = 50
#: Per account: a page of answers every few seconds is quick for an interview read aloud.
POST_LIMIT = "30/minute;1000/day"


def _per_account() -> str:
    return f"interviewer:{current_user.id}"


@interview.after_request
def _no_store(response):
    """A respondent's answers are on these pages: never kept in a cache of the shared tablet."""
    response.headers["Cache-Control"] = "no-store"
    return response


def record_assisted(target: SurveyTarget, stored: Stored) -> None:
    """Audit who assisted (never on the response itself)."""
    record_event(
        "response.assisted",
        object_type="response",
        object_id=stored.response_id,
        after={"unit": target.unit.code, "service": target.service.code},
    )
    db.session.commit()


INTERVIEW = Flow(
    "interview",
    unit_arg="unit",
    services_view="services",
    session_key="interview_progress",
    assisted=True,
    template="survey/interview/page.html",
    after_store=record_assisted,
)


def may_interview_about(unit: Unit) -> bool:
    """In the account's subtree, and not its own office (agencies cannot rate themselves)."""
    root = scope_root()
    return unit_in_scope(unit) and (root is None or unit.id != root.id)


def _unit_or_refuse(code: str) -> Unit:
    """The open unit ``code`` (404 when there is none today), 403 when this account may not interview about it."""
    unit = fetch_open_unit(code)
    if unit is None:
        abort(404)
    if not may_interview_about(unit):
        abort(403)
    return unit


def _check_target(target: SurveyTarget) -> None:
    if not may_interview_about(target.unit):
        abort(403)


def _offers_a_survey_to_answer() -> ColumnElement[bool]:
    """Units offering, today, a service whose active survey can be answered online: the rule of
    :func:`surveys.survey_flow.fetch_services_to_rate`, as a SQL condition."""
    answerable = [
        code for code, row in fetch_active_instruments().items() if "online" in instrument_definition(row).channels
    ]
    return Unit.services.any(and_(Service.instrument_code.in_(answerable), valid_on_clause(vietnam_today(), Service)))


def units_to_pick(query: str, today: date | None = None) -> list[Unit]:
    """Open units of the account's subtree (its own office left out) with a survey to answer,
    matching every word of ``query`` (accents ignored), by name."""
    today = today or date.today()
    statement = scoped_units_query().where(
        valid_on_clause(today), unit_search_clause(query), _offers_a_survey_to_answer()
    )
    root = scope_root()
    if root is not None:
        statement = statement.where(Unit.id != root.id)
    return list(db.session.scalars(statement.order_by(*unit_order(today)).limit(PICKER_LIMIT)))


@interview.get("/")
def index():
    """Pick the unit the respondent used (searchable)."""
    query = (request.args.get("q") or "").strip()[:100]
    return render_template("survey/interview/index.html", units=units_to_pick(query), query=query, own=scope_root())


@interview.get("/<unit>")
def services(unit: str):
    """Pick the service the respondent used."""
    found = _unit_or_refuse(unit)
    offered = fetch_services_to_rate(found)
    # The quick rating too, where the survey offers it: some respondents agree to one question only.
    quick = {
        s.code
        for s in offered
        if s.instrument_code != QUICK_INSTRUMENT
        and find_survey_target(found.code, QUICK_INSTRUMENT, s.code) is not None
    }
    return render_template(
        "survey/interview/services.html", unit=found, services=offered, quick=quick, quick_code=QUICK_INSTRUMENT
    )


@interview.route("/<unit>/<instrument_code>", defaults={"page": 1}, methods=["GET", "POST"])
@interview.route("/<unit>/<instrument_code>/<int:page>", methods=["GET", "POST"])
@limiter.limit(POST_LIMIT, methods=["POST"], key_func=_per_account)
def question_page(unit: str, instrument_code: str, page: int):
    """One page of the survey, answered with the respondent; the last stores an assisted response."""
    _unit_or_refuse(unit)
    return answer_page(INTERVIEW, unit, instrument_code, page, check=_check_target)


@interview.get("/<unit>/<instrument_code>/thanks")
def thanks(unit: str, instrument_code: str):
    """Stored: thank the respondent, then the next one."""
    found = _unit_or_refuse(unit)
    service = request.args.get("service", "")
    target = find_survey_target(found.code, instrument_code, service)
    if target is None:
        abort(404)
    return render_template("survey/interview/thanks.html", target=target)


@interview.post("/<unit>/<instrument_code>/next")
@limiter.limit(POST_LIMIT, key_func=_per_account)
def next_respondent(unit: str, instrument_code: str):
    """Forget the previous respondent entirely and start the same survey afresh."""
    found = _unit_or_refuse(unit)
    target = find_survey_target(found.code, instrument_code, request.args.get("service", ""))
    if target is None:
        abort(404)
    forget_progress(target, INTERVIEW)
    return redirect(
        url_for(
            "interview.question_page", unit=found.code, instrument_code=target.row.code, service=target.service.code
        )
    )
