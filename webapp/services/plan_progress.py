"""Values of the plan's targets that the survey does not measure, entered by Sở Nội vụ.

**Rule.** An entry names a target of ``public/plan_targets.yaml`` that has a value and no
survey indicator (a survey-based target takes its value from the published snapshots, a
qualitative objective has nothing to measure), a share in [0, 1], the date it describes and
a **source** (a report's number and date, or an address): an entry without a source is refused
and nothing is written. Each entry is kept (history) and audit-logged; the public plan page
shows the latest ``as_of`` of each target with its source.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import TYPE_CHECKING

from flask_babel import gettext as _

from public.downloads import plan_targets
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import PlanProgressValue
from webapp.periods import VIETNAM
from webapp.services import ServiceError, actor_name

if TYPE_CHECKING:
    from webapp.models import User

#: A value describes a day; noon in Vietnam keeps that day in any time zone the page is read in.
NOON = time(12, 0)
#: Longest source and note kept (the form says so too).
MAX_SOURCE = 500
MAX_NOTE = 2000


class PlanValueError(ServiceError):
    """A refused plan value: :meth:`message` says why in the current language; nothing was written."""

    STATUS = {
        "no_source": 400,
        "source_too_long": 400,
        "note_too_long": 400,
        "value_not_share": 400,
        "unknown_target": 404,
    }

    def message(self) -> str:
        messages = {
            "no_source": lambda: _("Say where the value comes from (a report and its date)"),
            "source_too_long": lambda: _("Use at most %(count)s characters", count=MAX_SOURCE),
            "note_too_long": lambda: _("Use at most %(count)s characters", count=MAX_NOTE),
            "value_not_share": lambda: _("Enter a percentage from 0 to 100, for example 85 or 92,5"),
            "unknown_target": lambda: _(
                "This target is measured by the survey or has no figure: no value can be entered for it."
            ),
        }
        return messages[self.code]()


def plans() -> list[dict]:
    """The plans of ``public/plan_targets.yaml`` (2011–2020, then 2021–2030)."""

    return plan_targets()["plans"]


def manual_targets() -> list[dict]:
    """Targets with a value that no survey indicator measures: their values are entered by Sở Nội vụ.

    Each target dict is the file's, with ``plan`` (the plan's dict) added.
    """
    return [
        {**target, "plan": plan}
        for plan in plans()
        for target in plan["targets"]
        if "value" in target and not target.get("indicators")
    ]


def manual_target(target_id: str) -> dict | None:
    return next((t for t in manual_targets() if t["id"] == target_id), None)


def record_plan_value(
    target_id: str, value: float, as_of: date, source: str | None, *, actor: User | None, note: str | None = None
) -> PlanProgressValue:
    """Add a value of ``target_id`` (a share) describing ``as_of``, with its ``source``; audit-logged.

    Raises :class:`PlanValueError` (nothing written) for a target not entered by hand, a value
    outside [0, 1], or an empty source. The caller commits.
    """
    if manual_target(target_id) is None:
        raise PlanValueError("unknown_target", target=target_id)
    if not 0 <= value <= 1:
        raise PlanValueError("value_not_share", value=value)
    source = (source or "").strip()
    if not source:
        raise PlanValueError("no_source")
    if len(source) > MAX_SOURCE:
        raise PlanValueError("source_too_long", max=MAX_SOURCE)
    note = (note or "").strip() or None
    if note is not None and len(note) > MAX_NOTE:
        raise PlanValueError("note_too_long", max=MAX_NOTE)
    row = PlanProgressValue(
        target_id=target_id,
        value=value,
        as_of=datetime.combine(as_of, NOON, tzinfo=VIETNAM),
        source=source,
        note=note,
        entered_by_id=actor.id if actor is not None else None,
    )
    db.session.add(row)
    db.session.flush()
    record_event(
        "plan_progress.create",
        actor=actor_name(actor),
        object_type="plan_progress_value",
        object_id=row.id,
        before=None,
        after={"target": target_id, "value": value, "as_of": as_of.isoformat(), "source": source, "note": note},
    )
    return row
