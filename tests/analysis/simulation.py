"""Coverage simulation shared by ``test_simulation.py`` and ``bench/coverage_sim.py``.

A known finite population is split into weighting cells; each replicate is
a stratified sample of 2–20 responses per cell (drawn without replacement),
weighted ``w = N_h / n_h`` and analysed as the web application does:
``svydesign(id=~1, strata=~cell, weights=~w)`` through the
sufficient-statistics path.  All replicates go through one call to
:func:`analysis.estimate_from_sums`, each replicate being a domain whose
strata are its own cells — so the replicates are independent designs and
the simulation is fully vectorised.
"""

from __future__ import annotations

import numpy as np

import analysis

SETTINGS = {
    # name: (satisfaction level, between-cell spread on the logit scale)
    "near 85%": (0.85, 0.5),
    "near 97.5%": (0.975, 0.5),
}
METHODS = ("wilson-cc-kish", "wilson-kish", "beta-kish", "beta", "xlogit", "wilson", "mean", "asin")


def make_population(rng, cells=30, level=0.85, spread=0.5, weight_range=(20.0, 1000.0)):
    """Cell sample sizes n_h (2–20), population sizes N_h and satisfied counts M_h."""
    n_h = rng.integers(2, 21, size=cells)
    low, high = np.log(weight_range[0]), np.log(weight_range[1])
    weights = np.exp(rng.uniform(low, high, size=cells))
    N_h = np.maximum(np.rint(weights * n_h).astype(np.int64), n_h)
    logit = np.log(level / (1 - level)) + spread * rng.standard_normal(cells)
    M_h = np.rint(N_h / (1 + np.exp(-logit))).astype(np.int64)
    return n_h, N_h, M_h


def coverage(seed=1, replicates=2000, cells=30, level=0.85, spread=0.5, methods=METHODS, alpha=0.05):
    """Coverage, mean width and miss rates of each interval method.

    Returns ``(truth, sample_size, {method: (coverage, width, truth_below, truth_above)})``.
    """
    rng = np.random.default_rng(seed)
    n_h, N_h, M_h = make_population(rng, cells, level, spread)
    truth = M_h.sum() / N_h.sum()
    satisfied = rng.hypergeometric(M_h, N_h - M_h, n_h, size=(replicates, cells))
    w = N_h / n_h
    stratum = np.arange(replicates * cells)
    domain = np.repeat(np.arange(replicates), cells)
    n = np.tile(n_h, replicates).astype(float)
    weight = np.tile(w, replicates)
    x = satisfied.ravel().astype(float)
    out = {}
    for method in methods:
        result = analysis.estimate_from_sums(
            stratum,
            domain,
            n,
            weight * n,
            weight * x,
            weight * weight * n,
            weight * weight * x,
            ci_method=method,
            alpha=alpha,
        )
        low = np.array([row.ci_low for row in result.domains])
        high = np.array([row.ci_high for row in result.domains])
        covered = (low <= truth) & (truth <= high)
        out[method] = (
            float(covered.mean()),
            float(np.mean(high - low)),
            float(np.mean(truth < low)),
            float(np.mean(truth > high)),
        )
    return float(truth), int(n_h.sum()), out


# --- error rates of the comparisons (issue #13) --------------------------------------------


def one_domain_row(x_by_cell, n_by_cell, w_by_cell):
    """The site's estimate row (``estimate_from_sums``) of one domain made of the given cells:
    satisfied ``x``, responses ``n`` and weight ``w`` per cell, each cell its own stratum."""
    n = np.asarray(n_by_cell, dtype=float)
    x = np.asarray(x_by_cell, dtype=float)
    w = np.asarray(w_by_cell, dtype=float)
    return analysis.estimate_from_sums(
        np.arange(n.size), np.zeros(n.size), n, w * n, w * x, w * w * n, w * w * x
    ).domains[0]


