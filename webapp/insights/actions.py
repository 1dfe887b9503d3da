"""Action plans: "you said — we will — we did" (issue #16).

An agency manager records, for one unit of their scope, what the unit will change in answer to
what citizens said: the subject (an aspect of a satisfaction indicator, or a comment theme), what
citizens said, what will change, who is responsible (a post or an office, never a person's name:
every text goes through :func:`surveys.pii.mask_text`), the due date and the baseline period whose
results prompted the plan (default: the latest published quarter). Progress is a dated note with
a status; "done" needs the outcome ("we did"). Every change is audited with the unit and the plan.

The public unit page shows each plan with the unit's published rate for its aspect in the baseline
quarter and every later published quarter, so a reader can see whether anything changed. Dropped
plans stay on the page, marked dropped. The rules live here; the agency views and the demo call
these functions.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from public import readers
from surveys import themes as taxonomy
from surveys.pii import mask_text
from surveys.stored import definition_of
from webapp.access import unit_in_scope
from webapp.audit import record_event
from webapp.extensions import db
from webapp.i18n import current_language, localized
from webapp.models import Instrument, PublishedEstimate, Unit, User, utcnow
from webapp.models.insights import ACTION_STATUSES, ActionPlan, ActionUpdate
from webapp.periods import VIETNAM, Period, current_quarter
from webapp.publishing.compute import ASPECT_HOST
from webapp.reports.labels import secondary_name, secondary_order
from webapp.safe_text import has_control_characters

__all__ = [
    "ACTION_STATUSES",
    "ActionError",
    "AlreadySaved",
    "add_update",
    "agency_section",
    "create_plan",
    "public_section",
    "subject_choices",
    "version",
]

MAX_SAID = 1000
MAX_ACTION = 2000
MAX_RESPONSIBLE = 200
MAX_NOTE = 2000
MAX_OUTCOME = 2000
#: The length limits the forms say in words.
LIMITS = {
    "said": MAX_SAID,
    "action": MAX_ACTION,
    "responsible": MAX_RESPONSIBLE,
    "note": MAX_NOTE,
    "outcome": MAX_OUTCOME,
}
#: Plans listed on the agency dashboard (the plans page lists them all).
DASHBOARD_PLANS = 5
#: A due date is at most this many years after the baseline period starts (a promise people can follow).
MAX_YEARS_AHEAD = 5
#: Published quarters offered as the baseline (newest first).
BASELINE_CHOICES = 12
#: Statuses of a plan still to be carried out: past its due date, it is overdue.
OPEN_STATUSES = ("planned", "in_progress")
#: The order plans are listed in: under way, planned, done, dropped.
STATUS_ORDER = ("in_progress", "planned", "done", "dropped")


class ActionError(ValueError):
    """A refused change; ``str(error)`` is the reason in the user's language, ``field`` the form field."""

    def __init__(self, message, field: str | None = None) -> None:
        super().__init__(str(message))
        self.message = message
        self.field = field

    def __str__(self) -> str:
        return str(self.message)


class AlreadySaved(Exception):
    """The same plan, or the same progress step, is already stored (a form sent twice): ``plan`` is it."""

    def __init__(self, plan: ActionPlan) -> None:
        super().__init__(f"action plan {plan.id} already holds this")
        self.plan = plan


# --- subjects: aspects and themes ---------------------------------------------------------------


def theme_labels() -> dict[str, str]:
    """The comment themes' codes and names in the current language, in taxonomy order (``surveys/themes.yaml``)."""
    return {code: taxonomy.theme(code).label_in(current_language()) for code in taxonomy.theme_codes()}


def _unit_aspects(unit: Unit) -> set[tuple[str, str]]:
    """``(indicator, aspect)`` of the unit's questionnaires and of its published aspect rates."""
    codes = {service.instrument_code for service in unit.services}
    found: set[tuple[str, str]] = set()
    latest: dict[str, Instrument] = {}
    for row in db.session.scalars(select(Instrument).where(Instrument.code.in_(codes)).order_by(Instrument.version)):
        latest[row.code] = row
    for row in latest.values():
        host = ASPECT_HOST.get(row.sector)
        if host:
            found.update((host, section.code) for section in definition_of(row).aspects)
    published = db.session.scalars(
        select(PublishedEstimate.metric)
        .where(
            PublishedEstimate.domain_type == "unit",
            PublishedEstimate.domain == unit.code,
            PublishedEstimate.metric.contains("/aspect:", autoescape=True),
        )
        .distinct()
    )
    for metric in published:
        host, _sep, aspect = metric.partition("/aspect:")
        found.add((host, aspect))
    return found


