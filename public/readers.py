"""Queries behind the indicator and unit pages: published snapshots only, never live data."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import (
    Indicator,
    PublishedDriver,
    PublishedEstimate,
    PublishedSnapshot,
    Service,
    Unit,
    UnitSuccession,
)
from webapp.periods import Period

#: The last quarter reported by district; later quarters are reported by commune or ward.
LAST_DISTRICT_QUARTER = Period(2025, "Q", 2)


def latest_snapshots(kind: str = "Q") -> list[PublishedSnapshot]:
    """The latest revision of each published period of ``kind`` (``Q``, ``H`` or ``Y``), oldest first."""
    latest: dict[str, PublishedSnapshot] = {}
    for snapshot in db.session.scalars(select(PublishedSnapshot).order_by(PublishedSnapshot.revision)):
        try:
            period = Period.parse(snapshot.period)
        except ValueError:
            continue
        if period.kind == kind:
            latest[snapshot.period] = snapshot
    return sorted(latest.values(), key=lambda s: Period.parse(s.period))


def snapshots_for(indicator: Indicator) -> list[PublishedSnapshot]:
    """Coverage indicators are published by year, satisfaction indicators by quarter."""
    return latest_snapshots("Y" if indicator.kind == "coverage" else "Q")


def rows_of(snapshot: PublishedSnapshot, metric: str, domain_type: str) -> list[PublishedEstimate]:
    return list(
        db.session.scalars(
            select(PublishedEstimate)
            .where(
                PublishedEstimate.snapshot_id == snapshot.id,
                PublishedEstimate.metric == metric,
                PublishedEstimate.domain_type == domain_type,
            )
            .order_by(PublishedEstimate.domain)
        )
    )


def secondary_rows(snapshot: PublishedSnapshot, host: str, domain_type: str, domain: str) -> list[PublishedEstimate]:
    """The ``<host>/…`` rows (aspects, whole-questionnaire rates, criteria) of one domain."""
    return list(
        db.session.scalars(
            select(PublishedEstimate).where(
                PublishedEstimate.snapshot_id == snapshot.id,
                PublishedEstimate.metric.startswith(f"{host}/", autoescape=True),
                PublishedEstimate.domain_type == domain_type,
                PublishedEstimate.domain == domain,
            )
        )
    )


def drivers_in(snapshot: PublishedSnapshot, indicator: str, domain_type: str, domain: str) -> list[PublishedDriver]:
    """The key-driver rows of one indicator in one domain of a snapshot, strongest first."""
    rows = db.session.scalars(
        select(PublishedDriver).where(
            PublishedDriver.snapshot_id == snapshot.id,
            PublishedDriver.indicator == indicator,
            PublishedDriver.domain_type == domain_type,
            PublishedDriver.domain == domain,
        )
    ).all()
    return sorted(rows, key=lambda d: (d.rank is None, d.rank or 0, d.aspect))


@dataclass(frozen=True)
class TrendRow:
    period: str
    estimate: PublishedEstimate | None


def trend(
    snapshots: list[PublishedSnapshot], metric: str, domain_type: str = "province", domain: str = "sl"
) -> list[TrendRow]:
    """One row per published period (``estimate`` None where the domain was not published)."""
    if not snapshots:
        return []
    ids = {s.id: s.period for s in snapshots}
    found = {
        ids[r.snapshot_id]: r
        for r in db.session.scalars(
            select(PublishedEstimate).where(
                PublishedEstimate.snapshot_id.in_(list(ids)),
                PublishedEstimate.metric == metric,
                PublishedEstimate.domain_type == domain_type,
                PublishedEstimate.domain == domain,
            )
        )
    }
    rows = [TrendRow(s.period, found.get(s.period)) for s in snapshots]
    # From the first to the last period with a figure.
    while rows and rows[0].estimate is None:
        rows.pop(0)
    while rows and rows[-1].estimate is None:
        rows.pop()
    return rows


def unit_estimates(snapshot: PublishedSnapshot, unit_code: str) -> list[PublishedEstimate]:
    """Every published row of a unit in a snapshot (indicators, aspects, item-level, all-items)."""
    return list(
        db.session.scalars(
            select(PublishedEstimate)
            .where(
                PublishedEstimate.snapshot_id == snapshot.id,
                PublishedEstimate.domain_type == "unit",
                PublishedEstimate.domain == unit_code,
            )
            .order_by(PublishedEstimate.metric)
        )
    )


def latest_unit_estimates(
    snapshots: list[PublishedSnapshot], unit_code: str
) -> tuple[int | None, list[PublishedEstimate]]:
    """The position in ``snapshots`` (oldest first) of the newest one publishing rows for the
    unit, and those rows; ``(None, [])`` when none does. Two queries, however many snapshots."""
    if not snapshots:
        return None, []
    with_rows = set(
        db.session.scalars(
            select(PublishedEstimate.snapshot_id)
            .where(
                PublishedEstimate.snapshot_id.in_([s.id for s in snapshots]),
                PublishedEstimate.domain_type == "unit",
                PublishedEstimate.domain == unit_code,
            )
            .distinct()
        )
    )
    for index in range(len(snapshots) - 1, -1, -1):
        if snapshots[index].id in with_rows:
            return index, unit_estimates(snapshots[index], unit_code)
    return None, []


def units_by_code(codes) -> dict[str, Unit]:
    codes = list(set(codes))
    if not codes:
        return {}
    return {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))}


def services_by_code(codes) -> dict[str, Service]:
    codes = list(set(codes))
    if not codes:
        return {}
    return {s.code: s for s in db.session.scalars(select(Service).where(Service.code.in_(codes)))}


def indicators_by_code() -> dict[str, Indicator]:
    return {i.code: i for i in db.session.scalars(select(Indicator).order_by(Indicator.id))}


def successions(unit: Unit) -> tuple[list[Unit], list[Unit]]:
    """(predecessors, successors) of a unit in the reorganisations."""
    links = db.session.scalars(
        select(UnitSuccession).where((UnitSuccession.old_unit_id == unit.id) | (UnitSuccession.new_unit_id == unit.id))
    ).all()
    predecessors = sorted((link.old_unit for link in links if link.new_unit_id == unit.id), key=lambda u: u.name_vi)
    successors = sorted((link.new_unit for link in links if link.old_unit_id == unit.id), key=lambda u: u.name_vi)
    return predecessors, successors


def fold(text: str) -> str:
    """Lower case without accents, ``đ`` as ``d``, spaces collapsed: "Chiềng Đen" → "chieng den"."""
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    stripped = "".join(c for c in decomposed if unicodedata.category(c) != "Mn")
    return " ".join(stripped.casefold().split())


def search_units(query: str, *, today: date | None = None, limit: int = 100) -> list[Unit]:
    """Units whose Vietnamese or English name (or code) contains every word of ``query``,
    ignoring accents and case; units valid ``today`` first, then by name."""
    words = fold(query).split()
    if not words:
        return []
    today = today or date.today()
    matches = []
    for unit in db.session.scalars(select(Unit)):
        haystack = " ".join((fold(unit.name_vi), fold(unit.name_en), unit.code))
        if all(word in haystack for word in words):
            matches.append(unit)
    matches.sort(key=lambda u: (not u.valid_on(today), fold(u.name_vi)))
    return matches[:limit]
