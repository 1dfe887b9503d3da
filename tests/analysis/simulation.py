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
METHODS = ("wilson-kish", "beta-kish", "beta", "xlogit", "wilson", "mean", "asin")


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
