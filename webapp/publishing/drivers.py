"""Key drivers at publishing: per satisfaction indicator with aspects, which aspects go with overall satisfaction.

For each indicator that carries a sector's aspect rates (``compute.ASPECT_HOST``), in the province,
its sector and each unit: a design-based logistic regression (:func:`analysis.drivers.fit_drivers`)
of each response's score for the indicator on its ``aspect:<code>`` scores, with the weights and
weighting cells (strata) of the published rate (:class:`webapp.publishing.compute._Cells`). Stored
as :class:`webapp.models.PublishedDriver` rows with the snapshot, so a revision gets its own.

Disclosure: the same rules as rates, and no new number on another base.

* only in a domain whose overall rate is published with an estimate;
* only aspects whose own rate is published in that domain; the stored ``performance`` *is* that
  published rate (the sector shows its province rate: an indicator with aspects covers one sector,
  so both are the same responses — checked);
* only when the model has at least :data:`MIN_COMPLETE` complete cases and at least
  :data:`EVENTS_PER_PARAMETER` responses of each outcome (satisfied and not) per aspect in it;
  otherwise no row at all for the domain.
"""

from __future__ import annotations

import numpy as np
from sqlalchemy import select

from analysis.drivers import METHOD, fit_drivers
from webapp.extensions import db
from webapp.models import Indicator, PublishedDriver, Response, ResponseScore, Service
from webapp.publishing.compute import (
    ASPECT_HOST,
    ComputedPeriod,
    _Cells,
    _domain_functions,
    _score_source,
    _unit_infos,
    period_inputs,
)

#: Fewest complete cases (responses with the overall score and every aspect) for a model.
MIN_COMPLETE = 100
#: Fewest responses of the rarer outcome per aspect in the model (the usual "10 events per variable").
EVENTS_PER_PARAMETER = 10
#: The domain types drivers are published for.
DOMAIN_TYPES = ("province", "sector", "unit")
#: Quadrants of the priority matrix: (important, below the target) → name.
QUADRANTS = {
    (True, True): "fix_first",
    (True, False): "keep_up",
    (False, True): "lower_priority",
    (False, False): "possible_overkill",
}


def _responses(quarters: list[str], source: str, aspects: list[str], sector_services: set[int]):
    """Per valid response of the quarters with a ``source`` score: its group key, outcome and aspects (nan: none).

    Two queries: the responses with their outcome (one row each), then their aspect answers as
    (response, aspect, satisfied) placed with ``np.searchsorted`` — no Python object per answer.
    """
    valid = (Response.period.in_(quarters), Response.status == "valid")
    outcome_rows = db.session.execute(
        select(
            Response.id,
            Response.period,
            Response.unit_id,
            Response.service_id,
            Response.respondent_type,
            Response.channel,
            ResponseScore.satisfied,
        )
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(*valid, ResponseScore.metric == source, Response.service_id.in_(sorted(sector_services)))
        .order_by(Response.id)
    ).all()
    ids = np.fromiter((row[0] for row in outcome_rows), dtype=np.int64, count=len(outcome_rows))
    y = np.fromiter((row[6] for row in outcome_rows), dtype=float, count=len(outcome_rows))
    X = np.full((ids.size, len(aspects)), np.nan)
    column = {metric: j for j, metric in enumerate(aspects)}
    answers = db.session.execute(
        select(ResponseScore.response_id, ResponseScore.metric, ResponseScore.satisfied)
        .join(Response, Response.id == ResponseScore.response_id)
        .where(*valid, ResponseScore.metric.in_(aspects), Response.service_id.in_(sorted(sector_services)))
    ).all()
    if answers and ids.size:
        rid = np.fromiter((a[0] for a in answers), dtype=np.int64, count=len(answers))
        col = np.fromiter((column[a[1]] for a in answers), dtype=np.intp, count=len(answers))
        value = np.fromiter((a[2] for a in answers), dtype=float, count=len(answers))
        at = np.minimum(np.searchsorted(ids, rid), ids.size - 1)
        found = ids[at] == rid
        X[at[found], col[found]] = value[found]
    return [tuple(row[1:6]) for row in outcome_rows], y, X


