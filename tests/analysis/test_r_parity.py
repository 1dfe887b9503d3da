"""Every value in ``results_r.py`` (R's survey package) reproduced through the Python API.

Tolerances (``tests/analysis/data/README.md``): 1e-9 relative.  Raked cases
(``d1t_rake_tight``, ``d3_rake3_equalw``): R stops raking at its own epsilon
and its residual variance iterates a fixed ten sweeps, so SEs and the
quantities built from them match to 1e-7, and var, deff and n_eff (which
scale with se squared) to 2e-7.  Values that are zero up to rounding (an SE
of 1e-17 where a margin fixes the outcome) are compared with an absolute
tolerance.

Where R has no number (NaN/NA: an estimate of 0 or 1, a domain with df 0;
Inf: deff without replacement for unweighted data) the engine must give its
documented answer instead: a finite interval inside [0, 1] with a ``note``,
or ``None`` for an undefined design effect.

R's ``logit`` interval (svyglm) is reproduced by :func:`analysis.likelihood.logit_ci`
and its ``likelihood`` interval (profile likelihood, FMM spline) by
:func:`analysis.likelihood.likelihood_ci`.  In domains where R's ``logit``
breaks down (df = 1, where ``1 - 2*pnorm(qt())`` rounds to 1; an estimate
of 0 or 1 or a diverging glm, where R prints 0/NaN or a non-converged
value) we check instead that ``xlogit`` — the same interval done right — is
defined.  Where R's likelihood interval stopped with an error
(``d1t_rake_tight``/``y_sw``: the outcome is a raking margin, zero
variance) ours raises ValueError too.

Domain ``beta`` intervals on post-stratified or raked designs: R's domain
subset keeps all rows, so ``nrow(design)`` in the Korn–Graubard df
correction is the whole sample's n; ``estimate_proportion(ci_method="beta")``
does the same for calibrated designs (documented), so these match exactly.
"""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

import analysis
from analysis.binomial import binomial_test, clopper_pearson, wilson_score
from analysis.likelihood import likelihood_ci, logit_ci

from . import results_r
from .reference_data import case_data, case_design, column, final_weights, read_table

CASES = tuple(results_r.CASES)
RAKED = {"d1t_rake_tight", "d3_rake3_equalw"}
SQUARED = {"var", "deff_wor", "deff_replace", "n_eff_p(1-p)/var"}
WHOLE_METHODS = ("beta", "xlogit", "wilson", "mean", "asin")
DOMAIN_METHODS = ("beta", "xlogit", "wilson")


def by_variables(case):
    return sorted({by for (_, by, _) in results_r.VALUES[case] if by is not None})


@functools.cache
def computed(case, variable):
    """All our numbers for one case and variable."""
    design = case_design(case)
    data = case_data(case)
    y = column(data, variable, float)
    whole = {}
    for method in WHOLE_METHODS:
        for df in ("design", "inf"):
            whole[method, df] = analysis.estimate_proportion(y, ci_method=method, df=df, **design).overall
    glm = {}
    for df in ("design", "inf"):
        glm["logit", df] = logit_ci(y, df=df, **design)
        try:
            glm["likelihood", df] = likelihood_ci(y, df=df, **design)
        except ValueError as error:
            glm["likelihood", df] = error
    domains = {}
    for by in by_variables(case):
        labels = column(data, by)
        for method in DOMAIN_METHODS:
            result = analysis.estimate_proportion(y, domains=labels, ci_method=method, **design)
            for row in result.domains:
                domains[by, row.domain, method] = row
    return y, whole, glm, domains


def close(ours, expected, case, statistic):
    if case in RAKED and statistic not in ("mean", "n", "degf", "x") and not statistic.endswith("_est"):
        rtol = 2e-7 if statistic in SQUARED else 1e-7
    else:
        rtol = 1e-9
    atol = 1e-24 if statistic == "var" else (1e-12 if "deff" in statistic else 1e-15)
    return abs(ours - expected) <= rtol * abs(expected) + atol


