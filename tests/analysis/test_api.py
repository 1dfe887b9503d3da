"""The public API: names, edge cases, errors, comparisons, weighting."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

import analysis
from analysis import intervals
from analysis.likelihood import likelihood_ci, logit_ci

from .reference_data import case_data, case_design, column

ALLOWED_IMPORTS = {
    "__future__",
    "numpy",
    "scipy",
    "math",
    "typing",
    "dataclasses",
    "collections",
    "argparse",
    "csv",
    "codecs",
    "io",
    "json",
    "sys",
    "functools",
    "importlib",
    "threading",
    "",
    "analysis",
}


def test_public_names_and_constants():
    for name in (
        "estimate_proportion",
        "estimate_from_sums",
        "poststratify",
        "rake",
        "kish_deff",
        "proportion_ci",
        "target_status",
        "compare_independent",
        "funnel_limits",
        "shrink_beta_binomial",
    ):
        assert callable(getattr(analysis, name))
    assert analysis.MIN_N_PUBLISH == 30
    assert analysis.MIN_N_SHOW == 10
    assert analysis.DEFAULT_TARGET == 0.8
    assert analysis.DEFAULT_CI_METHOD in analysis.CI_METHODS


def test_analysis_imports_only_numpy_and_scipy():
    package = Path(analysis.__file__).parent
    imports = [
        (path.name, line)
        for path in sorted(package.glob("*.py"))
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.split()[:1] in (["import"], ["from"]) and not line.startswith(" ")
    ]
    assert len(imports) > 10, "the package's imports were not found"
    for name, line in imports:
        module = line.split()[1].split(".")[0]
        assert module in ALLOWED_IMPORTS, (name, line)


def test_row_fields_match_the_contract():
    y = np.array([1, 1, 0, 1, 1, 0, 1, 1, 1, 1] * 4, dtype=float)
    row = analysis.estimate_proportion(y).overall
    for name in (
        "domain",
        "n",
        "estimate",
        "se",
        "var",
        "ci_low",
        "ci_high",
        "ci_method",
        "df",
        "deff",
        "deff_replace",
        "n_eff",
        "target",
        "status",
    ):
        assert hasattr(row, name)
    assert row.domain is None
    assert row.n == 40
    assert row.status in ("met", "below", "inconclusive", "insufficient")


def test_empty_sample_raises():
    with pytest.raises(ValueError, match="no responses"):
        analysis.estimate_proportion([])


def test_all_answers_equal_give_the_exact_bound():
    n = 40
    row = analysis.estimate_proportion(np.ones(n)).overall
    assert row.estimate == 1.0 and row.var == 0.0
    assert row.ci_high == 1.0
    # Korn-Graubard at x = n with n* = n (t_{n-1}/t_{n-1})^2: the Clopper-Pearson bound.
    assert math.isclose(row.ci_low, 0.025 ** (1 / n), rel_tol=1e-12)
    assert row.note == intervals.NOTE_BOUNDARY
    assert row.deff is None and row.deff_replace is None
    assert row.n_eff == n
    row = analysis.estimate_proportion(np.zeros(n)).overall
    assert row.ci_low == 0.0 and math.isclose(row.ci_high, 1 - 0.025 ** (1 / n), rel_tol=1e-12)


def test_all_answers_equal_in_a_domain_is_defined_for_every_method():
    y = np.array([1.0] * 12 + [0.0, 1.0] * 10)
    domains = np.array(["all satisfied"] * 12 + ["mixed"] * 20)
    assert len(analysis.CI_METHODS) == 8
    for method in analysis.CI_METHODS:
        result = analysis.estimate_proportion(y, domains=domains, ci_method=method)
        row = result.domain("all satisfied")
        assert row.estimate == 1.0
        assert 0 < row.ci_low < 1 and row.ci_high == 1.0
        assert row.status == "insufficient"
        assert row.note is not None


def test_single_response_domain_has_df_zero_and_an_interval():
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0, 1.0])
    domains = np.array(["a", "b", "b", "b", "b", "b"])
    result = analysis.estimate_proportion(y, domains=domains, ci_method="beta")
    row = result.domain("a")
    assert row.n == 1 and row.design_df == 0
    assert row.df == 1.0
    assert row.ci_low == pytest.approx(0.025) and row.ci_high == 1.0


def test_proportion_ci_methods_and_errors():
    ci = analysis.proportion_ci(0.8, 0.0004, df=100, method="beta", n=400)
    assert ci.low < 0.8 < ci.high and ci.method == "beta"
    with pytest.raises(ValueError, match="unknown interval method"):
        analysis.proportion_ci(0.8, 0.0004, method="exact")
    with pytest.raises(ValueError, match="xlogit"):
        analysis.proportion_ci(0.8, 0.0004, method="logit")
    with pytest.raises(ValueError, match="needs n"):
        analysis.proportion_ci(0.8, 0.0004, method="beta")
    with pytest.raises(ValueError):
        analysis.proportion_ci(1.2, 0.0004, n=10)
    with pytest.raises(ValueError):
        analysis.proportion_ci(0.5, -1.0, n=10)
    arrays = analysis.proportion_ci([0.5, 0.9], [0.01, 0.001], df=[10, 50], method="xlogit", n=[30, 100])
    assert arrays.low.shape == (2,)
    # Wilson-Kish never shorter than Wilson on the Kish effective size.
    narrow = analysis.proportion_ci(0.97, 1e-6, df=200, method="wilson", n=300)
    floored = analysis.proportion_ci(0.97, 1e-6, df=200, method="wilson-kish", n=300, n_kish=150)
    assert floored.low < narrow.low


def test_zero_variance_inside_zero_one_uses_kish():
    ci = analysis.proportion_ci(0.7, 0.0, df=50, method="xlogit", n=60, n_kish=40)
    assert ci.note == intervals.NOTE_ZERO_VARIANCE
    assert ci.low < 0.7 < ci.high


def test_lonely_psu_rules():
    y = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    strata = np.array(["a", "a", "b", "b", "c"])
    with pytest.raises(ValueError, match="stratum 'c' has only one PSU"):
        analysis.estimate_proportion(y, strata=strata)
    certainty = analysis.estimate_proportion(y, strata=strata, lonely_psu="certainty").overall
    adjust = analysis.estimate_proportion(y, strata=strata, lonely_psu="adjust").overall
    assert adjust.var > certainty.var > 0
    with pytest.raises(ValueError, match="lonely_psu"):
        analysis.estimate_proportion(y, strata=strata, lonely_psu="average")


def test_fpc_checks():
    y = np.array([1.0, 0.0, 1.0, 1.0])
    strata = np.array(["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="same for every response"):
        analysis.estimate_proportion(y, strata=strata, fpc=[10, 11, 10, 10])
    with pytest.raises(ValueError, match="smaller"):
        analysis.estimate_proportion(y, strata=strata, fpc=[1.5, 1.5, 10, 10])
    census = analysis.estimate_proportion(y, strata=strata, fpc=[2, 2, 2, 2]).overall
    assert census.var == 0.0
    fraction = analysis.estimate_proportion(y, strata=strata, fpc=[0.5, 0.5, 0.5, 0.5]).overall
    counts = analysis.estimate_proportion(y, strata=strata, fpc=[4, 4, 4, 4]).overall
    assert math.isclose(fraction.var, counts.var, rel_tol=1e-12)


def test_input_validation_messages():
    with pytest.raises(ValueError, match="0 or 1"):
        analysis.estimate_proportion([0, 1, 0.5])
    with pytest.raises(ValueError, match="missing or infinite"):
        analysis.estimate_proportion([0, 1, 1], weights=[1, np.nan, 1])
    with pytest.raises(ValueError, match="has 2 values"):
        analysis.estimate_proportion([0, 1, 1], weights=[1, 1])
    with pytest.raises(ValueError, match="alpha"):
        analysis.estimate_proportion([0, 1, 1], alpha=0)
    with pytest.raises(ValueError, match="missing value"):
        analysis.estimate_proportion([0, 1, 1], domains=np.array(["a", None, "b"], dtype=object))


def test_clustered_design_through_sums_matches_r():
    design = case_design("f_clus1")
    y = column(case_data("f_clus1"), "y_sw", float)
    direct = analysis.estimate_proportion(y, ci_method="beta", **design).overall
    sums = analysis.sufficient_statistics(y, design["weights"], None, None, psu=design["psu"])
    population = np.full(sums.n.size, 757.0)
    from_sums = analysis.estimate_from_sums(
        sums.stratum,
        sums.domain,
        sums.n,
        sums.sw,
        sums.swy,
        sums.sw2,
        psu=sums.psu,
        population=population,
        ci_method="beta",
    ).overall
    for name in ("estimate", "var", "ci_low", "ci_high"):
        assert math.isclose(getattr(direct, name), getattr(from_sums, name), rel_tol=1e-12)
    from . import results_r

    assert math.isclose(direct.se, results_r.VALUES["f_clus1"][("y_sw", None, None)]["se"], rel_tol=1e-9)
    assert direct.design_df == 14


def test_estimate_from_sums_validation():
    with pytest.raises(ValueError, match="no rows"):
        analysis.estimate_from_sums([], [], [], [], [], [], [])
    with pytest.raises(ValueError, match="whole counts"):
        analysis.estimate_from_sums([1, 1], [1, 1], [0, 2], [1, 2], [1, 1], [1, 2], [1, 1])
    with pytest.raises(ValueError, match="swy must lie"):
        analysis.estimate_from_sums([1, 1], [1, 1], [2, 2], [2, 2], [3, 1], [2, 2], [1, 1])
    with pytest.raises(ValueError, match="sw2 and sw2y"):
        analysis.estimate_from_sums([1, 1], [1, 1], [2, 2], [2, 2], [1, 1])
    with pytest.raises(ValueError, match="population"):
        analysis.estimate_from_sums([1, 1], [1, 2], [2, 2], [2, 2], [1, 1], [2, 2], [1, 1], population=[1, 1])


def test_web_app_shape_weighting_cells_as_strata():
    """w = N_h/n_h per weighting cell, analysed with strata = cell (DESIGN.md)."""
    rng = np.random.default_rng(4)
    cells = np.repeat(np.arange(40), rng.integers(2, 10, size=40))
    counts = np.bincount(cells)
    population = rng.integers(50, 500, size=40)
    weights = (population / counts)[cells]
    y = (rng.random(cells.size) < 0.9).astype(float)
    units = rng.choice(["commune-1", "commune-2", "hospital-3"], size=cells.size)
    direct = analysis.estimate_proportion(y, weights, cells, fpc=population[cells].astype(float), domains=units)
    sums = analysis.sufficient_statistics(y, weights, cells, units)
    from_sums = analysis.estimate_from_sums(
        sums.stratum,
        sums.domain,
        sums.n,
        sums.sw,
        sums.swy,
        sums.sw2,
        sums.sw2y,
        population=population[sums.stratum.astype(int)].astype(float),
    )
    assert len(direct.rows()) == 4, "the whole and three domains"
    for a, b in zip(direct.rows(), from_sums.rows(), strict=True):
        assert a.domain == b.domain
        assert math.isclose(a.var, b.var, rel_tol=1e-12)
        assert math.isclose(a.ci_low, b.ci_low, rel_tol=1e-12)
    assert direct.to_dict()["estimates"][0]["domain"] is None


# --- weighting -------------------------------------------------------------


def test_kish_deff():
    kish = analysis.kish_deff([1, 1, 4])
    assert math.isclose(kish.deff, 3 * 18 / 36)
    assert math.isclose(kish.n_eff, 36 / 18)
    with pytest.raises(ValueError):
        analysis.kish_deff([])
    with pytest.raises(ValueError, match="> 0"):
        analysis.kish_deff([1, 0])


def test_poststratify_errors():
    weights = np.ones(4)
    cells = np.array(["a", "a", "b", "b"])
    with pytest.raises(ValueError, match="no population total for category 'b'"):
        analysis.poststratify(weights, cells, {"a": 10})
    with pytest.raises(ValueError, match="no response in the sample"):
        analysis.poststratify(weights, cells, {"a": 10, "b": 10, "c": 3})
    partial = analysis.poststratify(weights, cells, {"a": 10, "b": 10, "c": 3}, partial=True)
    assert math.isclose(partial.weights.sum(), 20)
    with pytest.raises(ValueError, match="population total is 0"):
        analysis.poststratify(weights, cells, {"a": 10, "b": 0})


def test_rake_converges_and_fails_clearly():
    rng = np.random.default_rng(3)
    sex = rng.choice(["f", "m"], size=200)
    age = rng.choice(["young", "old"], size=200)
    weights = rng.uniform(1, 3, size=200)
    raked = analysis.rake(weights, [sex, age], [{"f": 600, "m": 400}, {"young": 300, "old": 700}], names=["sex", "age"])
    assert raked.converged
    assert math.isclose(raked.weights[sex == "f"].sum(), 600, rel_tol=1e-9)
    assert math.isclose(raked.weights[age == "old"].sum(), 700, rel_tol=1e-9)
    with pytest.raises(ValueError, match="inconsistent"):
        analysis.rake(weights, [sex, age], [{"f": 600, "m": 400}, {"young": 300, "old": 800}])
    with pytest.raises(ValueError, match="did not converge"):
        analysis.rake(weights, [sex, age], [{"f": 600, "m": 400}, {"young": 300, "old": 700}], max_iter=1)
    bounded = analysis.rake(weights, [sex, age], [{"f": 600, "m": 400}, {"young": 300, "old": 700}], bounds=(0.2, 10.0))
    ratio = bounded.weights / weights
    assert ratio.min() >= 0.2 - 1e-12 and ratio.max() <= 10.0 + 1e-12
    with pytest.raises(ValueError, match="bounds"):
        analysis.rake(weights, [sex, age], [{"f": 600, "m": 400}, {"young": 300, "old": 700}], bounds=(0.9, 1.1))
    y = (rng.random(200) < 0.8).astype(float)
    result = analysis.estimate_proportion(y, calibration=raked, domains=sex)
    assert result.overall.var > 0
    with pytest.raises(ValueError, match="weights differ"):
        analysis.estimate_proportion(y, weights=weights, calibration=raked)


# --- status, tests, comparisons ---------------------------------------------


def test_target_status_rules():
    assert analysis.target_status(0.81, 0.9) == "met"
    assert analysis.target_status(0.7, 0.79) == "below"
    assert analysis.target_status(0.75, 0.85) == "inconclusive"
    assert analysis.target_status(0.8, 0.85) == "inconclusive"  # touching is not above
    assert analysis.target_status(0.81, 0.9, n=29) == "insufficient"
    assert analysis.target_status(0.81, 0.9, n=100, n_eff=29.5) == "insufficient"
    with pytest.raises(ValueError):
        analysis.target_status(0.9, 0.8)
    with pytest.raises(ValueError):
        analysis.target_status(0.7, 0.9, target=1.5)


def test_one_sided_test_edge_cases():
    test = analysis.test_against_target(0.9, 0.0, 0.8)
    assert test.statistic == math.inf and test.p_above == 0.0 and test.p_below == 1.0
    test = analysis.test_against_target(0.8, 0.0, 0.8)
    assert test.statistic == 0 and test.p_below == 0.5
    with pytest.raises(ValueError):
        analysis.test_against_target(0.9, -0.1)


def test_compare_independent():
    result = analysis.compare_independent(0.85, 0.02, 0.80, 0.03)
    assert math.isclose(result.difference, 0.05)
    assert math.isclose(result.se, math.hypot(0.02, 0.03))
    assert result.ci_low < 0.05 < result.ci_high
    mover = analysis.compare_independent(
        0.99, 0.005, 0.9, 0.02, method="mover", ci=(0.96, 1.0), reference_ci=(0.85, 0.94)
    )
    assert mover.ci_low < 0.09 < mover.ci_high
    with pytest.raises(ValueError, match="mover"):
        analysis.compare_independent(0.9, 0.01, 0.8, 0.01, method="mover")
    with pytest.raises(ValueError, match="unknown method"):
        analysis.compare_independent(0.9, 0.01, 0.8, 0.01, method="bootstrap")


def test_funnel_limits():
    limits = analysis.funnel_limits(0.85, [20, 100, 1000], estimate=[0.5, 0.99, 0.85])
    assert np.all(limits.lower998 <= limits.lower95) and np.all(limits.upper95 <= limits.upper998)
    assert np.all(np.diff(limits.upper95) < 0)  # funnel narrows with size
    assert list(limits.position) == ["below 99.8%", "above 99.8%", "within"]
    normal = analysis.funnel_limits(0.85, [100], method="normal")
    assert math.isclose(normal.upper95[0], 0.85 + 1.959963984540054 * math.sqrt(0.85 * 0.15 / 100), rel_tol=1e-9)
    with pytest.raises(ValueError):
        analysis.funnel_limits(1.0, [10])


def test_funnel_limits_of_a_near_zero_variance_unit_are_the_reference():
    """A unit whose variance rounds to ~0 has an enormous effective size: the limits collapse
    onto the reference rate instead of sending scipy's binomial quantile search into a loop."""
    limits = analysis.funnel_limits(0.85, [9.2e17], estimate=[0.85])
    for bound in (limits.lower998, limits.lower95, limits.upper95, limits.upper998):
        assert math.isclose(bound[0], 0.85, abs_tol=1e-4)


def test_shrinkage_pulls_small_units_most():
    shrunk = analysis.shrink_beta_binomial([5, 90, 380, 40], [5, 100, 400, 60])
    assert shrunk.label.startswith("shrunk estimate")
    assert shrunk.shrinkage[0] > shrunk.shrinkage[2]
    assert np.all((shrunk.ci_low <= shrunk.estimate) & (shrunk.estimate <= shrunk.ci_high))
    with pytest.raises(ValueError):
        analysis.shrink_beta_binomial([1], [2])


def test_glm_intervals_refuse_degenerate_data():
    with pytest.raises(ValueError):
        likelihood_ci(np.ones(10))
    with pytest.raises(ValueError):
        logit_ci(np.zeros(10))
