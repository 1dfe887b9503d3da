"""Comparisons keep their stated error rates (issue #13, findings 3, 4, 5, 11).

Simulations (fixed seeds) use the functions the site uses: ``estimate_from_sums`` for every
row, ``compare_intervals`` for the change, ``funnel_limits`` on the Kish-floored size and
``target_status``, all with the published default interval (``wilson-cc-kish``). Designs as the review found the failures: 2–6 weighting cells per unit,
weights N/n from 1 to 2,000, 30–200 responses, true rates 80–97 %, no true difference.
"""

from __future__ import annotations

import numpy as np
import pytest

import analysis
from tests.analysis.simulation import comparison_error_rates
from tests.analysis.simulation import one_domain_row as _row

LEVELS = (0.8, 0.9, 0.95, 0.97)


@pytest.fixture(scope="module")
def rates():
    return {level: comparison_error_rates(seed=13, level=level, replicates=15) for level in LEVELS}


def test_finding_03_funnel_uses_the_kish_floored_size():
    # One heavy cell without a dissatisfied answer, the failures in a light one: raw n_eff is huge.
    row = _row([20, 10], [20, 17], [1900.0, 1.0])
    assert row.n_eff > 300 and row.n_kish < 25
    assert row.n_eff_floored == pytest.approx(row.n_kish)
    limits = analysis.funnel_limits(0.9, [row.n_eff_floored], [row.estimate])
    assert limits.position[0] == "within"


def test_finding_03_a_rate_of_100_percent_is_not_above_the_99_8_limits_by_interpolation():
    # P(all 100 satisfied | 97 %) = 4.8 %: far from a 0.1 % event.
    assert analysis.funnel_limits(0.97, [100.0], [1.0]).position[0] == "within"


@pytest.mark.parametrize("level", LEVELS)
def test_finding_03_funnel_error_rates_with_no_true_difference(rates, level):
    r = rates[level]
    assert r["published"] > 1500
    assert r["outside95"] <= 0.06, r
    assert r["outside998"] <= 0.005, r


def test_finding_04_40_of_40_against_36_of_40_is_not_a_clear_rise():
    now = analysis.proportion_ci(1.0, 0.0, df=39, n=40)
    before_se = (0.9 * 0.1 / 40) ** 0.5
    before = analysis.proportion_ci(0.9, before_se**2, df=39, n=40)
    change = analysis.compare_intervals(1.0, (now.low, now.high), 0.9, (before.low, before.high))
    assert not change.clear  # Fisher's exact p = 0.116
    assert change.p_value > 0.05
    assert change.ci_high - change.ci_low > 0


@pytest.mark.parametrize("level", LEVELS)
def test_finding_04_false_clear_change_at_most_5_percent(rates, level):
    r = rates[level]
    assert r["compared"] > 1500
    assert r["clear_change"] <= 0.05, r


def test_finding_04_p_value_agrees_with_the_interval():
    for a, b in [((0.9, (0.85, 0.94)), (0.8, (0.74, 0.85))), ((0.9, (0.85, 0.94)), (0.88, (0.8, 0.93)))]:
        change = analysis.compare_intervals(a[0], a[1], b[0], b[1])
        assert change.clear == (change.p_value < 0.05)


def test_finding_05_publishing_rule_uses_the_kish_floored_size():
    # Raw n_eff far above 30, Kish's size below it: not publishable.
    row = _row([25, 9], [25, 10], [1500.0, 1.0])
    assert row.n >= 30 and row.n_eff >= 30 and row.n_kish < 30, row
    assert row.status == "insufficient" and not row.publishable


def test_finding_05_no_switch_of_definition_at_100_percent():
    # Same weights, 100 % and one failure in the lightest cell: the same floored size rule.
    full = _row([40, 40], [40, 40], [500.0, 2.0])
    almost = _row([40, 39], [40, 40], [500.0, 2.0])
    assert full.n_eff_floored == pytest.approx(full.n_kish)
    assert almost.n_eff_floored <= almost.n_kish
    assert almost.n_eff_floored == pytest.approx(analysis.kish_floored_size(almost.estimate, almost.var, almost.n_kish))
    assert analysis.kish_floored_size(1.0, 0.0, 12.5) == 12.5


def test_finding_11_at_least_targets_are_met_on_equality():
    assert analysis.target_status(0.8, 0.9, 0.8, comparison="ge") == "met"
    assert analysis.target_status(0.8, 0.9, 0.8, comparison="gt") == "inconclusive"
    with pytest.raises(ValueError):
        analysis.target_status(0.8, 0.9, 0.8, comparison="lt")


def test_finding_11_default_interval_is_named_in_the_module_docs():
    assert analysis.DEFAULT_CI_METHOD == "wilson-cc-kish"
    assert "DEFAULT_CI_METHOD" in analysis.intervals.__doc__
    assert "wilson-kish" in analysis.CI_METHODS  # still available by name


@pytest.mark.parametrize(
    "x, n", [(36, 40), (39, 40), (150, 200), (20, 40), (21, 40), (19, 40), (3, 40), (1, 40), (100, 110)]
)
def test_default_interval_with_equal_weights_is_r_prop_test(x, n):
    """R twin of ``wilson-cc-kish`` with equal weights, df = inf: the bound nearer the edge is
    ``prop.test(correct = TRUE)``'s, the other ``prop.test(correct = FALSE)``'s."""
    from analysis.binomial import wilson_score

    p = x / n
    ci = analysis.proportion_ci(p, p * (1 - p) / n, n=n)
    corrected, plain = wilson_score(x, n, correct=True), wilson_score(x, n)
    assert ci.method == "wilson-cc-kish"
    assert ci.high == pytest.approx(corrected.high if p >= 0.5 else plain.high, abs=1e-12)
    assert ci.low == pytest.approx(corrected.low if p <= 0.5 else plain.low, abs=1e-12)


def test_default_interval_contains_its_estimate_and_is_monotone():
    p = np.linspace(0.001, 0.999, 999)
    ci = analysis.proportion_ci(p, p * (1 - p) / 57.3, df=40, n=np.full(p.size, 80), n_kish=np.full(p.size, 57.3))
    assert np.all(ci.low <= p) and np.all(p <= ci.high)
    assert np.all(np.diff(ci.high) >= 0) and np.all(np.diff(ci.low) >= 0)


@pytest.mark.parametrize("level", LEVELS)
def test_truth_on_target_false_met_at_most_2_5_percent(rates, level):
    r = rates[level]
    assert r["false_met_gt"] <= 0.025 and r["false_met_ge"] <= 0.025, r


@pytest.mark.parametrize("level", LEVELS)
def test_truth_on_target_false_below_at_most_2_5_percent(rates, level):
    assert rates[level]["false_below"] <= 0.025, rates[level]


@pytest.mark.parametrize("level", LEVELS)
def test_truth_on_target_the_interval_keeps_95_percent_coverage(rates, level):
    """Not bought by an over-long interval: coverage stays 95-98 %."""
    assert 0.95 <= rates[level]["coverage"] <= 0.98, rates[level]
