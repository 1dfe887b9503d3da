"""Compute every estimate of a period (DESIGN.md §6) from SQL sums, with ``analysis``.

For each satisfaction indicator: weighting cells (unit × service × respondent type ×
quarter) get post-stratification weights from the transaction counts
(:func:`analysis.cell_weights`); per-(cell, domain) sums go to
:func:`analysis.estimate_from_sums`, once per kind of domain (province, sector, district or
commune, unit, service, channel, respondent type, mode, language), so every domain is estimated as a domain
of the whole design. Then disclosure control (:mod:`webapp.publishing.disclosure`): fewer than
``min_n_show`` responses → not published at all; fewer than ``min_n`` responses or effective
size → the count only; and complementary suppression wherever a withheld value could be
recovered from the tables of the period's year.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date

import numpy as np
from sqlalchemy import select

import analysis
from surveys.definitions import criterion_items
from surveys.stored import definition_of
from webapp.extensions import db
from webapp.models import Indicator, Instrument, Service, Unit, UnitSuccession
from webapp.periods import Period
from webapp.publishing.aggregate import ItemGroup, PeriodInputs, ScoreGroup, fetch_unit_counts
from webapp.publishing.disclosure import NO_TRANSACTIONS, control, disclosure_summary

METHODOLOGY_VERSION = "2026.1"
#: The date the district level was abolished; periods ending after it are reported by commune.
LAST_DAY_OF_DISTRICTS = date(2025, 6, 30)
#: Indicator that carries the aspect rates of each sector's long questionnaire.
ASPECT_HOST = {"admin": "sat-agencies", "health": "sat-health", "education": "sat-education"}
#: Indicators estimated from one 0/1 score row per response (``response_scores``).
RESPONDENT_KINDS = ("satisfaction", "share")
#: Indicators published with their domains and intervals (coverage is a census of units).
ESTIMATED_KINDS = (*RESPONDENT_KINDS, "index")


@dataclass(frozen=True)
class UnitInfo:
    id: int
    code: str
    kind: str
    #: The district-level unit above it (periods before July 2025), if any.
    district: str | None
    #: The commune or ward it belongs to in the tree valid at the period's end, if any.
    commune: str | None


@dataclass
class EstimateRecord:
    """One row to publish (before or after suppression)."""

    metric: str
    domain_type: str
    domain: str
    n: int
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    n_eff: float | None
    deff: float | None
    target: float | None
    status: str
    extra: dict = field(default_factory=dict)
    hidden: bool = False


@dataclass
class ComputedPeriod:
    period: Period
    records: list[EstimateRecord]
    instrument_versions: dict[str, list[int]]
    input_hashes: dict[str, str]
    summary: dict


def _digest(rows: Iterable) -> str:
    return hashlib.sha256(json.dumps(sorted(rows, key=repr), default=str).encode()).hexdigest()


def target_for(indicator: Indicator, year: int) -> tuple[float | None, str]:
    """The milestone in force in ``year``: the latest at or before it, else the first one."""
    targets = sorted(indicator.targets, key=lambda t: t.year)
    if not targets:
        return None, "gt"
    chosen = [t for t in targets if t.year <= year]
    target = chosen[-1] if chosen else targets[0]
    return target.value, target.comparison


def _unit_infos(period: Period) -> dict[int, UnitInfo]:
    units = {u.id: u for u in db.session.scalars(select(Unit))}
    by_code = {u.code: u for u in units.values()}
    successors: dict[int, list[int]] = defaultdict(list)
    for link in db.session.scalars(select(UnitSuccession)):
        successors[link.old_unit_id].append(link.new_unit_id)
    end = period.end
    infos = {}
    for unit in units.values():
        codes = unit.path.strip("/").split("/")
        district = next((c for c in codes if by_code.get(c) is not None and by_code[c].kind == "district"), None)
        commune = None
        if unit.kind in ("commune", "ward", "township"):
            current = unit
            # Follow the 2025 reorganisation to the unit valid at the period's end.
            for _ in range(3):
                if current.valid_on(end) or len(successors.get(current.id, [])) != 1:
                    break
                current = units[successors[current.id][0]]
            commune = current.code if current.valid_on(end) else None
        infos[unit.id] = UnitInfo(
            unit.id, unit.code, unit.kind, district if end <= LAST_DAY_OF_DISTRICTS else None, commune
        )
    return infos


def _domain_functions(period: Period, units: dict[int, UnitInfo], services: dict[int, Service]) -> dict[str, Callable]:
    """Domain type → function of a score group giving its domain (None: outside every domain)."""
    functions: dict[str, Callable[[ScoreGroup], str | None]] = {
        "province": lambda g: "sl",
        "sector": lambda g: services[g.service_id].sector,
        "unit": lambda g: units[g.unit_id].code,
        "service": lambda g: services[g.service_id].code,
        "channel": lambda g: g.channel,
        "respondent_type": lambda g: g.respondent_type,
        "mode": lambda g: g.mode,
        "language": lambda g: g.language,
    }
    if period.end <= LAST_DAY_OF_DISTRICTS:
        functions["district"] = lambda g: units[g.unit_id].district
    else:
        functions["commune"] = lambda g: units[g.unit_id].commune
    return functions


class _Cells:
    """Weighting cells of one metric's score groups: weight and stratum of each group (DESIGN.md §6).

    Missing counts follow one rule (DESIGN.md §6, :mod:`analysis.cells`): a zero beside
    responses is no count; a unit with responses but no usable count in a quarter takes its
    counts from its nearest earlier quarter that has some (else its nearest later one), at most
    :attr:`REACH` quarters away; a unit still without counts is weighted at the response rate
    of the counted units of its service (:func:`analysis.cell_weights`, rule 3). Imputed counts
    only weight; published transactions and response rates use the reported counts alone.
    """

    #: How many quarters away a unit's counts may be borrowed from.
    REACH = 4

    def __init__(
        self,
        groups: list[ScoreGroup],
        counts: list[tuple],
        sector_services: set[int],
        history: Callable[[list[str], list[int]], list[tuple]] | None = None,
    ):
        reported: dict[tuple, float] = defaultdict(float)
        for q, u, s, r, count in counts:
            if s in sector_services:
                reported[(q, u, s, r)] += count
        #: Every reported cell with transactions, responding or not (published transactions).
        self.count_cells = [(key, count) for key, count in reported.items() if count > 0]
        population = dict(reported)
        usable = {(q, u) for (q, u, _, _), count in reported.items() if count > 0}
        missing = sorted({(g.quarter, g.unit_id) for g in groups if g.n > 0} - usable)
        imputed = self._borrow(missing, sector_services, history) if missing else {}
        for (q, u), rows in imputed.items():
            for key in [key for key in population if key[:2] == (q, u)]:
                del population[key]
            for s, r, count in rows:
                population[(q, u, s, r)] = population.get((q, u, s, r), 0.0) + count
        split = {(q, u, s) for q, u, s, r in population if r != "all"}
        index: dict[tuple, int] = {}
        group_cell = np.empty(len(groups), dtype=np.intp)
        for i, g in enumerate(groups):
            kind = g.respondent_type if (g.quarter, g.unit_id, g.service_id) in split else "all"
            group_cell[i] = index.setdefault((g.quarter, g.unit_id, g.service_id, kind), len(index))
        responding_units = {(key[0], key[1]) for key in index}
        for key in population:
            if key not in index and (key[0], key[1]) in responding_units:
                index[key] = len(index)
        keys = list(index)
        self.n = np.array([g.n for g in groups], dtype=float)
        self.satisfied = np.array([g.satisfied for g in groups], dtype=float)
        cell_n = np.bincount(group_cell, weights=self.n, minlength=len(keys))
        #: Reported count of each cell (nan where none): never the imputed one.
        self.cell_population = np.array([reported.get(k, math.nan) for k in keys])
        weighting_population = np.array([population.get(k, math.nan) for k in keys])
        # Adjustment classes for units still without counts: same service and quarter, same
        # service, same quarter, then every counted response.
        classes = [[(k[0], k[2]) for k in keys], [k[2] for k in keys], [k[0] for k in keys]]
        result = analysis.cell_weights([(k[0], k[1]) for k in keys], weighting_population, cell_n, classes)
        rule = result.rule.astype(object)
        rule[[(k[0], k[1]) in imputed and cell_n[i] > 0 and rule[i] != "class" for i, k in enumerate(keys)]] = (
            "other_quarter"
        )
        #: ``cell``, ``collapsed``, ``other_quarter`` (counts borrowed), ``class`` (service rate), ``unweighted``.
        self.cell_rule = rule.astype(str)
        self.group_cell = group_cell
        self.weight = result.weight[group_cell]
        self.stratum = result.stratum[group_cell]

    @classmethod
    def _borrow(
        cls,
        missing: list[tuple[str, int]],
        sector_services: set[int],
        history: Callable[[list[str], list[int]], list[tuple]] | None,
    ) -> dict[tuple, list[tuple]]:
        """``(quarter, unit) → [(service, respondent type, count)]`` from the unit's nearest counted quarter.

        Earlier quarters come first so that a published quarter's weights do not move when a
        later quarter's counts arrive.
        """

        candidates: dict[str, list[str]] = {}
        for quarter, _ in missing:
            earlier, later, before, after = [], [], Period.parse(quarter), Period.parse(quarter)
            for _ in range(cls.REACH):
                before, after = before.previous(), after.next()
                earlier.append(before.label)
                later.append(after.label)
            candidates[quarter] = earlier + later
        wanted = sorted({q for labels in candidates.values() for q in labels})
        rows: dict[tuple, list[tuple]] = defaultdict(list)
        for q, u, s, r, count in (history or fetch_unit_counts)(wanted, sorted({u for _, u in missing})):
            if s in sector_services and count > 0:
                rows[(q, u)].append((s, r, float(count)))
        borrowed = {}
        for quarter, unit in missing:
            source = next((q for q in candidates[quarter] if rows.get((q, unit))), None)
            if source is not None:
                borrowed[(quarter, unit)] = rows[(source, unit)]
        return borrowed


def _domain_codes(
    groups: list[ScoreGroup], domain_of: Callable[[ScoreGroup], str | None]
) -> tuple[np.ndarray, list[str]]:
    """Each group's domain as an index into the sorted labels; label "" means outside every domain."""
    labels_of_groups = [domain_of(g) or "" for g in groups]
    labels = sorted(set(labels_of_groups))
    position = {label: i for i, label in enumerate(labels)}
    return np.fromiter((position[label] for label in labels_of_groups), dtype=np.intp, count=len(groups)), labels


