r"""Ratio of two weighted totals from per-(stratum, domain) sums: the Ministry of Health's
item-level satisfaction rate ("tỷ lệ hài lòng chung").

Each respondent i answers :math:`x_i` rated items and is satisfied with :math:`y_i \le x_i`
of them; the rate is :math:`\hat R = \sum w_i y_i / \sum w_i x_i`. Its linearised variance
in a stratified design with one response per PSU (Lumley 2010, §2.4; R's ``svyratio``) uses
:math:`z_i = (y_i - \hat R x_i)/\hat X`:

.. math:: v = \sum_h \frac{n_h}{n_h-1}\Big(\sum_{i\in h} w_i^2 z_i^2 - \frac{(\sum_{i\in h} w_i z_i)^2}{n_h}\Big),

which needs, per stratum and domain, :math:`n, \sum wx, \sum wy, \sum w^2x^2, \sum w^2xy,
\sum w^2y^2` — so SQL can do the aggregation. Domains are domains of the whole design
(out-of-domain responses contribute zeros; :math:`n_h` counts every response of the stratum).
A stratum with a single response contributes its squared deviation from the mean of the
whole sample's :math:`w z` per response (R's ``survey.lonely.psu = "adjust"``).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_float_array, check_alpha
from .intervals import proportion_ci


class RatioRow(NamedTuple):
    domain: object
    n: int
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    n_kish: float


def ratio_from_sums(stratum, domain, n, swx, swy, sw2x2, sw2xy, sw2y2, sw, sw2, *, alpha=0.05, ci_method="xlogit"):
    r"""Ratio estimates :math:`\sum wy/\sum wx` with linearised SEs and intervals, per domain.

    Parameters
    ----------
    stratum, domain : array_like
        Stratum id and domain id of each row (rows are per (stratum, domain)).
    n : array_like
        Responses in the row (>= 1).
    swx, swy, sw2x2, sw2xy, sw2y2 : array_like
        :math:`\sum wx, \sum wy, \sum w^2x^2, \sum w^2xy, \sum w^2y^2` over the row's responses.
    sw, sw2 : array_like
        :math:`\sum w` and :math:`\sum w^2`, for the Kish effective size used by the interval.
    alpha : float
        One minus the confidence level.
    ci_method : str
        Interval from :func:`analysis.proportion_ci` applied to :math:`(\hat R, v)` with
        ``df = inf``; ``xlogit`` by default (a ratio of item counts has no respondent-level
        binomial size, so the Kish-floored methods are not used).

    Returns
    -------
    tuple
        ``(overall, rows)``: a :class:`RatioRow` for all rows, and one per domain (sorted).
        A domain with :math:`\sum wx = 0` has ``estimate`` None.
    """
    check_alpha(alpha)
    n = as_float_array(n, "n")
    K = n.size
    arrays = {name: as_float_array(v, name, length=K) for name, v in
              (("swx", swx), ("swy", swy), ("sw2x2", sw2x2), ("sw2xy", sw2xy), ("sw2y2", sw2y2), ("sw", sw), ("sw2", sw2))}
    if np.any(n < 1):
        raise ValueError("n must be >= 1 in every row")
    strata_labels, s_index = np.unique(np.asarray(stratum), return_inverse=True)
    domain_labels, d_index = np.unique(np.asarray(domain), return_inverse=True)
    H = strata_labels.size
    n_h = np.bincount(s_index, weights=n, minlength=H)

    def one(mask) -> tuple[float | None, float | None, float, float]:
        X = arrays["swx"][mask].sum()
        if X <= 0:
            return None, None, float(n[mask].sum()), 0.0
        Y = arrays["swy"][mask].sum()
        R = Y / X
        s1 = np.zeros(H)
        s2 = np.zeros(H)
        np.add.at(s1, s_index[mask], (arrays["swy"][mask] - R * arrays["swx"][mask]) / X)
        np.add.at(s2, s_index[mask], (arrays["sw2y2"][mask] - 2 * R * arrays["sw2xy"][mask] + R * R * arrays["sw2x2"][mask]) / X**2)
        single = n_h == 1
        with np.errstate(divide="ignore", invalid="ignore"):
            contribution = np.where(single, 0.0, n_h / (n_h - 1) * (s2 - s1**2 / n_h))
        if np.any(single):
            # R's "adjust": a lonely PSU is centred at the mean over all PSUs.
            grand = s1.sum() / n_h.sum()
            contribution = np.where(single, (s1 - grand) ** 2, contribution)
        variance = float(max(contribution.sum(), 0.0))
        kish = float(arrays["sw"][mask].sum() ** 2 / arrays["sw2"][mask].sum())
        return float(R), variance, float(n[mask].sum()), kish

    def row(label, mask) -> RatioRow:
        estimate, variance, count, kish = one(mask)
        if estimate is None:
            return RatioRow(label, int(count), None, None, None, None, ci_method, kish)
        interval = proportion_ci(estimate, variance, df=np.inf, method=ci_method, alpha=alpha, n=count, n_kish=kish)
        return RatioRow(label, int(count), estimate, float(np.sqrt(variance)), float(interval.low), float(interval.high),
                        ci_method, kish)

    overall = row(None, np.ones(K, dtype=bool))
    rows = [row(label, d_index == j) for j, label in enumerate(domain_labels)]
    return overall, rows
