"""What a unit's dashboard shows: published figures, and provisional figures from the responses.

Published figures (latest and previous quarter, aspects, response rate, funnel position) are
read from the published snapshots, exactly as the public unit page reads them. Everything
else — breakdowns by service, counter and channel, quality flags and the current quarter's
live figures — is computed here from the unit's own responses with one small SQL
``GROUP BY`` each, and estimated with :mod:`analysis` as a simple random sample (unweighted):
these figures are for the agency's own use and are always labelled as not published.
The same suppression rules as publishing apply: fewer than ``min_n_show`` ratings are not
shown at all, fewer than ``min_n`` show the count only.
"""

from __future__ import annotations

from collections import Counter as Tally
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import func, select

import analysis
from public import readers
from webapp.extensions import db
from webapp.models import (
    Counter,
    Indicator,
    PublishedEstimate,
    PublishedSnapshot,
    Response,
    ResponseScore,
    Service,
    TransactionCount,
    Unit,
)
from webapp.periods import Period, current_quarter
from webapp.portal import response_rates
from webapp.publishing.compute import target_for
from webapp.reports.labels import aspect_rank, secondary_order
from webapp.textfold import fold

#: Defaults when an indicator row is missing (DESIGN.md §6).
MIN_N_SHOW = analysis.MIN_N_SHOW
MIN_N = analysis.MIN_N_PUBLISH


@dataclass(frozen=True)
class Rate:
    """A rate computed from responses (not published); the same fields as a published estimate."""

    key: str
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    target: float | None
    status: str


@dataclass(frozen=True)
class Breakdown:
    """Rates of one indicator by service, counter or channel, from the responses of a period."""

    kind: str
    indicator: Indicator
    rates: list[Rate]
    #: Groups with fewer than ``min_n_show`` ratings: not shown (only how many there are).
    hidden: int = 0


@dataclass(frozen=True)
class ServiceActivity:
    """Ratings against dossiers handled for one service in a period (the response rate)."""

    service: Service
    responses: int
    transactions: int | None

    @property
    def response_rate(self) -> float | None:
        return self.responses / self.transactions if self.transactions else None


@dataclass(frozen=True)
class FlagCounts:
    """Responses of a quarter, and the flagged ones by reason (a response may have several)."""

    period: str
    responses: int
    flagged: int
    by_flag: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class PublishedLine:
    """One indicator's published row in the latest period and the previous one."""

    indicator: Indicator
    latest: PublishedEstimate
    previous: PublishedEstimate | None


@dataclass(frozen=True)
class FunnelView:
    """The unit's place in the funnel plot of one indicator, among units of the same kind."""

    indicator: Indicator
    own: PublishedEstimate
    peers: list[PublishedEstimate]


@dataclass
class Overview:
    unit: Unit
    latest: PublishedSnapshot | None = None
    previous: PublishedSnapshot | None = None
    lines: list[PublishedLine] = field(default_factory=list)
    aspects: dict[str, list[tuple[str, PublishedEstimate]]] = field(default_factory=dict)
    #: Per host indicator, ``(item:<code>, estimate)`` of the criteria measured by matrix sampling.
    criteria: dict[str, list[tuple[str, PublishedEstimate]]] = field(default_factory=dict)
    trends: dict[str, list[readers.TrendRow]] = field(default_factory=dict)
    funnels: list[FunnelView] = field(default_factory=list)
    breakdowns: list[Breakdown] = field(default_factory=list)
    activity: list[ServiceActivity] = field(default_factory=list)
    flags: list[FlagCounts] = field(default_factory=list)
    live_period: str = ""
    live: list[tuple[Indicator, Rate]] = field(default_factory=list)
    live_responses: int = 0
    subunits: list[Unit] = field(default_factory=list)
    #: Survey links issued, delivered and answered per unit (this one and those under it) and service:
    #: ``(quarter label, rows)`` for the previous quarter and this one (:mod:`webapp.portal.response_rates`).
    link_rates: list[tuple[str, list]] = field(default_factory=list)


# --- estimation from counts ---------------------------------------------------------------