def aspect_label(indicator: str, aspect: str, names: dict[str, str] | None = None) -> str:
    """``Civil servants (Satisfaction with state agencies)``: the aspect, then its indicator."""
    names = names if names is not None else _indicator_names()
    return f"{secondary_name(f'aspect:{aspect}')} ({names.get(indicator, indicator)})"


def subject_choices(unit: Unit) -> list[tuple[str, str]]:
    """``(value, label)`` of every subject a plan of ``unit`` may have: its aspects, then the themes.

    Values are ``aspect:<indicator>:<aspect>`` and ``theme:<code>``.
    """
    names = _indicator_names()
    aspects = sorted(_unit_aspects(unit), key=lambda pair: (pair[0], secondary_order(f"aspect:{pair[1]}")))
    choices = [(f"aspect:{host}:{aspect}", aspect_label(host, aspect, names)) for host, aspect in aspects]
    return choices + [(f"theme:{code}", label) for code, label in theme_labels().items()]


def _indicator_names() -> dict[str, str]:
    return {code: localized(indicator) for code, indicator in readers.indicators_by_code().items()}


def parse_subject(unit: Unit, value: str) -> tuple[str | None, str | None, str | None]:
    """``(indicator, aspect, theme)`` of a subject value; :class:`ActionError` when unknown for the unit."""
    value = (value or "").strip()
    kind, _sep, rest = value.partition(":")
    if kind == "aspect":
        indicator, _sep, aspect = rest.partition(":")
        if (indicator, aspect) in _unit_aspects(unit):
            return indicator, aspect, None
        raise ActionError(_l("Choose one of the aspects this unit is rated on."), "subject")
    if kind == "theme" and rest in theme_labels():
        return None, None, rest
    raise ActionError(_l("Choose an aspect of the service or a theme of the comments."), "subject")


def subject_label(plan: ActionPlan, names: dict[str, str] | None = None) -> str:
    if plan.theme:
        return theme_labels().get(plan.theme, plan.theme)
    return aspect_label(plan.indicator or "", plan.aspect or "", names if names is not None else _indicator_names())


# --- periods ------------------------------------------------------------------------------------


def _today(now: datetime | None) -> date:
    return (now or utcnow()).astimezone(VIETNAM).date()


def baseline_choices(now: datetime | None = None) -> list[str]:
    """The quarters a plan may start from: published quarters, newest first; else the last ended one."""
    published = [s.period for s in reversed(readers.latest_snapshots("Q"))][:BASELINE_CHOICES]
    return published or [current_quarter(now or utcnow()).previous().label]


def default_baseline(now: datetime | None = None) -> str:
    """The latest published quarter (or, before any publication, the last quarter that has ended)."""
    return baseline_choices(now)[0]


def _baseline(label: str | None, now: datetime | None) -> Period:
    if not label:
        return Period.parse(default_baseline(now))
    try:
        period = Period.parse(label)
    except ValueError:
        period = None
    if period is None or period.kind != "Q":
        raise ActionError(_l("Write the baseline period as a quarter, for example 2026-Q3."), "baseline_period")
    if period >= current_quarter(now or utcnow()):
        raise ActionError(
            _l("The baseline must be a quarter that has ended: its results prompted the plan."), "baseline_period"
        )
    return period


# --- texts ---------------------------------------------------------------------------------------

#: Bidirectional embeddings, overrides and isolates: invisible, they make published text read in
#: another order than it is stored (Vietnamese text never needs them).
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")


