"""The read model of published data: published snapshots only, never live data.

Which snapshot is current, and what a published estimate says, are decided here and nowhere else:

* :func:`find_snapshot` — the latest revision of a period (a later revision supersedes, never edits);
* :func:`latest_snapshots` — the latest revision of every published period (of one kind), oldest first;
* :func:`latest_snapshot` — the latest revision of the latest period of a kind. The open data files'
  ``/data/latest/…`` is :func:`latest_snapshot` of quarters (the page /data says "latest quarter");
* :func:`last_published` — the latest revision of the period published most recently, whatever its
  kind: what ``/api/v1/estimates`` answers without a ``period`` (the OpenAPI document: "default: the
  latest published"). The two contracts differ on purpose: a year published after its fourth quarter
  is the API's default, while the downloads' address stays on quarters;
* :data:`ESTIMATE_FIELDS` and :func:`estimate_record` — the one field list of a published estimate,
  used by the API, the downloads and the OpenAPI schema; :func:`estimates_query` and
  :func:`ordered_estimates` filter, sort and page estimates in SQL.

Every rule is computed by the database (a ``max(revision)`` per period, ``ORDER BY``/``LIMIT``): no
function here loads superseded revisions or a whole snapshot to pick from it in Python.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Select, and_, case, func, select

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
from webapp.models.publishing import DOMAIN_TYPES
from webapp.models.types import codepoint_order
from webapp.periods import Period

#: The last quarter reported by district; later quarters are reported by commune or ward.
LAST_DISTRICT_QUARTER = Period(2025, "Q", 2)

# --- which snapshot is current ------------------------------------------------------------------


def period_sort_key(label: str) -> tuple[date, int]:
    return Period.parse(label).chronological()


def _of_kind(kind: str):
    """Labels of ``kind``: ``2026-Q3`` (quarter), ``2026-H1`` (half-year), ``2026`` (year)."""
    if kind == "Q":
        return PublishedSnapshot.period.like("%-Q%")
    if kind == "H":
        return PublishedSnapshot.period.like("%-H%")
    if kind == "Y":
        return PublishedSnapshot.period.not_like("%-%")
    raise ValueError(f"unknown kind of period {kind!r} (Q, H or Y)")


def find_snapshot(period_label: str) -> PublishedSnapshot | None:
    """The latest revision published for the period ``period_label`` (written exactly: ``2026-Q3``)."""
    return db.session.scalar(
        select(PublishedSnapshot)
        .where(PublishedSnapshot.period == period_label)
        .order_by(PublishedSnapshot.revision.desc())
        .limit(1)
    )


def latest_snapshots(kind: str | None = None) -> list[PublishedSnapshot]:
    """The latest revision of each published period of ``kind`` (``Q``, ``H``, ``Y``; None: every kind),
    oldest first (by :meth:`Period.chronological`)."""
    newest = select(PublishedSnapshot.period, func.max(PublishedSnapshot.revision).label("revision")).group_by(
        PublishedSnapshot.period
    )
    if kind is not None:
        newest = newest.where(_of_kind(kind))
    current = newest.subquery()
    snapshots = db.session.scalars(
        select(PublishedSnapshot).join(
            current,
            and_(PublishedSnapshot.period == current.c.period, PublishedSnapshot.revision == current.c.revision),
        )
    ).all()
    keyed = []
    for snapshot in snapshots:
        try:
            keyed.append((period_sort_key(snapshot.period), snapshot))
        except ValueError:  # not a period label: never published by this application
            continue
    return [snapshot for _, snapshot in sorted(keyed, key=lambda pair: pair[0])]


def latest_snapshot(kind: str) -> PublishedSnapshot | None:
    """The latest revision of the latest published period of ``kind`` (labels of one kind sort as text)."""
    return db.session.scalar(
        select(PublishedSnapshot)
        .where(_of_kind(kind))
        .order_by(PublishedSnapshot.period.desc(), PublishedSnapshot.revision.desc())
        .limit(1)
    )


def last_published() -> PublishedSnapshot | None:
    """The latest revision of the period whose snapshot was published last (any kind)."""
    period = (
        select(PublishedSnapshot.period)
        .order_by(PublishedSnapshot.published_at.desc(), PublishedSnapshot.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return db.session.scalar(
        select(PublishedSnapshot)
        .where(PublishedSnapshot.period == period)
        .order_by(PublishedSnapshot.revision.desc())
        .limit(1)
    )


def revised_periods() -> list[tuple[str, list[PublishedSnapshot]]]:
    """Every period published more than once, newest first, with all its revisions in order."""
    revised = select(PublishedSnapshot.period).group_by(PublishedSnapshot.period).having(func.count() > 1)
    by_period: dict[str, list[PublishedSnapshot]] = {}
    for snapshot in db.session.scalars(
        select(PublishedSnapshot).where(PublishedSnapshot.period.in_(revised)).order_by(PublishedSnapshot.revision)
    ):
        by_period.setdefault(snapshot.period, []).append(snapshot)
    return sorted(by_period.items(), key=lambda item: period_sort_key(item[0]), reverse=True)


# --- what a published estimate says -------------------------------------------------------------

#: The fields of every published estimate, in this order (the JSON download's; the API sorts its keys).
#: ``indicator``, ``period``, ``revision`` and ``scale`` come from the metric, the snapshot and ``extra``;
#: the others are the row's columns. The OpenAPI schema requires them all.
ESTIMATE_FIELDS = (
    "indicator",
    "metric",
    "period",
    "domain_type",
    "domain",
    "n",
    "estimate",
    "se",
    "ci_low",
    "ci_high",
    "ci_method",
    "scale",
    "n_eff",
    "deff",
    "target",
    "status",
    "revision",
)
#: Secondary figures read from ``extra`` where the row has them (``change`` and ``funnel`` are objects).
ESTIMATE_EXTRAS = ("weighted", "response_rate", "transactions", "change", "funnel")
#: The columns a publication stores for each estimate (besides its id and snapshot), from the model.
STORED_ESTIMATE_COLUMNS = tuple(
    column.name for column in PublishedEstimate.__table__.columns if column.name not in ("id", "snapshot_id")
)


def estimate_record(row: PublishedEstimate, snapshot: PublishedSnapshot, *, every_extra: bool = False) -> dict:
    """A published estimate as the API and the downloads spell it: :data:`ESTIMATE_FIELDS`, then the
    :data:`ESTIMATE_EXTRAS` the row has (every one, None where absent, with ``every_extra``)."""
    extra = row.extra or {}
    derived = {
        "indicator": row.metric.split("/")[0],
        "period": snapshot.period,
        "revision": snapshot.revision,
        # A mean score (1–5) or a share (0–1): estimate, se and interval are on that scale.
        "scale": extra.get("scale", "share"),
    }
    record = {name: derived[name] if name in derived else getattr(row, name) for name in ESTIMATE_FIELDS}
    for key in ESTIMATE_EXTRAS:
        if every_extra or key in extra:
            record[key] = extra.get(key)
    return record


def estimates_query(
    snapshot: PublishedSnapshot,
    *,
    metric: str | None = None,
    aspects: bool = True,
    unit: str | None = None,
    domain_type: str | None = None,
) -> Select:
    """The estimates of ``snapshot``: one ``metric``, or every indicator (and its aspects and criteria
    with ``aspects``); of one ``unit``; of one ``domain_type``."""
    query = select(PublishedEstimate).where(PublishedEstimate.snapshot_id == snapshot.id)
    if metric is not None:
        query = query.where(PublishedEstimate.metric == metric)
    elif not aspects:
        query = query.where(~PublishedEstimate.metric.contains("/"))
    if unit is not None:
        query = query.where(PublishedEstimate.domain_type == "unit", PublishedEstimate.domain == unit)
    if domain_type is not None:
        query = query.where(PublishedEstimate.domain_type == domain_type)
    return query


def count_rows(query: Select) -> int:
    return db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0


def ordered_estimates(query: Select, *, offset: int = 0, limit: int | None = None) -> list[PublishedEstimate]:
    """The rows of ``query`` by metric, domain type (in :data:`DOMAIN_TYPES` order), then domain;
    ``offset`` and ``limit`` cut a page in SQL."""
    kind_rank = case({name: rank for rank, name in enumerate(DOMAIN_TYPES)}, value=PublishedEstimate.domain_type)
    query = query.order_by(
        codepoint_order(PublishedEstimate.metric), kind_rank, codepoint_order(PublishedEstimate.domain)
    )
    if offset:
        query = query.offset(offset)
    if limit is not None:
        query = query.limit(limit)
    return list(db.session.scalars(query))


# --- pages ----------------------------------------------------------------------------------------


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


def domain_estimates(snapshot: PublishedSnapshot, domain_type: str, domain: str) -> list[PublishedEstimate]:
    """Every published row of one domain in a snapshot (indicators, aspects, item-level, all-items), by metric."""
    return list(
        db.session.scalars(
            select(PublishedEstimate)
            .where(
                PublishedEstimate.snapshot_id == snapshot.id,
                PublishedEstimate.domain_type == domain_type,
                PublishedEstimate.domain == domain,
            )
            .order_by(PublishedEstimate.metric)
        )
    )


def unit_estimates(snapshot: PublishedSnapshot, unit_code: str) -> list[PublishedEstimate]:
    """Every published row of a unit in a snapshot."""
    return domain_estimates(snapshot, "unit", unit_code)


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