def rates_from_counts(
    counts: dict[str, tuple[int, int]],
    *,
    target: float | None,
    min_n: int = MIN_N,
    min_n_show: int = MIN_N_SHOW,
    comparison: str = "gt",
) -> tuple[list[Rate], int]:
    """Unweighted rates with the published default 95% interval for ``{key: (n, satisfied)}``.

    Returns the rates of the groups with at least ``min_n_show`` ratings (count only under
    ``min_n``) and how many groups were left out.
    """
    shown = {key: value for key, value in counts.items() if value[0] >= min_n_show}
    hidden = len(counts) - len(shown)
    if not shown:
        return [], hidden
    keys = sorted(shown)
    n = np.array([shown[k][0] for k in keys], dtype=float)
    satisfied = np.array([shown[k][1] for k in keys], dtype=float)
    goal = target if target is not None else analysis.DEFAULT_TARGET
    result = analysis.estimate_from_sums(
        np.zeros(len(keys), dtype=int), np.arange(len(keys)), n, n, satisfied, n, satisfied, target=goal
    )
    by_domain = {int(row.domain): row for row in result.domains}
    rates = []
    for index, key in enumerate(keys):
        row = by_domain[index]
        count = int(shown[key][0])
        n_eff = row.n_eff_floored
        enough = count >= min_n and n_eff is not None and n_eff >= min_n and row.estimate is not None
        if not enough:
            rates.append(Rate(key, count, None, None, None, target, "insufficient"))
            continue
        status = analysis.target_status(
            row.ci_low, row.ci_high, goal, n=count, n_eff=n_eff, min_n=min_n, comparison=comparison
        )
        rates.append(Rate(key, count, float(row.estimate), float(row.ci_low), float(row.ci_high), target, str(status)))
    return rates, hidden


def target_in(indicator: Indicator, year: int) -> dict:
    """The indicator's milestone in force in ``year`` and how it is judged (the rule publishing uses),
    as keyword arguments of :func:`rates_from_counts`."""
    value, comparison = target_for(indicator, year)
    return {"target": value, "comparison": comparison}


# --- queries ---------------------------------------------------------------------------------


def _satisfaction_indicators() -> dict[str, Indicator]:
    return {
        i.code: i
        for i in db.session.scalars(select(Indicator).where(Indicator.kind == "satisfaction").order_by(Indicator.id))
    }


def score_counts(
    unit: Unit, quarters: Sequence[str], key_column, metrics: Iterable[str]
) -> dict[str, dict[str, tuple[int, int]]]:
    """``{metric: {key: (n, satisfied)}}`` of the unit's valid responses, grouped by ``key_column``."""
    query = (
        select(key_column, ResponseScore.metric, func.count(), func.sum(ResponseScore.satisfied))
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(
            Response.unit_id == unit.id,
            Response.period.in_(list(quarters)),
            Response.status == "valid",
            ResponseScore.metric.in_(list(metrics)),
        )
        .group_by(key_column, ResponseScore.metric)
    )
    result: dict[str, dict[str, tuple[int, int]]] = {}
    for key, metric, n, satisfied in db.session.execute(query):
        result.setdefault(metric, {})["" if key is None else str(key)] = (int(n), int(satisfied or 0))
    return result


def breakdowns(unit: Unit, period: Period, indicators: dict[str, Indicator]) -> list[Breakdown]:
    """The unit's rates by service, counter and channel in ``period`` (from responses, unweighted)."""
    quarters = [q.label for q in period.quarters]
    found = []
    for kind, column in (
        ("service", Response.service_id),
        ("counter", Response.counter_id),
        ("channel", Response.channel),
    ):
        for metric, counts in score_counts(unit, quarters, column, indicators).items():
            indicator = indicators[metric]
            rates, hidden = rates_from_counts(
                counts, **target_in(indicator, period.year), min_n=indicator.min_n, min_n_show=indicator.min_n_show
            )
            if rates or hidden:
                found.append(Breakdown(kind, indicator, rates, hidden))
    order = list(indicators)
    kinds = ["service", "counter", "channel"]
    return sorted(found, key=lambda b: (kinds.index(b.kind), order.index(b.indicator.code)))


def service_activity(unit: Unit, period: Period) -> list[ServiceActivity]:
    """Valid responses and imported transaction counts per service of the unit in ``period``."""
    quarters = [q.label for q in period.quarters]
    responses = dict(
        db.session.execute(
            select(Response.service_id, func.count())
            .where(Response.unit_id == unit.id, Response.period.in_(quarters), Response.status == "valid")
            .group_by(Response.service_id)
        ).all()
    )
    transactions = dict(
        db.session.execute(
            select(TransactionCount.service_id, func.sum(TransactionCount.count))
            .where(TransactionCount.unit_id == unit.id, TransactionCount.period.in_(quarters))
            .group_by(TransactionCount.service_id)
        ).all()
    )
    ids = set(responses) | set(transactions)
    if not ids:
        return []
    services = {s.id: s for s in db.session.scalars(select(Service).where(Service.id.in_(ids)))}
    rows = [
        ServiceActivity(services[i], int(responses.get(i, 0)), int(transactions[i]) if i in transactions else None)
        for i in ids
    ]
    return sorted(rows, key=lambda r: r.service.code)


def flag_counts(unit: Unit, quarter: Period) -> FlagCounts:
    """How many responses of the quarter were flagged, by reason (burst, too fast, straight-lining…)."""
    total = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.unit_id == unit.id, Response.period == quarter.label)
    )
    tally: Tally[str] = Tally()
    flagged = 0
    for flags in db.session.scalars(
        select(Response.quality_flags).where(
            Response.unit_id == unit.id, Response.period == quarter.label, Response.status == "flagged"
        )
    ):
        flagged += 1
        tally.update(set(flags or ()))
    return FlagCounts(quarter.label, int(total or 0), flagged, dict(sorted(tally.items())))