def _estimate_domains(
    cells: _Cells, codes: np.ndarray, labels: list[str], target: float
) -> dict[str | None, analysis.EstimateRow]:
    """Per-(stratum, domain) sums → :func:`analysis.estimate_from_sums` (domains of the whole design)."""
    if codes.size == 0:
        return {}
    combined = cells.stratum.astype(np.int64) * len(labels) + codes
    keys, inverse = np.unique(combined, return_inverse=True)
    w = cells.weight
    sums = [
        np.bincount(inverse, weights=values, minlength=keys.size)
        for values in (cells.n, w * cells.n, w * cells.satisfied, w * w * cells.n, w * w * cells.satisfied)
    ]
    result = analysis.estimate_from_sums(
        keys // len(labels), keys % len(labels), *sums, target=target, lonely_psu="adjust"
    )
    rows: dict[str | None, analysis.EstimateRow] = {None: result.overall}
    for row in result.domains:
        label = labels[int(row.domain)]
        if label != "":
            rows[label] = row
    return rows


def _domain_extras(
    cells: _Cells,
    codes: np.ndarray,
    labels: list[str],
    groups: list[ScoreGroup],
    flagged,
    domain_type: str,
    domain_of: Callable[[ScoreGroup], str | None] | None = None,
) -> dict[str, dict]:
    """Per domain label: weighting status, transactions, response rate and flagged share.

    ``transactions`` is every reported count of the domain — cells and units without a
    response included (``domain_of`` places those) — and ``response_rate`` the responses in
    counted cells over it. ``weighted`` is ``yes``, ``imputed`` (some responses' weights rest
    on counts borrowed from another quarter or on their service's response rate; how many
    cells each way in ``imputed_cells``) or ``no`` (no count anywhere: every weight 1).
    """
    D = len(labels)
    position = {label: i for i, label in enumerate(labels)}
    size = int(cells.group_cell.max()) + 1 if cells.group_cell.size else 1
    pairs = np.unique(codes.astype(np.int64) * size + cells.group_cell)
    pair_domain, pair_cell = pairs // size, pairs % size
    pair_rule = cells.cell_rule[pair_cell]
    counted_group = np.nan_to_num(cells.cell_population[cells.group_cell]) > 0
    responses = np.bincount(codes, weights=np.where(counted_group, cells.n, 0.0), minlength=D)
    population = np.zeros(D)
    if domain_of is not None:
        for (q, u, s, r), count in cells.count_cells:
            label = domain_of(ScoreGroup(q, u, s, r, "", "", 0, 0)) or ""
            if label in position:
                population[position[label]] += count
    else:
        population = np.bincount(pair_domain, weights=np.nan_to_num(cells.cell_population[pair_cell]), minlength=D)
    unweighted = np.bincount(pair_domain, weights=(pair_rule == "unweighted").astype(float), minlength=D)
    by_quarter = np.bincount(pair_domain, weights=(pair_rule == "other_quarter").astype(float), minlength=D)
    by_rate = np.bincount(pair_domain, weights=(pair_rule == "class").astype(float), minlength=D)
    cell_count = np.bincount(pair_domain, minlength=D)
    units_of: dict[int, set[int]] = defaultdict(set)
    if domain_type in ("unit", "province", "district", "commune"):
        for code, group in zip(codes.tolist(), groups, strict=True):
            units_of[code].add(group.unit_id)
    extras = {}
    for code, label in enumerate(labels):
        if not label:
            continue
        extra: dict = {"weighted": "no" if unweighted[code] == cell_count[code] else "yes"}
        if by_quarter[code] or by_rate[code]:
            extra["weighted"] = "imputed"
            imputed = {"other_quarter": int(by_quarter[code]), "service_rate": int(by_rate[code])}
            extra["imputed_cells"] = {how: cells_ for how, cells_ in imputed.items() if cells_}
        # A channel, respondent type, mode or language is not a part of the transaction counts: no response rate.
        if population[code] > 0 and responses[code] > 0 and domain_type not in NO_TRANSACTIONS:
            extra["transactions"] = int(population[code])
            extra["response_rate"] = float(responses[code] / population[code])
        total = sum(flagged.get(u, (0, 0))[0] for u in units_of.get(code, ()))
        if total:
            extra["flagged_share"] = sum(flagged.get(u, (0, 0))[1] for u in units_of[code]) / total
        extras[label] = extra
    return extras