def whole_value(case, variable, statistic):
    """Our value for a whole-sample statistic (None where ours is undefined)."""
    y, whole, glm, _ = computed(case, variable)
    row = whole["beta", "design"]
    p, se, n, degf = row.estimate, row.se, row.n, row.design_df
    simple = {
        "mean": p,
        "se": se,
        "var": row.var,
        "deff_wor": row.deff,
        "deff_replace": row.deff_replace,
        "n_eff_p(1-p)/var": row.n_eff,
        "degf": degf,
    }
    if statistic in simple:
        return simple[statistic]
    if statistic.startswith("ci_"):
        parts = statistic.split("_")
        method, bound = parts[1], parts[-1]
        df = "inf" if "dfInf" in parts else "design"
        if method in ("logit", "likelihood"):
            interval = glm[method, df]
            if isinstance(interval, Exception):
                raise interval
            return interval.low if bound == "lo" else interval.high
        other = whole[method, df]
        return other.ci_low if bound == "lo" else other.ci_high
    if statistic.startswith("ciprop_"):
        method = statistic.split("_")[1]
        if method in ("logit", "likelihood"):
            return glm[method, "design"].estimate
        return whole[method, "design"].estimate
    if statistic in ("z_vs_0.8", "p_lower_normal", "p_upper_normal"):
        test = analysis.test_against_target(p, se, 0.8)
        return {"z_vs_0.8": test.statistic, "p_lower_normal": test.p_below, "p_upper_normal": test.p_above}[statistic]
    if statistic in ("p_lower_t_degf", "p_upper_t_degf"):
        test = analysis.test_against_target(p, se, 0.8, df=degf)
        return test.p_below if statistic == "p_lower_t_degf" else test.p_above
    if statistic.startswith("svyttest"):
        test = analysis.test_against_target(p, se, 0.8, df=degf - 1)
        return {"svyttest_t": test.statistic, "svyttest_df": test.df, "svyttest_p_two_sided": test.p_two_sided}[
            statistic
        ]
    x = int(y.sum())
    if statistic == "x":
        return x
    if statistic.startswith("binom.test"):
        test = binomial_test(x, n, 0.8)
        return test.p_above if "greater" in statistic else test.p_below
    if statistic.startswith("clopper_pearson"):
        interval = clopper_pearson(x, n)
        return interval.low if statistic.endswith("lo") else interval.high
    if statistic.startswith("wilson_prop.test"):
        interval = wilson_score(x, n)
        return interval.low if statistic.endswith("lo") else interval.high
    if statistic == "prop.test_score_p_less_0.8":
        return binomial_test(x, n, 0.8, method="score").p_below
    if statistic == "binomial_se_sqrt(p(1-p)/n)":
        return math.sqrt(p * (1 - p) / n)
    if statistic == "se_sqrt(p(1-p)/(n-1))":
        # Equal weights, one stratum: the design SE is the SRS formula.
        return se
    raise KeyError(statistic)


def check_undefined(statistic, ours, row=None):
    """R gave NaN/NA/Inf: ours must be the documented defined answer."""
    if "deff" in statistic:
        return ours is None
    if statistic.startswith("ci_") and row is not None:
        low, high = row.ci_low, row.ci_high
        return math.isfinite(low) and math.isfinite(high) and 0 <= low <= high <= 1 and row.note is not None
    return ours is not None and math.isfinite(ours)


@pytest.mark.parametrize("case", CASES)
def test_design_level_statistics(case):
    expected = results_r.VALUES[case][("", None, None)]
    kish = analysis.kish_deff(final_weights(case))
    design = case_design(case)
    y = column(case_data(case), "y_sw", float)
    degf = analysis.estimate_proportion(y, **design).design_df
    ours = {
        "n": kish.n,
        "sum_w": kish.sum_w,
        "sum_w2": kish.sum_w2,
        "min_w": kish.min_w,
        "max_w": kish.max_w,
        "mean_w": kish.mean_w,
        "cv_w_divisor_n": kish.cv,
        "kish_deff_1_plus_cv2": kish.deff,
        "kish_n_eff": kish.n_eff,
        "degf": degf,
    }
    assert set(expected) == set(ours)
    for statistic, value in expected.items():
        assert close(ours[statistic], value, case, statistic), (statistic, ours[statistic], value)


@pytest.mark.parametrize("case", [c for c in CASES])
def test_final_weights_match_r(case):
    table = read_table(f"weights_{case}.csv")
    expected = np.array([float(v) for v in table["weight"]])
    ids = np.array([int(v) for v in table["id"]])
    data_ids = np.array([int(v) for v in case_data(case)["id"]])
    ours = dict(zip(data_ids.tolist(), final_weights(case).tolist(), strict=False))
    got = np.array([ours[i] for i in ids.tolist()])
    np.testing.assert_allclose(got, expected, rtol=1e-9, atol=0)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("variable", ["y_sw", "y_aw", "y_hi"])
