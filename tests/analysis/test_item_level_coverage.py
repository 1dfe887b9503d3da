"""Finding 8: the Ministry of Health item-level rate keeps its 95% coverage.

Simulated item-level designs (fixed seeds): a finite population of respondents in weighting
cells, each answering 5–25 rated items with a respondent-level propensity (answers of one
respondent are correlated), sampled 2–20 per cell, weighted N_h/n_h and analysed exactly as
publishing does (:func:`analysis.ratio_from_sums` from per-cell sums). The published rate must
use the published default interval (Wilson on the Kish-floored effective size, design df) and
cover the true population ratio 93–97% of the time.
"""

from __future__ import annotations

import numpy as np
import pytest

import analysis
from analysis.intervals import DEFAULT_CI_METHOD

#: (satisfaction level, between-cell spread on the logit scale, within-respondent dispersion)
SETTINGS = {
    "near 85%, correlated answers": (0.85, 0.5, 4.0),
    "near 95%, correlated answers": (0.95, 0.5, 10.0),
    "near 85%, nearly independent answers": (0.85, 0.5, 60.0),
}


def simulate(seed: int, level: float, spread: float, concentration: float, replicates: int = 300, cells: int = 30):
    """Coverage of the default interval of :func:`analysis.ratio_from_sums` over ``replicates`` designs."""
    rng = np.random.default_rng(seed)
    n_h = rng.integers(2, 21, size=cells)
    weights = np.exp(rng.uniform(np.log(20.0), np.log(1000.0), size=cells))
    N_h = np.maximum(np.rint(weights * n_h).astype(np.int64), n_h)
    centre = 1 / (1 + np.exp(-(np.log(level / (1 - level)) + spread * rng.standard_normal(cells))))
    # The population: every respondent's rated items and satisfied items.
    population = []
    for h in range(cells):
        propensity = rng.beta(centre[h] * concentration, (1 - centre[h]) * concentration, size=N_h[h])
        items = rng.integers(5, 26, size=N_h[h])
        population.append((items, rng.binomial(items, propensity)))
    truth = sum(y.sum() for _, y in population) / sum(x.sum() for x, _ in population)
    w = N_h / n_h
    rows = {
        name: [] for name in ("stratum", "domain", "n", "swx", "swy", "sw2x2", "sw2xy", "sw2y2", "sw", "sw2", "sw2x")
    }
    for r in range(replicates):
        for h in range(cells):
            x_all, y_all = population[h]
            pick = rng.choice(N_h[h], size=n_h[h], replace=False)
            x, y = x_all[pick].astype(float), y_all[pick].astype(float)
            for name, value in (
                ("stratum", r * cells + h),
                ("domain", r),
                ("n", n_h[h]),
                ("swx", w[h] * x.sum()),
                ("swy", w[h] * y.sum()),
                ("sw2x2", w[h] ** 2 * (x * x).sum()),
                ("sw2xy", w[h] ** 2 * (x * y).sum()),
                ("sw2y2", w[h] ** 2 * (y * y).sum()),
                ("sw", w[h] * n_h[h]),
                ("sw2", w[h] ** 2 * n_h[h]),
                ("sw2x", w[h] ** 2 * x.sum()),
            ):
                rows[name].append(value)
    _, estimates = analysis.ratio_from_sums(*(np.asarray(rows[name]) for name in rows))
    low = np.array([row.ci_low for row in estimates])
    high = np.array([row.ci_high for row in estimates])
    methods = {row.ci_method for row in estimates}
    return float(np.mean((low <= truth) & (truth <= high))), methods


#: Populations per setting (coverage depends on the population drawn: average over several).
POPULATIONS = range(100, 108)


@pytest.mark.parametrize("setting", list(SETTINGS))
def test_finding_08_item_level_rate_uses_the_default_interval_with_nominal_coverage(setting):
    results = [simulate(seed, *SETTINGS[setting]) for seed in POPULATIONS]
    coverage = float(np.mean([c for c, _ in results]))
    assert set().union(*(m for _, m in results)) == {DEFAULT_CI_METHOD}, "the published default interval"
    assert 0.93 <= coverage <= 0.97, f"coverage {coverage:.3f} of the 95% interval ({setting})"


def test_finding_08_the_published_item_level_rows_say_the_default_method():
    """A small design: the row carries the method name and the design df that produced its interval."""
    overall, rows = analysis.ratio_from_sums(
        [1, 1, 2, 2],
        ["a", "b", "a", "b"],
        [3, 2, 4, 1],
        [30, 20, 40, 10],
        [27, 15, 30, 9],
        [320, 210, 420, 100],
        [280, 160, 310, 90],
        [250, 120, 240, 81],
        [3, 2, 4, 1],
        [3, 2, 4, 1],
        [30, 20, 40, 10],
    )
    assert overall.ci_method == DEFAULT_CI_METHOD
    assert overall.df == 10 - 2
    assert [row.df for row in rows] == [7 - 2, 3 - 2]