def _status(low: float, high: float, target: float | None, n: int, n_eff: float, min_n: int, comparison: str) -> str:
    """A publishable figure's status: against its target, or ``no_target`` when it has none (never a made-up bar)."""
    if target is None:
        return analysis.status.STATUS_NO_TARGET
    return analysis.target_status(low, high, target, n=n, n_eff=n_eff, min_n=min_n, comparison=comparison)


def _record(
    metric: str,
    domain_type: str,
    domain: str,
    row: analysis.EstimateRow,
    target: float | None,
    min_n: int,
    comparison: str = "gt",
) -> EstimateRecord:
    """One row; the n_eff >= min_n rule, the stored n_eff and the funnel use the Kish-floored size."""
    n_eff = row.n_eff_floored if row.n_eff is not None else None
    publishable = row.n >= min_n and n_eff is not None and n_eff >= min_n and row.estimate is not None
    status = (
        _status(row.ci_low, row.ci_high, target, row.n, n_eff, min_n, comparison) if publishable else "insufficient"
    )
    return EstimateRecord(
        metric=metric,
        domain_type=domain_type,
        domain=domain,
        n=int(row.n),
        estimate=float(row.estimate) if publishable else None,
        se=float(row.se) if publishable else None,
        ci_low=float(row.ci_low) if publishable else None,
        ci_high=float(row.ci_high) if publishable else None,
        ci_method=row.ci_method,
        n_eff=float(n_eff) if publishable else None,
        deff=float(row.deff) if publishable and row.deff is not None else None,
        target=target,
        status=status,
    )