def test_whole_sample_statistics(case, variable):
    expected = results_r.VALUES[case][(variable, None, None)]
    failures = []
    for statistic, value in expected.items():
        if statistic.startswith("ci_likelihood") and math.isnan(value):
            # R: "R error" (zero variance: the outcome is a raking margin); ours refuses too.
            with pytest.raises(ValueError):
                whole_value(case, variable, statistic)
            continue
        ours = whole_value(case, variable, statistic)
        if not math.isfinite(value):
            _, whole, _, _ = computed(case, variable)
            method = statistic.split("_")[1] if statistic.startswith("ci_") else "beta"
            row = whole[method, "design"]
            if not check_undefined(statistic, ours, row):
                failures.append((statistic, value, ours))
            continue
        if ours is None or not close(ours, value, case, statistic):
            failures.append((statistic, value, ours))
    assert not failures, failures


@pytest.mark.parametrize("case", [c for c in CASES if by_variables(c)])
@pytest.mark.parametrize("variable", ["y_sw", "y_aw", "y_hi"])
def test_domain_statistics(case, variable):
    y, _, _, domains = computed(case, variable)
    design = case_design(case)
    data = case_data(case)
    failures = []
    checked = 0
    for (var, by, domain), statistics in results_r.VALUES[case].items():
        if var != variable or by is None:
            continue
        labels = column(data, by)
        for statistic, value in statistics.items():
            checked += 1
            if statistic.startswith("ci_"):
                method, bound = statistic.split("_")[1], statistic.split("_")[2]
            else:
                method, bound = "beta", None
            if method == "logit":
                row = domains[by, domain, "xlogit"]
                interval = None
                if row.design_df >= 2 and 0 < row.estimate < 1:
                    try:
                        interval = logit_ci(y, domain=labels == domain, **design)
                    except ValueError:
                        # R's glm diverges too: its numbers here are 0/NaN.
                        assert value == 0 or math.isnan(value)
                if interval is not None:
                    ours = interval.low if bound == "lo" else interval.high
                    if not close(ours, value, case, statistic):
                        failures.append((by, domain, statistic, value, ours))
                elif not (math.isfinite(row.ci_low) and 0 <= row.ci_low <= row.ci_high <= 1):
                    failures.append((by, domain, statistic, value, "xlogit undefined"))
                continue
            row = domains[by, domain, method]
            ours = {
                "mean": row.estimate,
                "se": row.se,
                "n": row.n,
                "deff_wor": row.deff,
            }.get(statistic)
            if bound is not None:
                ours = row.ci_low if bound == "lo" else row.ci_high
            if not math.isfinite(value):
                if not check_undefined(statistic, ours, row):
                    failures.append((by, domain, statistic, value, ours))
                continue
            if ours is None or not close(ours, value, case, statistic):
                failures.append((by, domain, statistic, value, ours))
    assert checked > 0
    assert not failures, failures[:10]


def test_every_reference_value_is_covered():
    """The parametrised tests above visit every row of reference_values.csv."""
    table = read_table("reference_values.csv")
    assert len(table["case"]) == sum(len(s) for c in results_r.VALUES.values() for s in c.values())
    assert len(results_r.VALUES) == 9
    for case, groups in results_r.VALUES.items():
        assert case in CASES and groups, case
        for variable, by, _ in groups:
            assert variable in ("", "y_sw", "y_aw", "y_hi")
            assert by in (None, *by_variables(case))


def test_results_module_matches_reference_csv():
    """results_r.py is a faithful transcription of the shared CSV."""
    table = read_table("reference_values.csv")
    sampled = range(0, len(table["case"]), 97)
    assert len(sampled) == 80, "every 97th of the 7,713 rows"
    for index in sampled:
        case = table["case"][index]
        variable = table["variable"][index]
        statistic = table["statistic"][index]
        domain = table["domain"][index] or None
        by = None
        if domain is not None:
            by = statistic.split("_")[1]
            statistic = statistic.split("_", 2)[2]
        expected = table["value_full"][index]
        stored = results_r.VALUES[case][(variable, by, domain)][statistic]
        if expected in ("NA", "NaN"):
            assert math.isnan(stored)
        else:
            assert stored == float(expected)