def _text(value: str | None, limit: int, field: str, empty, too_long) -> str:
    """``value`` trimmed and masked of personal data; refused when empty, too long (typed or once
    masked: a placeholder can be longer than the number it replaces) or with control characters."""
    text = (value or "").strip()
    if not text:
        raise ActionError(empty, field)
    if len(text) > limit:
        raise ActionError(too_long, field)
    if has_control_characters(text) or _BIDI_CONTROLS.search(text):
        raise ActionError(_l("The text holds invisible control characters. Type it again without them."), field)
    masked = mask_text(text)
    if len(masked) > limit:
        raise ActionError(
            _l("With names and numbers masked, the text is longer than %(count)s characters. Shorten it.", count=limit),
            field,
        )
    return masked


def _state(plan: ActionPlan) -> dict:
    """What the audit log keeps of a plan."""
    return {
        "unit": plan.unit.code if plan.unit else None,
        "plan": plan.id,
        "indicator": plan.indicator,
        "aspect": plan.aspect,
        "theme": plan.theme,
        "baseline_period": plan.baseline_period,
        "said": plan.said,
        "action": plan.action,
        "responsible": plan.responsible,
        "due_on": plan.due_on.isoformat() if plan.due_on else None,
        "status": plan.status,
        "outcome": plan.outcome,
    }


def _require_scope(unit: Unit, user: User | None) -> None:
    if user is not None and not unit_in_scope(unit, user):
        raise ActionError(_l("This unit is outside your scope."))


# --- changes -------------------------------------------------------------------------------------


def create_plan(
    unit: Unit,
    *,
    subject: str,
    said: str,
    action: str,
    responsible: str,
    due_on: date | None,
    baseline_period: str | None = None,
    user: User | None = None,
    now: datetime | None = None,
) -> ActionPlan:
    """Record a plan of ``unit`` (status planned) and audit it; the caller commits.

    Raises :class:`ActionError` (nothing written) on an unknown subject, an empty or over-long
    text, a baseline that is not an ended quarter, or a due date before the baseline's start;
    :class:`AlreadySaved` (nothing written) when the unit has this very plan (a form sent twice).
    """
    _require_scope(unit, user)
    indicator, aspect, theme = parse_subject(unit, subject)
    said = _text(
        said,
        MAX_SAID,
        "said",
        _l("Write what citizens said."),
        _l("Write what citizens said in %(count)s characters or fewer.", count=MAX_SAID),
    )
    action = _text(
        action,
        MAX_ACTION,
        "action",
        _l("Write what the unit will change."),
        _l("Write what the unit will change in %(count)s characters or fewer.", count=MAX_ACTION),
    )
    responsible = _text(
        responsible,
        MAX_RESPONSIBLE,
        "responsible",
        _l("Name the post or office responsible, for example Bộ phận Một cửa."),
        _l("Write the post or office responsible in %(count)s characters or fewer.", count=MAX_RESPONSIBLE),
    )
    baseline = _baseline(baseline_period, now)
    if due_on is None:
        raise ActionError(_l("Give the date by which the change will be made."), "due_on")
    if due_on < baseline.start:
        raise ActionError(
            _l("The due date is before the baseline period %(period)s begins.", period=baseline.label), "due_on"
        )
    if due_on > baseline.start.replace(year=baseline.start.year + MAX_YEARS_AHEAD):
        raise ActionError(
            _l(
                "Set a due date within %(years)s years of the baseline period %(period)s.",
                years=MAX_YEARS_AHEAD,
                period=baseline.label,
            ),
            "due_on",
        )
    _lock(Unit, unit.id)
    same = db.session.scalar(
        select(ActionPlan)
        .where(
            ActionPlan.unit_id == unit.id,
            ActionPlan.indicator.is_not_distinct_from(indicator),
            ActionPlan.aspect.is_not_distinct_from(aspect),
            ActionPlan.theme.is_not_distinct_from(theme),
            ActionPlan.said == said,
            ActionPlan.action == action,
            ActionPlan.responsible == responsible,
            ActionPlan.due_on == due_on,
            ActionPlan.baseline_period == baseline.label,
        )
        .limit(1)
    )
    if same is not None:
        raise AlreadySaved(same)
    moment = now or utcnow()
    plan = ActionPlan(
        unit=unit,
        indicator=indicator,
        aspect=aspect,
        theme=theme,
        baseline_period=baseline.label,
        said=said,
        action=action,
        responsible=responsible,
        due_on=due_on,
        status="planned",
        created_by_id=user.id if user is not None else None,
        created_at=moment,
        updated_at=moment,
    )
    db.session.add(plan)
    db.session.flush()
    record_event(
        "action_plan.create",
        actor=_actor(user),
        object_type="action_plan",
        object_id=plan.id,
        after=_state(plan),
        detail=f"unit={unit.code}",
    )
    return plan