def _add_comparisons(records: list[EstimateRecord], previous: dict[tuple, tuple], period: Period) -> None:
    """The change from the previous period, from the two published intervals (Newcombe's MOVER).

    ``previous`` maps (metric, domain type, domain) to the previous period's published
    (estimate, se, ci_low, ci_high). "Clear" (the interval excludes 0) keeps its 5 % error rate;
    ``p_value`` is the approximate value consistent with that interval.
    """
    for record in records:
        before = previous.get((record.metric, record.domain_type, record.domain))
        if record.estimate is None or before is None or record.ci_low is None or record.ci_method == "census":
            continue
        if record.extra.get("scale") == "score":  # a change in points of a mean score is not a difference of rates
            continue
        estimate, _se, low, high = (tuple(before) + (None, None))[:4]
        if estimate is None or low is None or high is None:
            continue
        comparison = analysis.compare_intervals(record.estimate, (record.ci_low, record.ci_high), estimate, (low, high))
        record.extra["change"] = {
            "from_period": period.previous().label,
            "difference": comparison.difference,
            "ci_low": comparison.ci_low,
            "ci_high": comparison.ci_high,
            "p_value": comparison.p_value,
            "method": "mover",
        }


def _add_funnel(records: list[EstimateRecord], metric: str) -> None:
    """Funnel limits of each unit around the province rate, on the Kish-floored size stored in ``n_eff``."""
    province = next(
        (r for r in records if r.metric == metric and r.domain_type == "province" and r.estimate is not None), None
    )
    units = [r for r in records if r.metric == metric and r.domain_type == "unit" and r.estimate is not None]
    if province is None or not units or not 0 < province.estimate < 1:
        return
    limits = analysis.funnel_limits(province.estimate, [r.n_eff for r in units], [r.estimate for r in units])
    for i, record in enumerate(units):
        record.extra["funnel"] = {
            "reference": province.estimate,
            "lower95": float(limits.lower95[i]),
            "upper95": float(limits.upper95[i]),
            "lower998": float(limits.lower998[i]),
            "upper998": float(limits.upper998[i]),
            "position": str(limits.position[i]),
        }


