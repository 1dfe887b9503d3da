r"""Comparisons: change between periods, funnel-plot limits, shrinkage.

DESIGN.md asks for no league tables without intervals: units are compared
with the province rate through funnel limits drawn from each unit's
effective sample size, and a period's change is reported with its interval.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from ._checks import as_float_array, check_alpha
from .intervals import t_quantile

COMPARE_METHODS = ("wald", "mover")


class Comparison(NamedTuple):
    """Result of :func:`compare_independent`.

    Attributes
    ----------
    difference : float
        ``estimate - reference_estimate``.
    se : float
        :math:`\\sqrt{se^2 + se_{ref}^2}` (Wald); for MOVER, the SE its
        interval implies (see ``_mover_test``).
    ci_low, ci_high : float
    statistic : float
        difference / se (0 when both are 0).
    p_value : float
        Two-sided p-value of "no change".
    method : str
    alpha : float
    """

    difference: float
    se: float
    ci_low: float
    ci_high: float
    statistic: float
    p_value: float
    method: str
    alpha: float

    @property
    def clear(self) -> bool:
        """A "clear change": the interval of the difference excludes 0."""
        return self.ci_low > 0 or self.ci_high < 0


def compare_independent(
    estimate,
    se,
    reference_estimate,
    reference_se,
    *,
    alpha=0.05,
    df=math.inf,
    method="wald",
    ci=None,
    reference_ci=None,
):
    r"""Difference between two independent estimates (e.g. this period minus the last).

    Parameters
    ----------
    estimate, se : float
        The estimate of interest and its standard error.
    reference_estimate, reference_se : float
        The estimate compared against (the previous period) and its SE.
    alpha : float, default 0.05
    df : float, default inf
        Degrees of freedom of the t quantile (e.g. the smaller of the two
        design df); inf for normal quantiles.
    method : {'wald', 'mover'}, default 'wald'
        ``wald``: :math:`d \pm t\,se_d`.  ``mover``: Newcombe's
        method of variance estimates recovery, which builds the interval
        from the two estimates' own intervals (``ci`` and ``reference_ci``,
        required) and behaves well near 0 and 1.
    ci, reference_ci : (float, float), optional
        The two intervals, for ``method='mover'``.

    Returns
    -------
    Comparison

    Notes
    -----
    Independent samples (different periods are sampled independently), so

    .. math:: d = \hat p_1 - \hat p_0,\qquad se_d = \sqrt{se_1^2 + se_0^2}.

    MOVER (Newcombe 1998, Zou & Donner 2008), with :math:`(l_i, u_i)` the
    interval of :math:`\hat p_i`:

    .. math:: L = d - \sqrt{(\hat p_1 - l_1)^2 + (u_0 - \hat p_0)^2},\qquad
              U = d + \sqrt{(u_1 - \hat p_1)^2 + (\hat p_0 - l_0)^2}.

    With both SEs 0 the statistic is 0 and the p-value 1 when the estimates
    are equal, else :math:`\pm\infty` and 0.

    References
    ----------
    .. [1] Newcombe, R. G. (1998). Interval estimation for the difference
       between independent proportions. *Stat. Med.* 17, 873–890.
    .. [2] Zou, G. Y. and Donner, A. (2008). Construction of confidence
       limits about effect measures: a general approach. *Stat. Med.* 27,
       1693–1702. doi:10.1002/sim.3095
    """
    alpha = check_alpha(alpha)
    values = [float(v) for v in (estimate, se, reference_estimate, reference_se)]
    if not all(math.isfinite(v) for v in values):
        raise ValueError("estimates and standard errors must be finite numbers")
    p1, se1, p0, se0 = values
    if se1 < 0 or se0 < 0:
        raise ValueError("standard errors must be >= 0")
    if method not in COMPARE_METHODS:
        raise ValueError(f"unknown method {method!r}; choose one of {', '.join(COMPARE_METHODS)}")
    df = float(df)
    if not df > 0:
        raise ValueError(f"df must be > 0, got {df!r}")
    difference = p1 - p0
    if method == "wald":
        se_d = math.hypot(se1, se0)
        statistic = difference / se_d if se_d > 0 else 0.0 if difference == 0 else math.copysign(math.inf, difference)
        tail = special.ndtr(-abs(statistic)) if math.isinf(df) else special.stdtr(df, -abs(statistic))
        p_value = min(1.0, float(2 * tail))
        t = float(t_quantile(1 - alpha / 2, df))
        low, high = difference - t * se_d, difference + t * se_d
    else:
        if ci is None or reference_ci is None:
            raise ValueError("method 'mover' needs ci and reference_ci (the two estimates' intervals)")
        l1, u1 = (float(v) for v in ci)
        l0, u0 = (float(v) for v in reference_ci)
        if not (l1 <= p1 <= u1 and l0 <= p0 <= u0):
            raise ValueError("each interval must contain its estimate")
        low = difference - math.hypot(p1 - l1, u0 - p0)
        high = difference + math.hypot(u1 - p1, p0 - l0)
        se_d, statistic, p_value = _mover_test(difference, low, high, alpha)
    return Comparison(difference, se_d, low, high, statistic, p_value, method, alpha)


def _mover_test(difference, low, high, alpha):
    """SE, statistic and p-value implied by a MOVER interval (consistent with it).

    The half-width on the side facing 0 is read as z·se, so p < alpha exactly
    when the interval excludes 0.  An approximation (the MOVER interval is not
    a Wald interval); documented as such wherever the p-value is shown.
    """
    z = float(special.ndtri(1 - alpha / 2))
    half = (difference - low) if difference >= 0 else (high - difference)
    se_d = half / z
    statistic = difference / se_d if se_d > 0 else 0.0 if difference == 0 else math.copysign(math.inf, difference)
    return se_d, statistic, min(1.0, float(2 * special.ndtr(-abs(statistic))))


def compare_intervals(estimate, ci, reference_estimate, reference_ci, *, alpha=0.05):
    r"""Change between two independent estimates, from their published intervals (MOVER).

    What the web application calls a period's change: Newcombe's method
    (:func:`compare_independent` with ``method='mover'``) on the two
    published intervals, never a Wald interval on the linearised SEs, which
    are too small exactly where the published rows were selected (rates near
    0 or 1, uneven weights) and 0 for a rate of 0 % or 100 %.  The published
    interval (wilson-cc-kish: Wilson on the Kish-floored size, continuity-corrected on the side nearer
    0 or 1) is never of zero width, so
    neither is the change's.  ``result.clear`` is the verdict "clear rise /
    fall"; ``p_value`` is the approximate value consistent with it (see
    ``_mover_test``).

    Parameters
    ----------
    estimate : float
        This period's estimate; ``ci`` its published (low, high).
    reference_estimate : float
        The previous period's estimate; ``reference_ci`` its (low, high).
    alpha : float, default 0.05
        One minus the level of the two intervals (and of the change's).
    """
    return compare_independent(
        estimate, 0.0, reference_estimate, 0.0, alpha=alpha, method="mover", ci=ci, reference_ci=reference_ci
    )


class FunnelLimits(NamedTuple):
    """Result of :func:`funnel_limits` (arrays aligned with ``n_eff``).

    Attributes
    ----------
    reference : float
        The reference (province) rate.
    n_eff : ndarray
        Effective sample size of each unit.
    lower95, upper95, lower998, upper998 : ndarray
        Control limits (about 2 and 3 standard deviations).
    position : ndarray of str or None
        With ``estimate`` given: ``'above 99.8%'``, ``'above 95%'``,
        ``'within'``, ``'below 95%'`` or ``'below 99.8%'`` for each unit.
    """

    reference: float
    n_eff: np.ndarray
    lower95: np.ndarray
    upper95: np.ndarray
    lower998: np.ndarray
    upper998: np.ndarray
    position: np.ndarray | None


def _binomial_limit(probability, n, theta, upper):
    """Exact binomial limit, as a proportion, for a real-valued count (no interpolation).

    Lower limit: the count x with P(X <= x) = probability, P(X <= x) read as
    :math:`I_{1-\\theta}(n-x, x+1)` (continuous in x); upper limit: x with
    P(X >= x) = 1 - probability, :math:`I_\\theta(x, n-x+1)`.  An estimate beyond
    it has a tail probability under the reference below the nominal one, which
    is exactly "the reference lies outside the unit's exact (Clopper-Pearson)
    interval on its effective size".  Where even the most extreme count is
    not that unlikely (e.g. 100 % with a small n), the limit is 1 (or 0).
    """
    tail = (1.0 - probability) if upper else probability
    lo = np.zeros_like(n)
    hi = n.copy()

    def tail_at(x):
        with np.errstate(invalid="ignore", divide="ignore"):
            if upper:  # P(X >= x), decreasing in x
                return np.where(
                    x <= 0, 1.0, special.betainc(np.maximum(x, 1e-300), np.maximum(n - x + 1.0, 1e-300), theta)
                )
            return np.where(x >= n, 1.0, special.betainc(np.maximum(n - x, 1e-300), x + 1.0, 1.0 - theta))  # P(X <= x)

    for _ in range(80):  # bisection on the count; 80 halvings reach machine precision for n <= 1e9
        mid = (lo + hi) / 2.0
        beyond = tail_at(mid) < tail
        if upper:
            hi = np.where(beyond, mid, hi)
            lo = np.where(beyond, lo, mid)
        else:
            lo = np.where(beyond, mid, lo)
            hi = np.where(beyond, hi, mid)
    # Where even the most extreme count is not unlikely enough, nothing can be beyond the limit.
    x = np.where(tail_at(n) >= tail, n, hi) if upper else np.where(tail_at(np.zeros_like(n)) >= tail, 0.0, lo)
    return np.clip(x / n, 0.0, 1.0)


def funnel_limits(reference, n_eff, estimate=None, *, method="binomial"):
    r"""Funnel-plot control limits for units compared with a reference rate.

    Parameters
    ----------
    reference : float
        Reference proportion :math:`\theta_0` (e.g. the province estimate),
        strictly between 0 and 1.
    n_eff : array_like
        Each unit's Kish-floored effective size
        (:func:`analysis.intervals.kish_floored_size`), so the limits reflect
        the design and never trust a variance underestimated near 0 or 1.
    estimate : array_like, optional
        Units' estimates, to classify against the limits.
    method : {'binomial', 'normal'}, default 'binomial'
        ``binomial``: exact binomial limits on the effective size, with the
        count read as a real number (no rounding, no interpolation; see Notes).
        ``normal``: :math:`\theta_0 \pm z_p\sqrt{\theta_0(1-\theta_0)/n_{eff}}`,
        clipped to [0, 1].

    Returns
    -------
    FunnelLimits
        Limits at 95 % (:math:`p = 0.025, 0.975`) and 99.8 %
        (:math:`p = 0.001, 0.999`).

    Notes
    -----
    The binomial limits are the proportions :math:`x/n` at which the exact
    binomial tail under θ0, with the count x read as a real number,

    .. math:: P(X \le x) = I_{1-\theta_0}(n - x,\ x + 1),\qquad
              P(X \ge x) = I_{\theta_0}(x,\ n - x + 1),

    equals p (lower) or 1 − p (upper).  A unit is outside exactly when θ0 is
    outside its Clopper–Pearson interval on its effective size.  Spiegelhalter's
    interpolation (limit :math:`(r_p - \alpha)/n`, below :math:`r_p/n`) is not
    used: it flags an estimate of exactly :math:`r_p/n` — 100 % at high rates —
    far more often than p (up to 5 % of units "above 99.8 %" at a true 97 %).

    A unit outside the 99.8 % limits differs from the reference beyond what
    chance explains (about 3 SD); no ranking of units is implied.

    References
    ----------
    .. [1] Spiegelhalter, D. J. (2005). Funnel plots for comparing
       institutional performance. *Stat. Med.* 24, 1185–1202.
       doi:10.1002/sim.1970
    """
    theta = float(reference)
    if not 0.0 < theta < 1.0:
        raise ValueError(f"reference must be strictly between 0 and 1, got {reference!r}")
    sizes = as_float_array(n_eff, "n_eff")
    if np.any(sizes <= 0):
        raise ValueError("n_eff must be > 0 for every unit")
    if method == "binomial":
        # From 1e9 on the limits equal the reference to 4 decimals.
        n_real = np.clip(sizes, 1e-9, 1e9)
        limits = [_binomial_limit(p, n_real, theta, p > 0.5) for p in (0.025, 0.975, 0.001, 0.999)]
    elif method == "normal":
        sd = np.sqrt(theta * (1 - theta) / sizes)
        limits = [np.clip(theta + special.ndtri(p) * sd, 0.0, 1.0) for p in (0.025, 0.975, 0.001, 0.999)]
    else:
        raise ValueError(f"unknown method {method!r}; choose 'binomial' or 'normal'")
    lower95, upper95, lower998, upper998 = limits
    position = None
    if estimate is not None:
        values = as_float_array(estimate, "estimate", length=sizes.size)
        position = np.full(sizes.shape, "within", dtype=object)
        position[values < lower95] = "below 95%"
        position[values < lower998] = "below 99.8%"
        position[values > upper95] = "above 95%"
        position[values > upper998] = "above 99.8%"
    return FunnelLimits(theta, sizes, lower95, upper95, lower998, upper998, position)


class ShrunkEstimate(NamedTuple):
    """Result of :func:`shrink_beta_binomial` (arrays aligned with the units).

    Attributes
    ----------
    estimate : ndarray
        Posterior mean :math:`(x + a)/(n + a + b)`.
    ci_low, ci_high : ndarray
        Equal-tailed posterior interval.
    shrinkage : ndarray
        Weight on the prior mean, :math:`(a+b)/(n+a+b)`.
    prior_a, prior_b : float
        Fitted beta prior.
    label : str
        Always ``'shrunk estimate (empirical Bayes, beta-binomial)'``: such
        numbers must be shown as shrunk, never as the unit's survey estimate.
    """

    estimate: np.ndarray
    ci_low: np.ndarray
    ci_high: np.ndarray
    shrinkage: np.ndarray
    prior_a: float
    prior_b: float
    label: str


SHRINKAGE_LABEL = "shrunk estimate (empirical Bayes, beta-binomial)"


def shrink_beta_binomial(count, nobs, *, alpha=0.05, max_precision=None):
    r"""Empirical-Bayes (beta-binomial) shrinkage of small units towards the common rate.

    Parameters
    ----------
    count : array_like
        Satisfied responses of each unit; for weighted data pass the
        effective count :math:`\hat p\,n_{eff}`.
    nobs : array_like
        Responses of each unit (or :math:`n_{eff}`), > 0.
    alpha : float, default 0.05
        For the posterior intervals.
    max_precision : float, optional
        Upper bound on the prior precision a + b, reached when units vary no
        more than binomial noise (complete pooling).  Default: the total of
        ``nobs`` -- the prior may not carry more information than all the
        data together.

    Returns
    -------
    ShrunkEstimate

    Notes
    -----
    The prior :math:`\text{Beta}(a, b)` maximises the beta-binomial marginal
    likelihood

    .. math:: \sum_i \log B(x_i + a,\ n_i - x_i + b) - \log B(a, b)

    (real-valued counts allowed); each unit's posterior is
    :math:`\text{Beta}(x_i + a,\ n_i - x_i + b)`.  Small units are pulled
    most.  Needs at least two units.

    References
    ----------
    .. [1] Efron, B. and Morris, C. (1975). Data analysis using Stein's
       estimator and its generalizations. *JASA* 70, 311–319.
    .. [2] Kleinman, J. C. (1973). Proportions with extraneous variance:
       single and independent samples. *JASA* 68, 46–54.
    """
    alpha = check_alpha(alpha)
    n = as_float_array(nobs, "nobs")
    x = as_float_array(count, "count", length=n.size)
    if n.size < 2:
        raise ValueError("shrinkage needs at least two units")
    if np.any(n <= 0):
        raise ValueError("nobs must be > 0 for every unit")
    if np.any((x < 0) | (x > n)):
        raise ValueError("count must lie between 0 and nobs")
    mean = float(x.sum() / n.sum())
    if max_precision is None:
        max_precision = float(n.sum())
    if not max_precision > 1e-3:
        raise ValueError(f"max_precision must be > 0.001, got {max_precision!r}")
    if mean <= 0.0 or mean >= 1.0:
        # Every answer the same: nothing to estimate between units.
        a = mean * max_precision
        b = (1 - mean) * max_precision
        a, b = max(a, 1e-12), max(b, 1e-12)
    else:
        from scipy import optimize  # start-up: slow to import, needed by few comparisons

        def negative_log_likelihood(params):
            log_precision, logit_mean = params
            precision = math.exp(log_precision)
            m = special.expit(logit_mean)
            a_, b_ = m * precision, (1 - m) * precision
            return -float(np.sum(special.betaln(x + a_, n - x + b_) - special.betaln(a_, b_)))

        start = [math.log(min(max(float(np.mean(n)), 2.0), max_precision)), math.log(mean / (1 - mean))]
        bounds = [(math.log(1e-3), math.log(max_precision)), (-30.0, 30.0)]
        fit = optimize.minimize(negative_log_likelihood, start, method="L-BFGS-B", bounds=bounds)
        precision = math.exp(fit.x[0])
        m = float(special.expit(fit.x[1]))
        a, b = m * precision, (1 - m) * precision
    post_a = x + a
    post_b = n - x + b
    estimate = post_a / (post_a + post_b)
    low = special.betaincinv(post_a, post_b, alpha / 2)
    high = special.betaincinv(post_a, post_b, 1 - alpha / 2)
    shrinkage = (a + b) / (n + a + b)
    return ShrunkEstimate(estimate, low, high, shrinkage, float(a), float(b), SHRINKAGE_LABEL)
