"""Properties that must hold for any data (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import analysis
from analysis.intervals import CI_METHODS

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def samples(draw, min_size=4, max_size=60):
    """A stratified sample with domains: every stratum has >= 2 responses."""
    strata_count = draw(st.integers(1, 4))
    sizes = draw(
        st.lists(st.integers(2, max(2, max_size // strata_count)), min_size=strata_count, max_size=strata_count)
    )
    strata = np.repeat(np.arange(strata_count), sizes)
    n = strata.size
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)), dtype=float)
    weights = np.array(
        draw(st.lists(st.floats(0.5, 500.0, allow_nan=False, allow_infinity=False), min_size=n, max_size=n))
    )
    domains = np.array(draw(st.lists(st.sampled_from(["a", "b", "c"]), min_size=n, max_size=n)), dtype=object)
    return y, weights, strata, domains


def rows_equal(left, right, rtol=1e-12, atol=1e-15):
    assert left.rows(), "no rows to compare"
    for a, b in zip(left.rows(), right.rows(), strict=True):
        assert a.domain == b.domain
        assert a.n == b.n
        assert a.design_df == b.design_df
        assert a.status == b.status
        for name in ("estimate", "var", "ci_low", "ci_high", "n_kish"):
            x, y = getattr(a, name), getattr(b, name)
            assert math.isclose(x, y, rel_tol=rtol, abs_tol=atol), (name, x, y)
        # n_eff = p(1-p)/v divides by a small variance: rounding in v shows up ~100x larger.
        assert math.isclose(a.n_eff, b.n_eff, rel_tol=1e-10), ("n_eff", a.n_eff, b.n_eff)
        for name in ("deff", "deff_replace"):
            x, y = getattr(a, name), getattr(b, name)
            assert (x is None) == (y is None) or min(abs(x or 0), abs(y or 0)) < 1e-9, (name, x, y)
            if x is not None and y is not None:
                assert math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12), (name, x, y)


@SETTINGS
@given(samples(), st.floats(0.01, 1000.0), st.sampled_from(CI_METHODS))
def test_scaling_weights_changes_neither_estimate_nor_interval(sample, factor, method):
    y, weights, strata, domains = sample
    base = analysis.estimate_proportion(y, weights, strata, domains=domains, ci_method=method)
    scaled = analysis.estimate_proportion(y, weights * factor, strata, domains=domains, ci_method=method)
    assert base.rows(), "no rows to compare"
    for a, b in zip(base.rows(), scaled.rows(), strict=True):
        assert math.isclose(a.estimate, b.estimate, rel_tol=1e-12, abs_tol=1e-15)
        # abs_tol: a variance that is zero but for rounding (every stratum homogeneous) is noise.
        assert math.isclose(a.var, b.var, rel_tol=1e-9, abs_tol=1e-15)
        assert math.isclose(a.ci_low, b.ci_low, rel_tol=1e-9, abs_tol=1e-12)
        assert math.isclose(a.ci_high, b.ci_high, rel_tol=1e-9, abs_tol=1e-12)


@SETTINGS
@given(st.integers(2, 300), st.data())
def test_equal_weights_one_stratum_is_simple_random_sampling(n, data):
    count = data.draw(st.integers(0, n))
    y = np.zeros(n)
    y[:count] = 1
    result = analysis.estimate_proportion(y, np.full(n, 7.0), ci_method="mean", df="inf")
    row = result.overall
    p = count / n
    assert math.isclose(row.estimate, p, rel_tol=1e-12, abs_tol=1e-15)
    # SRS with replacement: v = p(1-p)/(n-1), i.e. s^2/n with the n-1 divisor.
    assert math.isclose(row.var, p * (1 - p) / (n - 1), rel_tol=1e-9, abs_tol=1e-18)
    assert row.design_df == n - 1
    if 0 < count < n:
        assert math.isclose(row.deff_replace, 1.0, rel_tol=1e-9)
        assert math.isclose(row.n_eff, n - 1, rel_tol=1e-9)
        z = 1.959963984540054
        assert math.isclose(row.ci_low, p - z * math.sqrt(row.var), rel_tol=1e-9, abs_tol=1e-12)
    assert math.isclose(row.n_kish, n, rel_tol=1e-12)
    kish = analysis.kish_deff(np.full(n, 7.0))
    assert math.isclose(kish.deff, 1.0, rel_tol=1e-12)


@SETTINGS
@given(samples(), st.randoms(use_true_random=False))
def test_permuting_rows_changes_nothing(sample, random):
    y, weights, strata, domains = sample
    order = list(range(y.size))
    random.shuffle(order)
    order = np.array(order)
    base = analysis.estimate_proportion(y, weights, strata, domains=domains)
    permuted = analysis.estimate_proportion(y[order], weights[order], strata[order], domains=domains[order])
    rows_equal(base, permuted, rtol=1e-10, atol=1e-13)


@SETTINGS
@given(samples(), st.sampled_from(CI_METHODS), st.booleans())
def test_sufficient_statistics_equal_the_per_response_path(sample, method, with_fpc):
    y, weights, strata, domains = sample
    fpc = None
    population = None
    if with_fpc:
        sizes = np.bincount(strata)
        fpc = (sizes * 3 + 1)[strata].astype(float)
    direct = analysis.estimate_proportion(y, weights, strata, fpc=fpc, domains=domains, ci_method=method)
    sums = analysis.sufficient_statistics(y, weights, strata, domains)
    if with_fpc:
        population = (np.bincount(strata) * 3 + 1)[sums.stratum.astype(int)].astype(float)
    from_sums = analysis.estimate_from_sums(
        sums.stratum,
        sums.domain,
        sums.n,
        sums.sw,
        sums.swy,
        sums.sw2,
        sums.sw2y,
        sums.sw2y2,
        population=population,
        ci_method=method,
    )
    rows_equal(direct, from_sums, rtol=1e-12, atol=1e-15)


@SETTINGS
@given(samples())
def test_sufficient_statistics_from_plain_python_sums(sample):
    """Sums formed one response at a time (as SQL would) give the same answer to 1e-12."""
    y, weights, strata, domains = sample
    cells = {}
    for yi, wi, hi, di in zip(y.tolist(), weights.tolist(), strata.tolist(), domains.tolist(), strict=False):
        cell = cells.setdefault((hi, di), [0, 0.0, 0.0, 0.0, 0.0, 0.0])
        cell[0] += 1
        cell[1] += wi
        cell[2] += wi * yi
        cell[3] += wi * wi
        cell[4] += wi * wi * yi
        cell[5] += wi * wi * yi * yi
    keys = list(cells)
    columns = list(zip(*[cells[k] for k in keys], strict=False))
    from_sums = analysis.estimate_from_sums([k[0] for k in keys], [k[1] for k in keys], *columns)
    direct = analysis.estimate_proportion(y, weights, strata, domains=domains)
    rows_equal(direct, from_sums, rtol=1e-12, atol=1e-15)


@SETTINGS
@given(samples())
def test_domains_are_consistent_with_the_whole(sample):
    y, weights, strata, domains = sample
    result = analysis.estimate_proportion(y, weights, strata, domains=domains)
    assert sum(row.n for row in result.domains) == result.overall.n
    total = sum(row.estimate * row.sum_w for row in result.domains)
    assert math.isclose(total / result.overall.sum_w, result.overall.estimate, rel_tol=1e-12, abs_tol=1e-15)
    assert len(result.rows()) > len(result.domains), "the whole and each domain"
    for row in result.rows():
        assert 0.0 <= row.ci_low <= row.estimate <= row.ci_high <= 1.0 or row.ci_method == "mean"
        assert row.var >= 0
        assert row.status in analysis.status.STATUSES


@SETTINGS
@given(
    st.sampled_from(["y", "weights", "strata", "method", "alpha", "target", "df"]),
    st.integers(4, 20),
)
def test_bad_inputs_raise_value_error_with_a_message(which, n):
    y = np.array([0.0, 1.0] * (n // 2))
    weights = np.ones(y.size)
    kwargs = {}
    if which == "y":
        y = y.copy()
        y[0] = 2.0
    elif which == "weights":
        weights = weights.copy()
        weights[0] = -1.0
    elif which == "strata":
        kwargs["strata"] = np.arange(y.size)  # one PSU per stratum
    elif which == "method":
        kwargs["ci_method"] = "clopper"
    elif which == "alpha":
        kwargs["alpha"] = 1.5
    elif which == "target":
        kwargs["target"] = 2.0
    else:
        kwargs["df"] = "lots"
    with pytest.raises(ValueError) as error:
        analysis.estimate_proportion(y, weights, **kwargs)
    assert len(str(error.value)) > 10