def _coverage_records(
    indicator: Indicator, period: Period, groups: list[ScoreGroup], services: dict[int, Service]
) -> list[EstimateRecord]:
    """Share of active public service units (health, education) with enough valid responses in the year."""
    definition = indicator.definition.get("coverage") or {}
    sectors = tuple(definition.get("unit_sectors") or ("health", "education"))
    needed = int(definition.get("min_valid_responses") or 30)
    active = db.session.scalars(
        select(Unit).where(
            Unit.sector.in_(sectors),
            Unit.valid_from <= period.end,
            (Unit.valid_to.is_(None)) | (Unit.valid_to >= period.end),
        )
    ).all()
    if not active:
        return []
    responses: dict[int, int] = defaultdict(int)
    for group in groups:
        # Count each response once: groups of one metric per sector indicator.
        if services[group.service_id].sector in sectors and group.metric in ("sat-health", "sat-education"):
            responses[group.unit_id] += group.n
    surveyed = sum(1 for unit in active if responses.get(unit.id, 0) >= needed)
    share = surveyed / len(active)
    target, _ = target_for(indicator, period.year)
    status = "met" if target is not None and share >= target else "below"
    return [
        EstimateRecord(
            indicator.code,
            "province",
            "sl",
            len(active),
            share,
            0.0,
            share,
            share,
            "census",
            None,
            None,
            target,
            status,
            extra={"units_surveyed": surveyed, "units_active": len(active), "min_responses": needed},
        )
    ]


def _score_source(indicator: Indicator, services: dict[int, Service]) -> tuple[str, set[int]]:
    """The score rows an indicator counts and the services it covers.

    A sub-indicator (``subset_of``) counts its parent's rows about the listed services only; every
    other satisfaction or share indicator counts its own rows, over the services of its sector.
    """
    subset = indicator.definition.get("subset_of")
    sector_services = {sid for sid, s in services.items() if indicator.sector in (None, s.sector)}
    if subset:
        wanted = set(subset["services"])
        return subset["indicator"], {sid for sid in sector_services if services[sid].code in wanted}
    return indicator.code, sector_services


#: The domains of a sub-indicator. Its service cells would repeat its parent's; its
#: cross-classifications by area, channel and respondent type are mostly too small to show, and
#: complementary suppression would then withhold the parent's service cells to protect them.
SUBSET_DOMAINS = ("province", "sector", "unit")


def _domains_of(indicator: Indicator, domain_functions: dict[str, Callable]) -> dict[str, Callable]:
    """The domain types an indicator is published by (a sub-indicator: :data:`SUBSET_DOMAINS`)."""
    if indicator.definition.get("subset_of"):
        return {t: f for t, f in domain_functions.items() if t in SUBSET_DOMAINS}
    return domain_functions


def period_inputs() -> PeriodInputs:
    """A reader of SQL sums for every satisfaction and share indicator and aspect (reusable across periods)."""
    codes = db.session.scalars(select(Indicator.code).where(Indicator.kind.in_(RESPONDENT_KINDS))).all()
    return PeriodInputs(sorted(codes) + sorted(_secondary_metric_names()))


