r"""Classical (simple random sampling, unweighted) binomial procedures.

These are R's ``binom.test`` and ``prop.test`` for a count ``count`` out of
``nobs``: kept for analysts who want the textbook answer beside the
design-based one, and as the limit the survey methods must reproduce with
equal weights and one stratum.
"""

from __future__ import annotations

import math
from typing import NamedTuple

from scipy import special

from ._checks import check_alpha


class BinomialInterval(NamedTuple):
    """Interval bounds and the method that produced them."""

    low: float
    high: float
    method: str


def _check_counts(count, nobs):
    if isinstance(count, bool) or isinstance(nobs, bool):
        raise ValueError("count and nobs must be whole numbers")
    try:
        count_value = float(count)
        nobs_value = float(nobs)
    except (TypeError, ValueError):
        raise ValueError("count and nobs must be whole numbers") from None
    if not (count_value.is_integer() and nobs_value.is_integer()):
        raise ValueError(f"count and nobs must be whole numbers, got {count!r} and {nobs!r}")
    if nobs_value < 1:
        raise ValueError(f"nobs must be >= 1, got {nobs!r}")
    if not 0 <= count_value <= nobs_value:
        raise ValueError(f"count must be between 0 and nobs, got {count!r} of {nobs!r}")
    return int(count_value), int(nobs_value)


def clopper_pearson(count, nobs, alpha=0.05):
    r"""Exact (Clopper–Pearson) interval, as R's ``binom.test``.

    .. math:: \Big[B^{-1}_{\alpha/2}(x, n-x+1),\ B^{-1}_{1-\alpha/2}(x+1, n-x)\Big]

    with the lower bound 0 at x = 0 and the upper bound 1 at x = n.

    References
    ----------
    .. [1] Clopper, C. J. and Pearson, E. S. (1934). The use of confidence or
       fiducial limits illustrated in the case of the binomial. *Biometrika*
       26, 404–413. doi:10.1093/biomet/26.4.404
    """
    x, n = _check_counts(count, nobs)
    alpha = check_alpha(alpha)
    low = 0.0 if x == 0 else float(special.betaincinv(x, n - x + 1, alpha / 2))
    high = 1.0 if x == n else float(special.betaincinv(x + 1, n - x, 1 - alpha / 2))
    return BinomialInterval(low, high, "clopper-pearson")


def wilson_score(count, nobs, alpha=0.05, correct=False, value=0.5):
    r"""Wilson score interval, as R's ``prop.test(..., correct=FALSE)``.

    With :math:`z = \Phi^{-1}(1-\alpha/2)`, :math:`c = \min(0.5, |x - n p_0|)`
    when ``correct`` (else 0) and :math:`\hat p_\pm = \hat p \pm c/n`:

    .. math:: \frac{\hat p_\pm + \frac{z^2}{2n} \pm z\sqrt{\hat p_\pm(1-\hat p_\pm)/n + z^2/(4n^2)}}{1 + z^2/n}

    References
    ----------
    .. [1] Wilson, E. B. (1927). Probable inference, the law of succession,
       and statistical inference. *JASA* 22, 209–212. doi:10.2307/2276774
    .. [2] Newcombe, R. G. (1998). Two-sided confidence intervals for the
       single proportion. *Stat. Med.* 17, 857–872.
    """
    x, n = _check_counts(count, nobs)
    alpha = check_alpha(alpha)
    estimate = x / n
    z = float(special.ndtri(1 - alpha / 2))
    yates = min(0.5, abs(x - n * value)) if correct else 0.0
    z22n = z * z / (2 * n)
    centre_high = estimate + yates / n
    if centre_high >= 1:
        high = 1.0
    else:
        high = (centre_high + z22n + z * math.sqrt(centre_high * (1 - centre_high) / n + z22n / (2 * n))) / (
            1 + 2 * z22n
        )
    centre_low = estimate - yates / n
    if centre_low <= 0:
        low = 0.0
    else:
        low = (centre_low + z22n - z * math.sqrt(centre_low * (1 - centre_low) / n + z22n / (2 * n))) / (1 + 2 * z22n)
    return BinomialInterval(low, high, "wilson-cc" if correct else "wilson")


class BinomialTest(NamedTuple):
    """One-sided p-values of :func:`binomial_test`."""

    p_below: float
    p_above: float
    method: str


def binomial_test(count, nobs, value=0.8, method="exact", correct=False):
    r"""One-sided tests of a proportion against ``value`` (R's ``binom.test`` / ``prop.test``).

    Parameters
    ----------
    count, nobs : int
    value : float, default 0.8
        The target :math:`p_0`.
    method : {'exact', 'score'}
        ``exact``: :math:`P(X \le x)` and :math:`P(X \ge x)` under
        Binomial(n, p_0).  ``score``: R's ``prop.test`` statistic
        :math:`z = \operatorname{sign}(\hat p - p_0)\sqrt{X^2}` with the
        continuity-corrected :math:`X^2`.

    Returns
    -------
    BinomialTest
        ``p_below`` for H1: p < p_0 and ``p_above`` for H1: p > p_0.
    """
    x, n = _check_counts(count, nobs)
    if not 0 < value < 1:
        raise ValueError(f"value must be in (0, 1), got {value!r}")
    if method == "exact":
        p_below = float(special.bdtr(x, n, value))
        p_above = 1.0 if x == 0 else float(special.bdtrc(x - 1, n, value))
        return BinomialTest(p_below, p_above, method)
    if method == "score":
        yates = min(0.5, abs(x - n * value)) if correct else 0.0
        expected = (n * value, n * (1 - value))
        observed = (x, n - x)
        statistic = sum((abs(o - e) - yates) ** 2 / e for o, e in zip(observed, expected, strict=False))
        z = math.copysign(math.sqrt(statistic), x / n - value) if x / n != value else 0.0
        return BinomialTest(float(special.ndtr(z)), float(special.ndtr(-z)), method)
    raise ValueError(f"unknown method {method!r}; choose 'exact' or 'score'")