def domain_drivers(
    indicator: Indicator, computed: ComputedPeriod, inputs, services: dict[int, Service], domain_functions
) -> list[dict]:
    """The driver rows (dicts of :class:`PublishedDriver` columns, without the snapshot) of one indicator."""
    quarters = [q.label for q in computed.period.quarters]
    published = {(r.metric, r.domain_type, r.domain): r for r in computed.records if r.estimate is not None}
    prefix = f"{indicator.code}/aspect:"
    aspects = sorted(
        {r.metric.removeprefix(f"{indicator.code}/") for r in computed.records if r.metric.startswith(prefix)}
    )
    if not aspects:
        return []
    source, sector_services = _score_source(indicator, services)
    groups = [g for g in inputs.score_groups(quarters) if g.metric == source and g.service_id in sector_services]
    if not groups:
        return []
    cells = _Cells(groups, inputs.transaction_counts(quarters), sector_services)
    position = {g[:5]: i for i, g in enumerate(groups)}
    keys, y, X = _responses(quarters, source, aspects, sector_services)
    if not keys:
        return []
    group_of = np.array([position[key] for key in keys])
    weight, stratum = cells.weight[group_of], cells.stratum[group_of]
    sectors = {services[key[2]].sector for key in keys}
    rows = []
    for domain_type in DOMAIN_TYPES:
        domain_of = domain_functions[domain_type]
        labels = np.array([domain_of(g) or "" for g in groups], dtype=object)[group_of]
        for domain in sorted(set(labels) - {""}):
            overall = published.get((indicator.code, domain_type, domain))
            if overall is None:
                continue
            # The aspect rates are published by province and unit; a sector is the province when it is all of it.
            rate_domain = ("province", "sl") if domain_type == "sector" else (domain_type, domain)
            if domain_type == "sector" and sectors != {domain}:
                continue
            rates = {a: published.get((f"{indicator.code}/{a}", *rate_domain)) for a in aspects}
            shown = [a for a in aspects if rates[a] is not None]
            if not shown:
                continue
            inside = labels == domain
            columns = [aspects.index(a) for a in shown]
            model = fit_drivers(
                y[inside], X[inside][:, columns], names=shown, weights=weight[inside], strata=stratum[inside]
            )
            if model.n < MIN_COMPLETE or min(model.events, model.non_events) < EVENTS_PER_PARAMETER * len(shown):
                continue
            if not model.converged:
                continue
            estimable = [d.coefficient for d in model.drivers if d.estimable]
            bar = float(np.mean(estimable)) if estimable else 0.0
            rank = {d.name: i + 1 for i, d in enumerate(model.ranked())}
            for driver in model.drivers:
                rate = rates[driver.name]
                important = driver.estimable and driver.coefficient >= bar
                below = overall.target is not None and rate.estimate < overall.target
                extra = {
                    "method": METHOD,
                    "df": model.df,
                    "events": model.events,
                    "status": model.status,
                    "odds_ratio": driver.odds_ratio,
                    "odds_ratio_ci": list(driver.odds_ratio_ci) if driver.odds_ratio_ci else None,
                }
                if driver.estimable:
                    extra["quadrant"] = QUADRANTS[important, below]
                if driver.note:
                    extra["note"] = driver.note
                rows.append(
                    {
                        "indicator": indicator.code,
                        "domain_type": domain_type,
                        "domain": domain,
                        "aspect": driver.name.removeprefix("aspect:"),
                        "n": model.n,
                        "performance": rate.estimate,
                        "coefficient": driver.coefficient,
                        "se": driver.se,
                        "ci_low": driver.ci_low,
                        "ci_high": driver.ci_high,
                        "rank": rank.get(driver.name),
                        "extra": extra,
                    }
                )
    return rows


def store_drivers(snapshot_id: int, computed: ComputedPeriod, inputs=None) -> int:
    """Compute and add the snapshot's driver rows (in the caller's transaction); how many."""
    inputs = inputs or period_inputs()
    services = {s.id: s for s in db.session.scalars(select(Service))}
    functions = _domain_functions(computed.period, _unit_infos(computed.period), services)
    hosts = set(ASPECT_HOST.values())
    rows = []
    for indicator in db.session.scalars(select(Indicator).where(Indicator.code.in_(hosts)).order_by(Indicator.code)):
        rows += domain_drivers(indicator, computed, inputs, services, functions)
    if rows:
        db.session.execute(PublishedDriver.__table__.insert(), [{"snapshot_id": snapshot_id, **row} for row in rows])
    return len(rows)