def compute_period(
    period: Period, previous: dict[tuple, tuple] | None = None, inputs: PeriodInputs | None = None
) -> ComputedPeriod:
    """Every estimate of ``period``; ``previous`` maps (metric, domain type, domain) to the
    previous period's published (estimate, se, ci_low, ci_high) for the change figures."""
    inputs = inputs or period_inputs()
    quarters = [q.label for q in period.quarters]
    indicators = db.session.scalars(select(Indicator).order_by(Indicator.code)).all()
    services = {s.id: s for s in db.session.scalars(select(Service))}
    units = _unit_infos(period)
    satisfaction = [i for i in indicators if i.kind in RESPONDENT_KINDS]
    groups = inputs.score_groups(quarters)
    counts = inputs.transaction_counts(quarters)
    domain_functions = _domain_functions(period, units, services)
    flagged = inputs.flagged_counts(quarters)
    by_metric: dict[str, list[ScoreGroup]] = defaultdict(list)
    for group in groups:
        by_metric[group.metric].append(group)
    records: list[EstimateRecord] = []
    min_n_show: dict[str, int] = {}

    for indicator in satisfaction:
        min_n_show[indicator.code] = indicator.min_n_show
        target, comparison = target_for(indicator, period.year)
        source, sector_services = _score_source(indicator, services)
        metric_groups = [g for g in by_metric.get(source, ()) if g.service_id in sector_services]
        if not metric_groups:
            continue
        cells = _Cells(metric_groups, counts, sector_services)
        for domain_type, domain_of in _domains_of(indicator, domain_functions).items():
            codes, labels = _domain_codes(metric_groups, domain_of)
            # The estimator wants a bar for its own status; the published status is `_record`'s (`no_target`).
            rows = _estimate_domains(cells, codes, labels, target if target is not None else analysis.DEFAULT_TARGET)
            extras = _domain_extras(cells, codes, labels, metric_groups, flagged, domain_type, domain_of)
            for domain, row in rows.items():
                if domain is None:
                    continue
                record = _record(indicator.code, domain_type, domain, row, target, indicator.min_n, comparison)
                record.extra.update(extras[domain])
                records.append(record)
        _add_funnel(records, indicator.code)
        if ASPECT_HOST.get(indicator.sector) == indicator.code:
            records += _secondary_records(
                indicator,
                by_metric,
                counts,
                sector_services,
                domain_functions,
                target,
                period,
                inputs,
                _item_level_index_sectors(indicators),
            )

    for indicator in indicators:
        if indicator.kind == "index":
            min_n_show[indicator.code] = indicator.min_n_show
            records += _index_records(indicator, inputs, period, counts, services, domain_functions)
        if indicator.kind == "coverage" and period.kind == "Y":
            min_n_show[indicator.code] = indicator.min_n_show
            records += _coverage_records(indicator, period, groups, services)

    disclosure = disclosure_summary(records, control(period, records, min_n_show))
    visible = [r for r in records if not r.hidden]
    _add_comparisons(visible, previous or {}, period)
    instrument_rows = {row.id: row for row in db.session.scalars(select(Instrument))}
    versions: dict[str, list[int]] = defaultdict(list)
    for instrument_id, _count in inputs.instrument_versions(quarters):
        row = instrument_rows[instrument_id]
        versions[row.code].append(row.version)
    hashes = {
        "responses": _digest(tuple(g) for g in groups),
        "transaction_counts": _digest(counts),
        "targets": _digest((i.code, t.year, t.value, t.comparison) for i in indicators for t in i.targets),
        "instruments": _digest((r.code, r.version, r.content_hash) for r in instrument_rows.values()),
    }
    summary = {
        "responses": sum(total for total, _ in flagged.values()),
        "flagged_excluded": sum(f for _, f in flagged.values()),
        "estimates": len(visible),
        "hidden": len(records) - len(visible),
        "disclosure": disclosure,
        "quarters": quarters,
        # Cells whose weights rest on imputed counts (DESIGN.md §6), per indicator, as the province counts them.
        "imputed_cells": {
            r.metric: r.extra["imputed_cells"]
            for r in records
            if r.domain_type == "province" and "imputed_cells" in r.extra
        },
    }
    return ComputedPeriod(period, visible, {k: sorted(set(v)) for k, v in versions.items()}, hashes, summary)


def _secondary_metric_names() -> set[str]:
    """``aspect:<code>`` of every aspect section and ``item:<code>`` of every criterion measured by
    matrix sampling, in every instrument version."""

    names = set()
    for row in db.session.scalars(select(Instrument)):
        definition = definition_of(row)
        names.update(f"aspect:{section.code}" for section in definition.aspects)
        names.update(f"item:{item.code}" for item in criterion_items(definition))
    return names


def criterion_instruments(sector: str | None) -> dict[str, list[int]]:
    """``criterion code → the instrument versions of the sector that measure it by matrix sampling``."""

    found: dict[str, list[int]] = defaultdict(list)
    for row in db.session.scalars(select(Instrument).where(Instrument.sector == sector).order_by(Instrument.id)):
        for item in criterion_items(definition_of(row)):
            found[item.code].append(row.id)
    return found


def _group_key(g: ScoreGroup) -> tuple:
    """A score group's key without its metric and counts."""
    return (*g[:5], g.mode, g.language)


def _criterion_records(
    indicator,
    criteria: dict[str, list[ScoreGroup]],
    inputs: PeriodInputs,
    quarters: list[str],
    counts,
    sector_services,
    domain_functions,
    target,
) -> list[EstimateRecord]:
    """One rate per criterion measured by matrix sampling (``<indicator>/item:<code>``), province and unit.

    A domain ratio over every respondent of the instruments that carry the criterion: per response
    x = 1 if it was asked the criterion and rated it, y = 1 if satisfied, so the rate is Σwy/Σwx over
    those asked, with the weights of all the instruments' respondents (the criteria are drawn at
    random, so those asked stand for all) and the linearised variance of a domain estimate. Its n is
    the respondents who rated the criterion.
    """
    instruments = criterion_instruments(indicator.sector)
    records: list[EstimateRecord] = []
    for metric, answered in sorted(criteria.items()):
        ids = instruments.get(metric.removeprefix("item:"))
        if not ids:
            continue
        by_key = {_group_key(g): g for g in answered}
        groups = []
        for g in inputs.response_groups(quarters, ids):
            if g.service_id not in sector_services:
                continue
            hit = by_key.get(_group_key(g))
            x, y = (float(hit.n), float(hit.satisfied)) if hit is not None else (0.0, 0.0)
            # x and y are 0/1 per response: Σx² = Σx, Σxy = Σy² = Σy.
            groups.append(ItemGroup(*g[:5], g.n, x, y, x, y, y, g.mode, g.language))
        records += _ratio_records(
            f"{indicator.code}/{metric}",
            groups,
            counts,
            sector_services,
            {t: domain_functions[t] for t in ("province", "unit")},
            target,
            "gt",
            indicator.min_n,
            kind="criterion asked of a random part of respondents",
            n_is_answers=True,
        )
    return records