def add_update(
    plan: ActionPlan,
    *,
    status: str,
    note: str,
    outcome: str | None = None,
    user: User | None = None,
    now: datetime | None = None,
) -> ActionUpdate:
    """Add a dated progress note that sets the plan's status, and audit it; the caller commits.

    "done" needs the outcome ("we did"); leaving "done" clears it (the notes keep the history).
    Raises :class:`AlreadySaved` (nothing written) when the latest note is this one with this
    status and the plan already has this outcome (a form sent twice).
    """
    _require_scope(plan.unit, user)
    if status not in ACTION_STATUSES:
        raise ActionError(_l("Choose the status: planned, in progress, done or dropped."), "status")
    note = _text(
        note,
        MAX_NOTE,
        "note",
        _l("Write a short note on the progress."),
        _l("Write the note in %(count)s characters or fewer.", count=MAX_NOTE),
    )
    if status == "done":
        outcome = _text(
            outcome,
            MAX_OUTCOME,
            "outcome",
            _l("Say what was done: a plan marked done needs its outcome."),
            _l("Write the outcome in %(count)s characters or fewer.", count=MAX_OUTCOME),
        )
    _lock(ActionPlan, plan.id)
    db.session.refresh(plan)
    latest = db.session.scalar(
        select(ActionUpdate).where(ActionUpdate.plan_id == plan.id).order_by(ActionUpdate.id.desc()).limit(1)
    )
    if (
        latest is not None
        and (latest.status, latest.note) == (status, note)
        and plan.status == status
        and plan.outcome == (outcome if status == "done" else None)
    ):
        raise AlreadySaved(plan)
    before = _state(plan)
    moment = now or utcnow()
    update = ActionUpdate(
        plan=plan, note=note, status=status, created_by_id=user.id if user is not None else None, created_at=moment
    )
    db.session.add(update)
    plan.status = status
    plan.outcome = outcome if status == "done" else None
    plan.done_on = _today(moment) if status == "done" else None
    plan.updated_at = moment
    db.session.flush()
    record_event(
        "action_plan.update",
        actor=_actor(user),
        object_type="action_plan",
        object_id=plan.id,
        before=before,
        after={**_state(plan), "note": note, "update": update.id},
        detail=f"unit={plan.unit.code}",
    )
    return update


def _lock(model, row_id: int) -> None:
    """Hold the row until the transaction ends (PostgreSQL), so two copies of one form sent at the
    same moment are checked one after the other (SQLite runs one writer at a time anyway)."""
    db.session.execute(select(model.id).where(model.id == row_id).with_for_update())


def _actor(user: User | None) -> str | None:
    """The signed-in user is found by :func:`record_event`; elsewhere the given user, or the system."""
    return user.email if user is not None else None


# --- reading -------------------------------------------------------------------------------------


def plans_of(unit: Unit) -> list[ActionPlan]:
    """The unit's plans: under way, planned, done, dropped; by due date within each."""
    return plans_in([unit.id])


def plans_in(unit_ids: list[int] | None) -> list[ActionPlan]:
    """The plans of these units (``None``: every unit), in the order of :func:`plans_of`."""
    query = select(ActionPlan).options(selectinload(ActionPlan.updates))
    if unit_ids is not None:
        query = query.where(ActionPlan.unit_id.in_(unit_ids))
    plans = db.session.scalars(query).all()
    return sorted(plans, key=lambda p: (STATUS_ORDER.index(p.status), p.due_on, p.id))


def find_plan(plan_id: int) -> ActionPlan | None:
    return db.session.get(ActionPlan, plan_id)


def is_overdue(plan: ActionPlan, today: date | None = None) -> bool:
    return plan.status in OPEN_STATUSES and plan.due_on < (today or _today(None))


