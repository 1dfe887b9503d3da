r"""Target status of an estimate and the one-sided test against a target.

The rules are those of DESIGN.md section 6: an indicator has *met* its target
when the lower bound clears it (``>`` or ``>=``, as the target's text says), is *below* it when the whole
interval lies below, and is *inconclusive* otherwise.  An estimate from fewer
than :data:`MIN_N_PUBLISH` responses, or whose effective sample size is below
that, is *insufficient*: the web application publishes only its count.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from ._checks import check_target
from ._defaults import DEFAULT_TARGET, MIN_N_PUBLISH
from ._defaults import MIN_N_SHOW as MIN_N_SHOW  # analysis.status.MIN_N_SHOW, as the web application reads it

STATUS_MET = "met"
STATUS_BELOW = "below"
STATUS_INCONCLUSIVE = "inconclusive"
STATUS_INSUFFICIENT = "insufficient"
#: Published, but there is nothing to compare it with (an index, a mean score, a share of facts).
STATUS_NO_TARGET = "no_target"
STATUSES = (STATUS_MET, STATUS_BELOW, STATUS_INCONCLUSIVE, STATUS_INSUFFICIENT, STATUS_NO_TARGET)
#: How a target is worded: "more than t" (``gt``) or "at least t" (``ge``).
COMPARISONS = ("gt", "ge")


def _check_comparison(comparison) -> str:
    if comparison not in COMPARISONS:
        raise ValueError(f"comparison must be one of {', '.join(COMPARISONS)}, got {comparison!r}")
    return comparison


def target_status(ci_low, ci_high, target=DEFAULT_TARGET, *, n=None, n_eff=None, min_n=MIN_N_PUBLISH, comparison="gt"):
    r"""Status of an estimate against its target.

    Parameters
    ----------
    ci_low, ci_high : float
        Confidence interval of the estimate.
    target : float, default 0.8
        The indicator's target proportion t.
    n : int, optional
        Number of responses; below ``min_n`` the status is ``insufficient``.
    n_eff : float, optional
        The Kish-floored effective size
        (:func:`analysis.intervals.kish_floored_size`); below ``min_n`` the
        status is ``insufficient``.
    min_n : int, default :data:`MIN_N_PUBLISH` (30)
    comparison : {'gt', 'ge'}, default 'gt'
        The target's wording: "more than t" or "at least t".

    Returns
    -------
    str
        ``'insufficient'`` if :math:`n < 30` or :math:`n_{eff} < 30`; else
        ``'met'`` if :math:`\text{low} > t` (``gt``) or
        :math:`\text{low} \ge t` (``ge``), ``'below'`` if
        :math:`\text{high} < t`, otherwise ``'inconclusive'``.

    Notes
    -----
    For a "more than" target an interval touching it is inconclusive; for an
    "at least" target a lower bound equal to it meets it.  Missing bounds (None or NaN) raise ValueError rather than
    producing a status.
    """
    t = check_target(target)
    _check_comparison(comparison)
    if n is not None and n < min_n:
        return STATUS_INSUFFICIENT
    if n_eff is not None and not (n_eff >= min_n):
        return STATUS_INSUFFICIENT
    if ci_low is None or ci_high is None or math.isnan(ci_low) or math.isnan(ci_high):
        raise ValueError("target_status needs both interval bounds")
    if ci_low > ci_high:
        raise ValueError(f"ci_low ({ci_low}) is above ci_high ({ci_high})")
    if ci_low > t or (comparison == "ge" and ci_low >= t):
        return STATUS_MET
    if ci_high < t:
        return STATUS_BELOW
    return STATUS_INCONCLUSIVE


def status_arrays(ci_low, ci_high, target, n, n_eff, min_n=MIN_N_PUBLISH, comparison="gt"):
    """Vectorised :func:`target_status` (object array of status strings)."""
    ci_low = np.asarray(ci_low, dtype=float)
    status = np.full(ci_low.shape, STATUS_INCONCLUSIVE, dtype=object)
    status[(ci_low >= target) if _check_comparison(comparison) == "ge" else (ci_low > target)] = STATUS_MET
    status[np.asarray(ci_high, dtype=float) < target] = STATUS_BELOW
    insufficient = (np.asarray(n) < min_n) | ~(np.asarray(n_eff, dtype=float) >= min_n)
    status[insufficient] = STATUS_INSUFFICIENT
    return status


class TargetTest(NamedTuple):
    """Result of :func:`test_against_target`.

    Attributes
    ----------
    statistic : float
        :math:`z = (\\hat p - t)/se` (a t statistic when ``df`` is finite).
    p_below : float
        One-sided p-value for H1: p < t (H0: p >= t).
    p_above : float
        One-sided p-value for H1: p > t (H0: p <= t).
    p_two_sided : float
        Two-sided p-value.
    df : float
        Degrees of freedom of the reference distribution (inf = normal).
    """

    statistic: float
    p_below: float
    p_above: float
    p_two_sided: float
    df: float


def _cdf(x, df):
    """Normal (df = inf) or Student t distribution function."""
    if math.isinf(df):
        return float(special.ndtr(x))
    return float(special.stdtr(df, x))


def test_against_target(estimate, se, target=DEFAULT_TARGET, df=math.inf):
    r"""One-sided (and two-sided) Wald test of a proportion against its target.

    Parameters
    ----------
    estimate : float
        Estimated proportion :math:`\hat p`.
    se : float
        Its standard error (>= 0).
    target : float, default 0.8
    df : float, default inf
        Degrees of freedom: ``inf`` for the normal reference distribution,
        or the design df for a t reference.  (R's ``svyttest`` uses
        ``degf(design) - 1``.)

    Returns
    -------
    TargetTest

    Notes
    -----
    .. math:: z = \frac{\hat p - t}{se},\qquad p_{below} = F(z),\qquad
              p_{above} = 1 - F(z),\qquad p_{two} = 2F(-|z|)

    with F the normal or :math:`t_{df}` distribution function.  With
    ``se = 0`` the statistic is :math:`\pm\infty` (p-values 0 and 1), or 0
    with both one-sided p-values 0.5 when :math:`\hat p = t`.
    """
    t = check_target(target)
    estimate = float(estimate)
    se = float(se)
    df = float(df)
    if not 0.0 <= estimate <= 1.0:
        raise ValueError(f"estimate must be a proportion in [0, 1], got {estimate!r}")
    if not se >= 0.0 or math.isinf(se):
        raise ValueError(f"se must be a finite number >= 0, got {se!r}")
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df!r}")
    if se == 0.0:
        if estimate == t:
            return TargetTest(0.0, 0.5, 0.5, 1.0, df)
        statistic = math.copysign(math.inf, estimate - t)
    else:
        statistic = (estimate - t) / se
    p_below = _cdf(statistic, df)
    p_above = _cdf(-statistic, df)
    p_two = 2.0 * _cdf(-abs(statistic), df)
    return TargetTest(float(statistic), p_below, p_above, min(p_two, 1.0), df)


# pytest would collect a module-level function named test_*; keep it out.
test_against_target.__test__ = False  # type: ignore[attr-defined]
