r"""Confidence intervals for a proportion estimated from a complex survey.

The methods follow R's ``survey::svyciprop`` (Lumley 2010, ch. 2.4): each
turns a design-based estimate :math:`\hat p` and its linearised variance
:math:`v` into an interval, using the design degrees of freedom ``df``.
The published default is :data:`DEFAULT_CI_METHOD` (see :func:`proportion_ci`);
:func:`kish_floored_size` is the one effective size every interval, status and
comparison uses.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from ._checks import check_alpha
from ._defaults import CI_METHODS, DEFAULT_CI_METHOD

NOTE_BOUNDARY = "estimate is 0 or 1: exact (Clopper-Pearson type) bound from the Kish effective size"
NOTE_ZERO_VARIANCE = "zero estimated variance: Korn-Graubard interval from the Kish effective size"
NOTE_NORMAL_LIMIT = "variance zero up to rounding: normal limit of the Korn-Graubard interval"
NOTE_SMALL_DF = "fewer than 1 design degree of freedom: interval uses df = 1"


class ConfidenceInterval(NamedTuple):
    """Result of :func:`proportion_ci`.

    Attributes
    ----------
    low, high : float or ndarray
        The interval bounds.
    method : str
        The method that produced them.
    alpha : float
        One minus the confidence level.
    df : float or ndarray
        Degrees of freedom used (``inf`` for normal quantiles).
    note : str, ndarray of object, or None
        Why a row needed the documented fallback (estimate 0 or 1, zero
        variance, df < 1), else None.
    """

    low: object
    high: object
    method: str
    alpha: float
    df: object
    note: object


def check_method(method) -> str:
    """Return a valid interval method name or raise ValueError."""
    if method is None:
        return DEFAULT_CI_METHOD
    if method == "logit":
        raise ValueError(
            "method 'logit' is R's svyglm version of 'xlogit', which loses precision at small df; "
            "use method='xlogit' (the same interval computed directly)"
        )
    if method not in CI_METHODS:
        raise ValueError(f"unknown interval method {method!r}; choose one of {', '.join(CI_METHODS)}")
    return method


def kish_floored_size(estimate, variance, n_kish):
    r"""The effective sample size every interval, status and comparison uses.

    :math:`n^*_{eff} = \min\big(\hat p(1-\hat p)/v,\ n_{Kish}\big)`, and
    :math:`n_{Kish}` where :math:`\hat p(1-\hat p)/v` is undefined (estimate 0
    or 1, zero variance) — one definition, continuous in the data: the raw
    size is taken as infinite there, so the minimum is Kish's.  The raw size is
    too large exactly where the linearised variance is underestimated (rates
    near 100 %, failures only in light cells); the floor never lets the design
    look more informative than a simple random sample of :math:`n_{Kish}`.
    Scalars in, float out; arrays in, array out.
    """
    p = np.asarray(estimate, dtype=float)
    v = np.asarray(variance, dtype=float)
    kish = np.asarray(n_kish, dtype=float)
    pq = p * (1.0 - p)
    with np.errstate(divide="ignore", invalid="ignore"):
        raw = np.where((v > 0) & (pq > 0), pq / np.where(v > 0, v, 1.0), np.inf)
    size = np.minimum(raw, kish)
    return float(size) if size.ndim == 0 else size


def t_quantile(q, df):
    """Student t quantile that accepts ``df = inf`` (normal quantile)."""
    df = np.asarray(df, dtype=float)
    q = np.asarray(q, dtype=float)
    finite = np.isfinite(df)
    safe_df = np.where(finite, df, 1.0)
    return np.where(finite, special.stdtrit(safe_df, q), special.ndtri(q))


def _kg_bounds(p, n_star, alpha):
    """Korn–Graubard / Clopper–Pearson bounds for effective size ``n_star``."""
    with np.errstate(invalid="ignore", divide="ignore"):
        a_low = n_star * p
        b_low = n_star * (1.0 - p) + 1.0
        a_high = n_star * p + 1.0
        b_high = n_star * (1.0 - p)
        low = np.where(p <= 0.0, 0.0, special.betaincinv(np.where(a_low > 0, a_low, 1.0), b_low, alpha / 2.0))
        high = np.where(p >= 1.0, 1.0, special.betaincinv(a_high, np.where(b_high > 0, b_high, 1.0), 1.0 - alpha / 2.0))
        # For astronomically large effective sizes (a variance that is zero
        # up to rounding) the beta quantile routine fails (R returns NaN);
        # use the normal limit of the beta distribution instead.
        failed = ~(np.isfinite(low) & np.isfinite(high))
        if np.any(failed):
            z = special.ndtri(1.0 - alpha / 2.0)
            half = z * np.sqrt(p * (1.0 - p) / np.where(n_star > 0, n_star, 1.0))
            low = np.where(failed, np.clip(p - half, 0.0, 1.0), low)
            high = np.where(failed, np.clip(p + half, 0.0, 1.0), high)
    return low, high, failed


def _wilson_bounds(p, n_eff, z, shift=0.0):
    r"""Wilson score bounds for effective size ``n_eff``, optionally continuity-corrected.

    Solves :math:`(\hat p - \pi)^2 = z^2\pi(1-\pi)/n` with :math:`\hat p` moved by
    ``shift`` (:math:`-1/(2n)` for the lower bound, :math:`+1/(2n)` for the upper with
    Yates' correction, as R's ``prop.test(correct = TRUE)``); a moved estimate at or beyond
    0 or 1 gives that bound exactly.
    """
    z2 = z**2
    a = np.clip(p + shift, 0.0, 1.0)
    centre = (a + z2 / (2.0 * n_eff)) / (1.0 + z2 / n_eff)
    half = z / (1.0 + z2 / n_eff) * np.sqrt(a * (1.0 - a) / n_eff + z2 / (4.0 * n_eff**2))
    return centre - half, centre + half


def _wilson_cc_kish(p, n_eff, z):
    r"""``wilson-cc-kish``: Wilson on ``n_eff``, Yates-corrected on the side of the nearer edge.

    For :math:`\hat p > 1/2` the upper bound is the continuity-corrected one (the lower
    bound stays Wilson's), for :math:`\hat p < 1/2` the lower bound; the correction is
    R's :math:`\min(1/2, |x - n/2|)` responses, so the interval is continuous at 1/2
    (plain Wilson there); see :func:`proportion_ci`.
    """
    # R's prop.test: the correction is min(1/2, |x - n/2|) responses, so it fades out at 1/2.
    shift = np.minimum(0.5, n_eff * np.abs(p - 0.5)) / n_eff
    low, high = _wilson_bounds(p, n_eff, z)
    cc_low, _ = _wilson_bounds(p, n_eff, z, -shift)
    _, cc_high = _wilson_bounds(p, n_eff, z, shift)
    low = np.where(p < 0.5, np.where(p - shift <= 0.0, 0.0, cc_low), low)
    high = np.where(p > 0.5, np.where(p + shift >= 1.0, 1.0, cc_high), high)
    return low, high


def interval_arrays(method, estimate, variance, df, n, n_kish, alpha):
    """Vectorised interval computation behind :func:`proportion_ci`.

    All array arguments broadcast together.  Returns ``(low, high, note)``
    where ``note`` is an object array holding None or a fallback note.
    """
    method = check_method(method)
    alpha = check_alpha(alpha)
    p, v, df, n, n_kish = np.broadcast_arrays(
        np.asarray(estimate, dtype=float),
        np.asarray(variance, dtype=float),
        np.asarray(df, dtype=float),
        np.asarray(n, dtype=float),
        np.asarray(n_kish, dtype=float),
    )
    p = np.atleast_1d(p).astype(float)
    v = np.atleast_1d(v).astype(float)
    df = np.atleast_1d(df).astype(float)
    n = np.atleast_1d(n).astype(float)
    n_kish = np.atleast_1d(n_kish).astype(float)

    note = np.full(p.shape, None, dtype=object)
    small_df = df < 1.0
    df_used = np.where(small_df, 1.0, df)
    note[small_df] = NOTE_SMALL_DF

    boundary = (p <= 0.0) | (p >= 1.0)
    zero_var = (v <= 0.0) & ~boundary
    degenerate = boundary | zero_var
    note[zero_var] = NOTE_ZERO_VARIANCE
    note[boundary] = NOTE_BOUNDARY

    low = np.empty(p.shape)
    high = np.empty(p.shape)
    ok = ~degenerate
    # Korn & Graubard's df correction of the effective size: (t_{n-1} / t_df)^2.
    t_n = t_quantile(alpha / 2.0, np.maximum(n - 1.0, 1.0))
    t_df = t_quantile(alpha / 2.0, df_used)
    df_ratio = (t_n / t_df) ** 2

    if np.any(degenerate):
        n_star = np.maximum(n_kish, 1e-300) * df_ratio
        fallback_low, fallback_high, _ = _kg_bounds(p, n_star, alpha)
        low[degenerate] = fallback_low[degenerate]
        high[degenerate] = fallback_high[degenerate]
    if not np.any(ok):
        return low, high, note

    pk = p[ok]
    vk = v[ok]
    se = np.sqrt(vk)
    t_upper = t_quantile(1.0 - alpha / 2.0, df_used[ok])
    if method in ("beta", "beta-kish"):
        n_eff = kish_floored_size(pk, vk, n_kish[ok]) if method == "beta-kish" else pk * (1.0 - pk) / vk
        n_eff = n_eff * df_ratio[ok]
        lo, hi, failed = _kg_bounds(pk, n_eff, alpha)
        if np.any(failed):
            ok_index = np.flatnonzero(ok)
            note[ok_index[failed]] = NOTE_NORMAL_LIMIT
    elif method == "mean":
        lo = pk - t_upper * se
        hi = pk + t_upper * se
    elif method == "xlogit":
        eta = np.log(pk / (1.0 - pk))
        se_eta = se / (pk * (1.0 - pk))
        lo = special.expit(eta - t_upper * se_eta)
        hi = special.expit(eta + t_upper * se_eta)
    elif method == "asin":
        theta = np.arcsin(np.sqrt(pk))
        se_theta = se / (2.0 * np.sqrt(pk * (1.0 - pk)))
        lo = np.sin(theta - t_upper * se_theta) ** 2
        hi = np.sin(theta + t_upper * se_theta) ** 2
    elif method == "wilson-cc-kish":
        lo, hi = _wilson_cc_kish(pk, kish_floored_size(pk, vk, n_kish[ok]), t_upper)
    else:  # wilson, wilson-kish
        n_eff = kish_floored_size(pk, vk, n_kish[ok]) if method == "wilson-kish" else pk * (1.0 - pk) / vk
        lo, hi = _wilson_bounds(pk, n_eff, t_upper)
    low[ok] = lo
    high[ok] = hi
    return low, high, note


def proportion_ci(estimate, variance, df=math.inf, method=DEFAULT_CI_METHOD, alpha=0.05, *, n=None, n_kish=None):
    r"""Confidence interval for a proportion from a survey estimate and its variance.

    Parameters
    ----------
    estimate : float or array_like
        The estimated proportion :math:`\hat p` (Hajek estimator).
    variance : float or array_like
        Its linearised (design-based) variance :math:`v`.
    df : float or array_like, default inf
        Design degrees of freedom (number of PSUs minus number of strata);
        ``inf`` gives normal quantiles.  Values below 1 are replaced by 1.
    method : {'wilson-cc-kish', 'wilson-kish', 'beta-kish', 'beta', 'xlogit', 'wilson', 'mean', 'asin'}
        Interval method; see Notes.  An unknown name raises ValueError.
    alpha : float, default 0.05
        One minus the confidence level.
    n : int or array_like, optional
        Number of responses; needed by the Korn–Graubard methods (their df
        correction uses :math:`t_{n-1}`) and by the fallbacks.
    n_kish : float or array_like, optional
        Kish effective sample size :math:`(\sum w)^2 / \sum w^2` of the
        responses behind the estimate.  Defaults to ``n`` (equal weights).

    Returns
    -------
    ConfidenceInterval
        ``low``, ``high`` (floats for scalar input, arrays otherwise),
        ``method``, ``alpha``, ``df`` and ``note``.

    Notes
    -----
    With :math:`t = t_{1-\alpha/2,\,df}` and the effective sample size
    :math:`n_{eff} = \hat p(1-\hat p)/v`:

    ``mean`` (Wald, R's ``"mean"``): :math:`\hat p \pm t\sqrt v` (not clipped to [0, 1], as in R).

    ``xlogit``: the Wald interval on the logit scale,
    :math:`\operatorname{expit}\big(\operatorname{logit}\hat p \pm t\sqrt v/(\hat p(1-\hat p))\big)`;
    R's ``"logit"`` is the same interval obtained through ``svyglm``.

    ``asin``: :math:`\sin^2\big(\arcsin\sqrt{\hat p} \pm t\sqrt v/(2\sqrt{\hat p(1-\hat p)})\big)`.

    ``wilson``: the Wilson score interval with :math:`n_{eff}` in place of n,

    .. math::
        \frac{\hat p + t^2/(2n_{eff})}{1 + t^2/n_{eff}} \pm
        \frac{t}{1 + t^2/n_{eff}}\sqrt{\frac{\hat p(1-\hat p)}{n_{eff}} + \frac{t^2}{4n_{eff}^2}}.

    ``beta`` (Korn & Graubard 1998, R's ``"beta"``): Clopper–Pearson bounds
    with the effective size corrected for the design degrees of freedom,

    .. math::
        n^* = n_{eff}\left(\frac{t_{\alpha/2,\,n-1}}{t_{\alpha/2,\,df}}\right)^2,\quad
        \text{low} = B^{-1}_{\alpha/2}(n^*\hat p,\; n^*(1-\hat p)+1),\quad
        \text{high} = B^{-1}_{1-\alpha/2}(n^*\hat p+1,\; n^*(1-\hat p)).

    R's ``svyciprop(method="beta")`` always uses ``degf(design)``; here
    ``df`` is honoured, so ``df=inf`` puts the normal quantile in the
    denominator.

    ``wilson-kish``: the
    ``wilson`` interval with the design effect floored at Kish's design
    effect of the weights, i.e. :math:`n_{eff}` replaced by
    :math:`n^*_{eff} = \min(\hat p(1-\hat p)/v,\ n_{Kish})`.  Near 100 %
    satisfaction the linearised variance is often far too small (most
    weighting cells show no dissatisfied answer at all, and the few that do
    may carry small weights), so every interval built on :math:`v` alone —
    R's ``beta`` included — is too short: about 88 % coverage in our
    simulation at 97.5 %.  The floor cannot make the interval shorter than
    that of a simple random sample of :math:`n_{Kish}` responses, which
    restores coverage.  Korn & Graubard (1998) proposed truncating the
    estimated design effect from below for the same reason, and Dean &
    Pagano (2015) compare score (Wilson), Clopper–Pearson and logit intervals
    built on such design-effect-adjusted sizes in clustered surveys.  Our
    coverage simulation (``tests/analysis/test_simulation.py``,
    ``bench/README.md``: stratified samples, 30 weighting cells of 2–20
    responses, weights from 20 to 1000) gives about 96 % at 85 % and 96–97 %
    at 97.5 % satisfaction.  Its misses are lopsided, though: the true rate
    lies above the upper bound in 2.9–3.6 % of samples at 80–97 % (below the
    lower bound in 0.1–1.6 %), so "below target" would be said falsely more
    often than the 2.5 % a 95 % interval promises.  Two things add up: the
    Wilson interval is pulled towards 1/2 (Brown, Cai & DasGupta 2001), and a
    weighted estimate dominated by a few heavy cells is more skewed than a
    binomial proportion of the same effective size.

    ``wilson-cc-kish`` (the published default, :data:`DEFAULT_CI_METHOD`):
    ``wilson-kish`` with Yates' continuity correction (half a response,
    :math:`\pm 1/(2n^*_{eff})` on :math:`\hat p`) on the bound nearer the edge:
    for :math:`\hat p > 1/2` the upper bound is the continuity-corrected
    one and the lower bound is ``wilson-kish``'s; for :math:`\hat p < 1/2`
    the other way round.  As in R's ``prop.test``, the correction is
    :math:`\min(1/2,\ n|\hat p - 1/2|)` responses, so it fades out at
    :math:`\hat p = 1/2` and the interval is continuous there.  With
    :math:`n = n^*_{eff}`, :math:`t = t_{1-\alpha/2,\,df}` and
    :math:`\hat p \ge 1/2 + 1/(2n)`,

    .. math::
        \text{high} = \frac{2n\hat p + t^2 + 1 + t\sqrt{t^2 + 2 - 1/n + 4\hat p(n(1-\hat p) - 1)}}{2(n + t^2)}

    (1 if :math:`\hat p + 1/(2n) \ge 1`), Newcombe's (1998) method 4.  With
    equal weights and ``df = inf`` the corrected bound is R's
    ``prop.test(x, n, correct = TRUE)$conf.int`` and the other one
    ``prop.test(x, n, correct = FALSE)$conf.int`` (checked in
    ``tests/analysis/test_comparisons_error_rates.py`` against
    :func:`analysis.binomial.wilson_score`, itself checked against R); R's
    ``survey`` package has no such method.  Why one side only: the lower
    tail of ``wilson-kish`` is already within 2.5 % at high rates, and
    correcting it too (the symmetric ``prop.test`` interval) only makes
    "met" harder to reach.  In the comparison simulation (units of 2–6
    weighting cells, 30–200 responses, weights N/n from 1 to 2,000, true
    rates 80–97 %, 8 seeds) each tail's error is at most 2.1 % on average
    (2.4 % in the worst seed), coverage 96–98 %; in the coverage simulation
    above about 96–97 % at 85 % and 98.4 % at 97.5 %.  Alternatives measured
    there: Wilson with a t quantile on min(df, :math:`n_{Kish}` − 1) changes
    almost nothing (false "below" 2.8–3.4 %); the symmetric continuity
    correction and ``beta-kish`` meet both tails but are wider (coverage up
    to 98–99 %).

    ``beta-kish`` (not the default): as ``beta`` with the same floor,
    :math:`n_{eff}` replaced by :func:`kish_floored_size` before the df
    correction; more conservative (about 97 % at 85 %, 98–99 % at 97.5 %).

    Edge cases (R returns NaN for all of them; we return a defined interval
    and a ``note``):

    * :math:`\hat p = 0` or 1 (all answers equal): every method returns the
      exact one-sided bound with the Kish effective size (df-corrected as in
      ``beta``): :math:`[0,\ 1-(\alpha/2)^{1/n^*}]` at 0 and
      :math:`[(\alpha/2)^{1/n^*},\ 1]` at 1 (Clopper–Pearson at ``x = 0`` or
      ``x = n`` when weights are equal).
    * zero variance with :math:`0 < \hat p < 1` (e.g. the outcome itself was
      a raking margin): the Korn–Graubard interval with :math:`n_{Kish}`.
    * ``df < 1`` (e.g. a domain with one response per stratum): df = 1.

    References
    ----------
    .. [1] Korn, E. L. and Graubard, B. I. (1998). Confidence intervals for
       proportions with small expected number of positive counts estimated
       from survey data. *Survey Methodology* 24(2), 193–201.
    .. [2] Dean, N. and Pagano, M. (2015). Evaluating confidence interval
       methods for binomial proportions in clustered surveys. *Journal of
       Survey Statistics and Methodology* 3(4), 484–503.
       doi:10.1093/jssam/smv024
    .. [3] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*.
       Wiley; and the ``survey`` package documentation, ``?svyciprop``.
    .. [4] Kish, L. (1965). *Survey Sampling*. Wiley.
    .. [5] Wilson, E. B. (1927). Probable inference, the law of succession,
       and statistical inference. *JASA* 22, 209–212. doi:10.2307/2276774
    .. [6] Newcombe, R. G. (1998). Two-sided confidence intervals for the
       single proportion: comparison of seven methods. *Statistics in
       Medicine* 17, 857–872.
    .. [7] Brown, L. D., Cai, T. T. and DasGupta, A. (2001). Interval
       estimation for a binomial proportion. *Statistical Science* 16(2),
       101–133.

    Examples
    --------
    >>> ci = proportion_ci(0.8279, 0.000613, df=197, method="beta", n=200)
    >>> round(ci.low, 4), round(ci.high, 4)
    (0.7731, 0.8741)
    """
    method = check_method(method)
    scalar = np.ndim(estimate) == 0 and np.ndim(variance) == 0
    p = np.asarray(estimate, dtype=float)
    v = np.asarray(variance, dtype=float)
    if not np.all(np.isfinite(p)) or np.any((p < 0) | (p > 1)):
        raise ValueError("estimate must be a proportion in [0, 1]")
    if not np.all(np.isfinite(v)) or np.any(v < 0):
        raise ValueError("variance must be a finite number >= 0")
    df_array = np.asarray(df, dtype=float)
    if np.any(np.isnan(df_array)) or np.any(df_array < 0):
        raise ValueError("df must be >= 0 (use inf for normal quantiles); df < 1 is treated as 1")
    needs_n = method in ("beta", "beta-kish") or np.any((p <= 0) | (p >= 1) | (v <= 0))
    if n is None:
        if needs_n:
            raise ValueError(f"method {method!r} (and any estimate of 0 or 1) needs n, the number of responses")
        n = 1.0
    n_array = np.asarray(n, dtype=float)
    if np.any(~np.isfinite(n_array)) or np.any(n_array < 1):
        raise ValueError("n must be a count >= 1")
    if n_kish is None:
        n_kish = n_array
    n_kish_array = np.asarray(n_kish, dtype=float)
    if np.any(~np.isfinite(n_kish_array)) or np.any(n_kish_array <= 0):
        raise ValueError("n_kish must be > 0")
    low, high, note = interval_arrays(method, p, v, df_array, n_array, n_kish_array, alpha)
    df_used = np.where(df_array < 1, 1.0, df_array)
    if scalar:
        return ConfidenceInterval(float(low[0]), float(high[0]), method, float(alpha), float(df_used), note[0])
    return ConfidenceInterval(low, high, method, float(alpha), df_used, note)