def live_rates(
    unit: Unit, quarter: Period, indicators: dict[str, Indicator]
) -> tuple[list[tuple[Indicator, Rate]], int]:
    """The unit's provisional rate of each indicator in ``quarter``, and its valid responses so far."""
    counts = score_counts(unit, [quarter.label], Response.unit_id, indicators)
    figures = []
    for metric, per_key in counts.items():
        indicator = indicators[metric]
        rates, _hidden = rates_from_counts(
            per_key, **target_in(indicator, quarter.year), min_n=indicator.min_n, min_n_show=indicator.min_n_show
        )
        if rates:
            figures.append((indicator, rates[0]))
        else:
            n = sum(v[0] for v in per_key.values())
            figures.append((indicator, Rate(str(unit.id), n, None, None, None, None, "hidden")))
    order = list(indicators)
    figures.sort(key=lambda pair: order.index(pair[0].code))
    responses = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.unit_id == unit.id, Response.period == quarter.label, Response.status == "valid")
    )
    return figures, int(responses or 0)


def subunits(unit: Unit, today: date | None = None) -> list[Unit]:
    """The units directly under ``unit``: those that exist today first, then by name."""
    today = today or date.today()
    children = db.session.scalars(select(Unit).where(Unit.parent_id == unit.id)).all()
    return sorted(children, key=lambda u: (not u.valid_on(today), fold(u.name_vi)))


def counter_names(unit: Unit) -> dict[str, str]:
    """``{counter id as text: name}`` of the unit's counters (breakdown rows are keyed by id)."""
    return {str(c.id): c.name for c in db.session.scalars(select(Counter).where(Counter.unit_id == unit.id))}


def _published(overview: Overview, indicators_all: dict[str, Indicator]) -> None:
    unit = overview.unit
    snapshots = readers.latest_snapshots("Q")
    index, rows = readers.latest_unit_estimates(snapshots, unit.code)
    if index is None:
        return
    overview.latest = snapshots[index]
    overview.previous = snapshots[index - 1] if index > 0 else None
    previous_rows = (
        {r.metric: r for r in readers.unit_estimates(overview.previous, unit.code)} if overview.previous else {}
    )
    for row in rows:
        if "/" not in row.metric and row.metric in indicators_all:
            overview.lines.append(PublishedLine(indicators_all[row.metric], row, previous_rows.get(row.metric)))
            overview.trends[row.metric] = readers.trend(snapshots, row.metric, "unit", unit.code)
        elif "/aspect:" in row.metric:
            host, _, aspect = row.metric.partition("/aspect:")
            overview.aspects.setdefault(host, []).append((aspect, row))
        elif "/item:" in row.metric:
            host, _, criterion = row.metric.partition("/")
            overview.criteria.setdefault(host, []).append((criterion, row))
        elif "/" in row.metric:
            host, _, kind = row.metric.partition("/")
            overview.aspects.setdefault(host, []).append((kind, row))
    for pairs in overview.aspects.values():
        pairs.sort(key=lambda pair: aspect_rank(pair[0]))
    for pairs in overview.criteria.values():
        pairs.sort(key=lambda pair: secondary_order(pair[0]))
    for line in overview.lines:
        if not (line.latest.extra or {}).get("funnel"):
            continue
        peers = [
            r
            for r in readers.rows_of(overview.latest, line.indicator.code, "unit")
            if r.estimate is not None and (r.extra or {}).get("funnel")
        ]
        kinds = {u.code: u.kind for u in readers.units_by_code(r.domain for r in peers).values()}
        same_kind = sorted((r for r in peers if kinds.get(r.domain) == unit.kind), key=lambda r: r.n_eff or 0)
        overview.funnels.append(FunnelView(line.indicator, line.latest, same_kind))


def build_overview(unit: Unit, today: date | None = None) -> Overview:
    """Everything the unit dashboard shows."""
    overview = Overview(unit)
    indicators_all = readers.indicators_by_code()
    satisfaction = _satisfaction_indicators()
    _published(overview, indicators_all)
    if overview.latest is not None:
        period = Period.parse(overview.latest.period)
        overview.breakdowns = breakdowns(unit, period, satisfaction)
        overview.activity = service_activity(unit, period)
    quarter = current_quarter()
    overview.flags = [flag_counts(unit, quarter), flag_counts(unit, quarter.previous())]
    overview.live_period = quarter.label
    overview.live, overview.live_responses = live_rates(unit, quarter, satisfaction)
    overview.subunits = subunits(unit, today)
    scope = response_rates.subtree_ids(unit)
    overview.link_rates = [
        (q.label, response_rates.period_response_rates(scope, q)) for q in (quarter.previous(), quarter)
    ]
    return overview
