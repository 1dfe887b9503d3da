"""Questionnaire versions and indicator targets: which version respondents get, and the yearly targets.

The admin pages parse their forms and call these; each change is audited in the same transaction
and committed here. ``registry load`` sets versions and targets from the YAML files again.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from sqlalchemy import select

from surveys import registry_cache
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Indicator, IndicatorTarget, Instrument
from webapp.services import ServiceError


@dataclass(frozen=True)
class TargetValues:
    """A target as entered: ``value`` a share (0.925 for 92.5 %), sources ``None`` when blank."""

    year: int
    value: float
    comparison: str
    source_vi: str | None
    source_en: str | None


#: What the audit records of a target: the fields of :class:`TargetValues`.
TARGET_FIELDS = tuple(field.name for field in fields(TargetValues))


def _values(target: IndicatorTarget) -> dict[str, object]:
    return {name: getattr(target, name) for name in TARGET_FIELDS}


def activate_instrument(instrument: Instrument) -> bool:
    """Make ``instrument`` the version new respondents get; the other versions of its code stop.

    ``False`` (and nothing written) when it is already the active version.
    """
    if instrument.active:
        return False
    siblings = db.session.scalars(select(Instrument).where(Instrument.code == instrument.code)).all()
    before = [row.version for row in siblings if row.active]
    for row in siblings:
        row.active = row.id == instrument.id
    record_event(
        "instrument.activate",
        object_type="instrument",
        object_id=instrument.code,
        before={"active_versions": before},
        after={"active_versions": [instrument.version]},
    )
    db.session.commit()
    registry_cache.clear()
    return True


def _check_year_free(indicator_id: int, year: int, *, other_than: int | None = None) -> None:
    clash = select(IndicatorTarget.id).where(IndicatorTarget.indicator_id == indicator_id, IndicatorTarget.year == year)
    if other_than is not None:
        clash = clash.where(IndicatorTarget.id != other_than)
    if db.session.scalar(clash) is not None:
        raise ServiceError("target_year_taken", year=year)


def add_target(indicator: Indicator, values: TargetValues) -> IndicatorTarget:
    """Add the indicator's target for a year; ``ServiceError('target_year_taken')`` if it has one."""
    _check_year_free(indicator.id, values.year)
    target = IndicatorTarget(indicator=indicator, **asdict(values))
    db.session.add(target)
    db.session.flush()
    record_event(
        "indicator_target.create",
        object_type="indicator_target",
        object_id=target.id,
        after={"indicator": indicator.code, **_values(target)},
    )
    db.session.commit()
    return target


def update_target(target: IndicatorTarget, values: TargetValues) -> bool:
    """Change a target; ``False`` (nothing written) when nothing changed, ``ServiceError`` on a taken year."""
    _check_year_free(target.indicator_id, values.year, other_than=target.id)
    before = _values(target)
    for name, value in asdict(values).items():
        setattr(target, name, value)
    after = _values(target)
    changed = [name for name in after if before[name] != after[name]]
    if not changed:
        return False
    record_event(
        "indicator_target.update",
        object_type="indicator_target",
        object_id=target.id,
        before={"indicator": target.indicator.code, **{name: before[name] for name in changed}},
        after={"indicator": target.indicator.code, **{name: after[name] for name in changed}},
    )
    db.session.commit()
    return True