def version() -> tuple:
    """Changes whenever a plan is created or updated (for the public pages' cache)."""
    plans = db.session.execute(select(func.count(), func.max(ActionPlan.id), func.max(ActionPlan.updated_at))).one()
    updates = db.session.execute(select(func.count(), func.max(ActionUpdate.id))).one()
    return (*plans, *updates)


@dataclass(frozen=True)
class RateRow:
    """The unit's published rate of the plan's aspect in one quarter (``estimate`` None: not published)."""

    period: str
    baseline: bool
    estimate: PublishedEstimate | None


@dataclass(frozen=True)
class PlanView:
    plan: ActionPlan
    subject: str
    overdue: bool
    #: Baseline quarter, then every later published quarter; empty for a theme.
    rates: list[RateRow]

    @staticmethod
    def status_name(status: str) -> str:
        return status_name(status)


@dataclass(frozen=True)
class ActionsSection:
    unit: Unit
    plans: list[PlanView]
    #: Plans the agency dashboard leaves out (it lists :data:`DASHBOARD_PLANS`).
    more: int = 0

    @property
    def overdue(self) -> int:
        return sum(view.overdue for view in self.plans)


def _rates(unit: Unit, plans: list[ActionPlan]) -> dict[int, list[RateRow]]:
    """Per aspect plan, its rows: one query for every plan's metric over the published quarters."""
    snapshots = readers.latest_snapshots("Q")
    metrics = {p.id: f"{p.indicator}/aspect:{p.aspect}" for p in plans if p.aspect}
    found: dict[tuple[int, str], PublishedEstimate] = {}
    if snapshots and metrics:
        for row in db.session.scalars(
            select(PublishedEstimate).where(
                PublishedEstimate.snapshot_id.in_([s.id for s in snapshots]),
                PublishedEstimate.domain_type == "unit",
                PublishedEstimate.domain == unit.code,
                PublishedEstimate.metric.in_(set(metrics.values())),
            )
        ):
            found[(row.snapshot_id, row.metric)] = row
    rates = {}
    for plan in plans:
        if plan.id not in metrics:
            rates[plan.id] = []
            continue
        baseline = Period.parse(plan.baseline_period)
        by_period = {s.period: s for s in snapshots}
        rows = [
            RateRow(
                baseline.label,
                True,
                found.get((by_period[baseline.label].id, metrics[plan.id])) if baseline.label in by_period else None,
            )
        ]
        rows += [
            RateRow(s.period, False, found.get((s.id, metrics[plan.id])))
            for s in snapshots
            if Period.parse(s.period) > baseline
        ]
        rates[plan.id] = rows
    return rates


def _section(unit: Unit, plans: list[ActionPlan], *, more: int = 0) -> ActionsSection:
    names = _indicator_names()
    rates = _rates(unit, plans)
    today = _today(None)
    views = [PlanView(p, subject_label(p, names), is_overdue(p, today), rates[p.id]) for p in plans]
    return ActionsSection(unit, views, more)


def public_section(unit: Unit) -> ActionsSection | None:
    """Every plan of the unit, dropped ones included, with the rates of its aspect; None without plans."""
    plans = plans_of(unit)
    return _section(unit, plans) if plans else None


def agency_section(unit: Unit, limit: int | None = DASHBOARD_PLANS) -> ActionsSection:
    """The unit's plans (the first ``limit``, open ones first; all with ``None``); given even
    without plans, for the dashboard's link to the plans page."""
    plans = plans_of(unit)
    shown = plans if limit is None else plans[:limit]
    return _section(unit, shown, more=len(plans) - len(shown))


def plan_view(plan: ActionPlan) -> PlanView:
    """One plan as the pages show it (subject, overdue, rates of its aspect)."""
    return _section(plan.unit, [plan]).plans[0]


def status_choices() -> list[tuple[str, str]]:
    """``(status, name)`` in the order a plan goes through them."""
    return [(status, status_name(status)) for status in ("planned", "in_progress", "done", "dropped")]


def status_name(status: str) -> str:
    return str(
        {
            "planned": _l("Planned"),
            "in_progress": _l("In progress"),
            "done": _l("Done"),
            "dropped": _l("Dropped"),
        }.get(status, status)
    )