def _secondary_records(
    indicator,
    by_metric,
    counts,
    sector_services,
    domain_functions,
    target,
    period,
    inputs: PeriodInputs,
    item_level_indexed: set[str | None],
) -> list[EstimateRecord]:
    """Per-aspect rates and the all-items rate of the sector's long questionnaires (province and unit)."""
    records = []
    aspect_groups: dict[str, list[ScoreGroup]] = defaultdict(list)
    criteria: dict[str, list[ScoreGroup]] = {}
    for metric, metric_groups in by_metric.items():
        if metric.startswith("aspect:"):
            aspect_groups[metric] = [g for g in metric_groups if g.service_id in sector_services]
        elif metric.startswith("item:"):
            criteria[metric] = [g for g in metric_groups if g.service_id in sector_services]
    aspect_groups = {m: g for m, g in aspect_groups.items() if g}
    criteria = {m: g for m, g in criteria.items() if g}
    instrument_ids = [
        row.id for row in db.session.scalars(select(Instrument).where(Instrument.sector == indicator.sector))
    ]
    all_items = [
        g
        for g in inputs.all_items_groups([q.label for q in period.quarters], instrument_ids)
        if g.service_id in sector_services
    ]
    if all_items:
        aspect_groups["all-items"] = all_items
    if indicator.sector not in item_level_indexed:
        items = [
            g
            for g in inputs.item_groups([q.label for q in period.quarters], instrument_ids)
            if g.service_id in sector_services
        ]
        records += _ratio_records(
            f"{indicator.code}/item-level",
            items,
            counts,
            sector_services,
            {t: domain_functions[t] for t in ("province", "unit")},
            target,
            "gt",
            indicator.min_n,
            kind="ratio of item answers",
        )
    for metric, metric_groups in sorted(aspect_groups.items()):
        cells = _Cells(metric_groups, counts, sector_services)
        for domain_type in ("province", "unit"):
            codes, labels = _domain_codes(metric_groups, domain_functions[domain_type])
            rows = _estimate_domains(cells, codes, labels, target)
            for domain, row in rows.items():
                if domain is not None:
                    records.append(
                        _record(f"{indicator.code}/{metric}", domain_type, domain, row, target, indicator.min_n)
                    )
    records += _criterion_records(
        indicator,
        criteria,
        inputs,
        [q.label for q in period.quarters],
        counts,
        sector_services,
        domain_functions,
        target,
    )
    return records


def _item_level_index_sectors(indicators: list[Indicator]) -> set[str | None]:
    """The sectors whose item-level rate an ``index`` indicator publishes under its own code
    (``health-item-level`` replaces the secondary metric ``sat-health/item-level``)."""
    return {
        i.sector
        for i in indicators
        if i.kind == "index"
        and i.definition.get("over") == "aspect_items"
        and (i.definition.get("statistic") or "share") == "share"
    }


def _index_instruments(indicator: Indicator) -> tuple[list[int], list[str]]:
    """The instrument versions an index indicator reads, and (``aspect_overall_items``) the aspect metrics.

    ``aspect_items``: every version of the sector (those without rated items add nothing).
    ``aspect_overall_items``: the versions whose every aspect has an overall question, and the
    ``aspect:<code>`` rows of those aspects, which are the top-two-box verdicts of those questions.
    """

    query = select(Instrument)
    if indicator.sector is not None:
        query = query.where(Instrument.sector == indicator.sector)
    rows = db.session.scalars(query.order_by(Instrument.id)).all()
    if indicator.definition.get("over") != "aspect_overall_items":
        return [row.id for row in rows], []
    ids, metrics = [], set()
    for row in rows:
        aspects = definition_of(row).aspects
        if aspects and all(section.overall_item is not None for section in aspects):
            ids.append(row.id)
            metrics.update(f"aspect:{section.code}" for section in aspects)
    return ids, sorted(metrics)