def make_units(rng, units=200, weight_range=(1.0, 2000.0), n_range=(30, 200), cells_range=(2, 6)):
    """Units of 2–6 weighting cells, 30–200 responses each, weights N/n log-uniform in 1–2,000.

    Returns ``(cell_unit, n_h, w_h)``: each cell's unit, responses and weight.
    """
    cell_unit, n_h, w_h = [], [], []
    low, high = np.log(weight_range[0]), np.log(weight_range[1])
    for unit in range(units):
        cells = int(rng.integers(cells_range[0], cells_range[1] + 1))
        total = int(rng.integers(n_range[0], n_range[1] + 1))
        n_h += list(rng.multinomial(total - cells, np.full(cells, 1.0 / cells)) + 1)
        w_h += list(np.exp(rng.uniform(low, high, cells)))
        cell_unit += [unit] * cells
    return np.array(cell_unit), np.array(n_h, dtype=float), np.array(w_h)


def survey_round(rng, cell_unit, n_h, w_h, level, replicates, ci_method=None):
    """One period of ``replicates`` independent provinces with one true rate everywhere.

    Returns ``(units, province)``: the site's estimate rows (``estimate_from_sums``), units of
    replicate r at ``units[r * U:(r + 1) * U]``, and one province row per replicate.
    """
    C, U = n_h.size, int(cell_unit.max()) + 1
    x = rng.binomial(np.tile(n_h.astype(np.int64), replicates), level).astype(float)
    n = np.tile(n_h, replicates)
    w = np.tile(w_h, replicates)
    stratum = np.arange(replicates * C)
    replicate = np.repeat(np.arange(replicates), C)
    sums = (n, w * n, w * x, w * w * n, w * w * x)
    units = analysis.estimate_from_sums(
        stratum, replicate * U + np.tile(cell_unit, replicates), *sums, lonely_psu="adjust", ci_method=ci_method
    )
    province = analysis.estimate_from_sums(stratum, replicate, *sums, lonely_psu="adjust", ci_method=ci_method)
    return list(units.domains), list(province.domains)


def comparison_error_rates(seed=1, level=0.9, units=200, replicates=10, ci_method=None):
    """False verdicts with no true difference anywhere and the truth on the target.

    Rows are judged as the site judges them: only publishable rows (n and the Kish-floored
    size >= 30), change from the two intervals (:func:`analysis.compare_intervals`), funnel
    limits on the floored size around the province estimate, status against target = truth.
    """
    rng = np.random.default_rng(seed)
    cell_unit, n_h, w_h = make_units(rng, units)
    (first, province1), (second, _) = (
        survey_round(rng, cell_unit, n_h, w_h, level, replicates, ci_method) for _ in range(2)
    )
    published = [r.status != "insufficient" for r in first]
    published2 = [r.status != "insufficient" for r in second]
    changes = [
        analysis.compare_intervals(b.estimate, (b.ci_low, b.ci_high), a.estimate, (a.ci_low, a.ci_high)).clear
        for a, b, p1, p2 in zip(first, second, published, published2, strict=True)
        if p1 and p2
    ]
    outside95 = outside998 = funnel_rows = 0
    for r in range(replicates):
        rows = [
            row
            for row, ok in zip(first[r * units : (r + 1) * units], published[r * units : (r + 1) * units], strict=True)
            if ok
        ]
        limits = analysis.funnel_limits(
            province1[r].estimate, [row.n_eff_floored for row in rows], [row.estimate for row in rows]
        )
        outside95 += int(np.sum(limits.position != "within"))
        outside998 += int(np.sum(np.isin(limits.position, ["above 99.8%", "below 99.8%"])))
        funnel_rows += len(rows)
    rows = [row for row, ok in zip(first, published, strict=True) if ok]
    statuses = {
        c: [
            analysis.target_status(row.ci_low, row.ci_high, level, n=row.n, n_eff=row.n_eff_floored, comparison=c)
            for row in rows
        ]
        for c in ("gt", "ge")
    }
    return {
        "published": len(rows),
        "compared": len(changes),
        "clear_change": float(np.mean(changes)),
        "outside95": outside95 / funnel_rows,
        "outside998": outside998 / funnel_rows,
        "false_met_gt": float(np.mean([s == "met" for s in statuses["gt"]])),
        "false_met_ge": float(np.mean([s == "met" for s in statuses["ge"]])),
        "false_below": float(np.mean([s == "below" for s in statuses["gt"]])),
        "coverage": float(np.mean([row.ci_low <= level <= row.ci_high for row in rows])),
        "width": float(np.mean([row.ci_high - row.ci_low for row in rows])),
    }