def _index_records(
    indicator: Indicator,
    inputs: PeriodInputs,
    period: Period,
    counts,
    services: dict[int, Service],
    domain_functions: dict[str, Callable],
) -> list[EstimateRecord]:
    """An ``index`` indicator: a ratio of weighted sums of every response's answers, in every domain.

    ``over: aspect_overall_items`` (the SIPAS-style index): per response, x = its rated answers to the
    aspects' overall questions and y = the satisfied ones. ``over: aspect_items``: x = its rated items
    and y = the satisfied ones (``statistic: share``, the MoH item-level rate) or the points above 1
    out of 4 (``statistic: mean``: the MoH mean score 1 + 4·Σwy/Σwx on the 1–5 scale).
    """
    statistic = indicator.definition.get("statistic") or "share"
    _, sector_services = _score_source(indicator, services)
    quarters = [q.label for q in period.quarters]
    instrument_ids, aspect_metrics = _index_instruments(indicator)
    if not instrument_ids:
        return []
    if indicator.definition.get("over") == "aspect_overall_items":
        items, kind = inputs.aspect_groups(quarters, instrument_ids, aspect_metrics), "ratio of aspect answers"
    else:
        items, kind = inputs.item_groups(quarters, instrument_ids, statistic), "ratio of item answers"
    items = [g for g in items if g.service_id in sector_services]
    target, comparison = target_for(indicator, period.year)
    return _ratio_records(
        indicator.code,
        items,
        counts,
        sector_services,
        domain_functions,
        target,
        comparison,
        indicator.min_n,
        kind=kind,
        statistic=statistic,
    )


#: The mean score's scale: 1 + SCORE_SPAN × the ratio of points above 1 to the most there could be.
SCORE_SPAN = 4.0


def _ratio_records(
    metric: str,
    items,
    counts,
    sector_services,
    domain_functions: dict[str, Callable],
    target: float | None,
    comparison: str,
    min_n: int,
    *,
    kind: str,
    statistic: str = "share",
    n_is_answers: bool = False,
) -> list[EstimateRecord]:
    """A ratio of weighted totals Σwy/Σwx (:func:`analysis.ratio_from_sums`) in each domain type.

    Same weighting cells and weights as the respondent-level rates (one group per key). A share
    gets the published default interval (Wilson, Kish-floored on the answers, design df); a mean
    score the t interval (``mean``) on the ratio, reported on the 1–5 scale (``extra.scale``).
    ``n_is_answers``: x is 0/1 per response (asked a criterion or not); the published n and the
    publication rule are then the answers (Σx) and their Kish size, not every response of the domain.
    """
    if not items:
        return []
    as_scores = [ScoreGroup(*g[:5], "items", g.n, 0, g.mode, g.language) for g in items]
    cells = _Cells(as_scores, counts, sector_services)
    w = cells.weight
    n = np.array([g.n for g in items], dtype=float)
    columns = [np.array([getattr(g, name) for g in items]) for name in ("sx", "sy", "sxx", "sxy", "syy")]
    mean = statistic == "mean"
    scale = (lambda v: None if v is None else 1.0 + SCORE_SPAN * v) if mean else (lambda v: v)
    records = []
    for domain_type, domain_of in domain_functions.items():
        codes, labels = _domain_codes(as_scores, domain_of)
        if not any(labels):
            continue
        overall, rows = analysis.ratio_from_sums(
            cells.stratum,
            codes,
            n,
            w * columns[0],
            w * columns[1],
            w * w * columns[2],
            w * w * columns[3],
            w * w * columns[4],
            w * n,
            w * w * n,
            w * w * columns[0],
            ci_method="mean" if mean else analysis.DEFAULT_CI_METHOD,
        )
        answers = np.bincount(codes, weights=columns[0], minlength=len(labels))
        chosen = (
            [("sl", overall, float(columns[0].sum()))]
            if domain_type == "province"
            else [
                (labels[int(r.domain)], r, float(answers[int(r.domain)])) for r in rows if labels[int(r.domain)] != ""
            ]
        )
        for domain, row, answered in chosen:
            if n_is_answers:
                row = row._replace(n=int(answered), n_kish=row.n_kish_items if answered else 0.0)
            publishable = row.estimate is not None and row.n >= min_n and row.n_kish >= min_n
            status = (
                _status(row.ci_low, row.ci_high, target, row.n, row.n_kish, min_n, comparison)
                if publishable
                else "insufficient"
            )
            record = EstimateRecord(
                metric,
                domain_type,
                domain,
                row.n,
                scale(row.estimate) if publishable else None,
                row.se * (SCORE_SPAN if mean else 1.0) if publishable else None,
                scale(row.ci_low) if publishable else None,
                scale(row.ci_high) if publishable else None,
                row.ci_method,
                row.n_kish if publishable else None,
                None,
                target,
                status,
                extra={"kind": kind, **({"scale": "score"} if mean else {})},
            )
            records.append(record)
    return records
