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

The interval is the one every other published rate uses (:data:`analysis.intervals.DEFAULT_CI_METHOD`, ``wilson-cc-kish``:
Wilson on the effective size floored at Kish's, continuity-corrected on the bound nearer 0 or 1) with the domain's design degrees of freedom
(responses minus strata). The Kish size of a ratio of item answers is that of the item answers,
:math:`(\sum w x)^2/\sum w^2x` (each rated item an observation carrying its respondent's
weight): the ratio is a proportion of items, so its effective size counts items. (The
respondents' Kish size would cap it at the number of respondents and make the interval far
too long: 100% coverage in the simulation.)
``tests/analysis/test_item_level_coverage.py`` checks 93–97% coverage by simulation.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_float_array, check_alpha
from .intervals import DEFAULT_CI_METHOD, interval_arrays


class RatioRow(NamedTuple):
    domain: object
    n: int
    estimate: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    ci_method: str
    #: Kish effective size of the respondents' weights (the publication rule ``n_eff >= min_n``).
    n_kish: float
    #: Design degrees of freedom of the domain: responses minus strata with responses in it.
    df: float = np.inf
    #: Kish effective size of the item answers, the floor of the interval's effective size.
    n_kish_items: float = np.nan


def ratio_from_sums(
    stratum,
    domain,
    n,
    swx,
    swy,
    sw2x2,
    sw2xy,
    sw2y2,
    sw,
    sw2,
    sw2x=None,
    *,
    alpha=0.05,
    ci_method=DEFAULT_CI_METHOD,
    df="design",
):
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
        :math:`\sum w` and :math:`\sum w^2`: the respondents' Kish effective size (``n_kish``).
    sw2x : array_like
        :math:`\sum w^2 x`: with ``swx``, the item answers' Kish size :math:`(\sum wx)^2/\sum w^2x`,
        the floor of the ``-kish`` interval methods (required by them).
    alpha : float
        One minus the confidence level.
    ci_method : str
        Interval from :func:`analysis.proportion_ci` applied to :math:`(\hat R, v)`; the published
        default (``wilson-cc-kish``) unless asked otherwise.
    df : "design" or float
        ``"design"`` (default): each domain's responses minus its strata, as the other published
        rates; or a number (``inf`` for normal quantiles).

    Returns
    -------
    tuple
        ``(overall, rows)``: a :class:`RatioRow` for all rows, and one per domain (sorted).
        A domain with :math:`\sum wx = 0` has ``estimate`` None.
    """
    check_alpha(alpha)
    n = as_float_array(n, "n")
    K = n.size
    a = {
        name: as_float_array(v, name, length=K)
        for name, v in (
            ("swx", swx),
            ("swy", swy),
            ("sw2x2", sw2x2),
            ("sw2xy", sw2xy),
            ("sw2y2", sw2y2),
            ("sw", sw),
            ("sw2", sw2),
        )
    }
    if sw2x is None:
        if ci_method.endswith("-kish"):
            raise ValueError(f"method {ci_method!r} needs sw2x (sum of w^2 x) for the item answers' Kish size")
        sw2x = a["sw2x2"]  # unused by the methods without a Kish floor
    a["sw2x"] = as_float_array(sw2x, "sw2x", length=K)
    if np.any(n < 1):
        raise ValueError("n must be >= 1 in every row")
    _, s_index = np.unique(np.asarray(stratum), return_inverse=True)
    domain_labels, d_index = np.unique(np.asarray(domain), return_inverse=True)
    s_index = s_index.ravel()
    H = int(s_index.max()) + 1 if K else 0
    n_h = np.bincount(s_index, weights=n, minlength=H)
    # The overall row is domain 0 of a second labelling where every row is in one domain.
    overall = _ratios(np.zeros(K, dtype=np.intp), 1, s_index, n_h, n, a, alpha, ci_method, df, [None])[0]
    rows = _ratios(d_index.ravel(), domain_labels.size, s_index, n_h, n, a, alpha, ci_method, df, list(domain_labels))
    return overall, rows


def _ratios(d_index, D, s_index, n_h, n, a, alpha, ci_method, df, labels) -> list[RatioRow]:
    """Every domain at once: per-(stratum, domain) sums of z and z² (vectorised over domains)."""
    H = n_h.size
    total = lambda values: np.bincount(d_index, weights=values, minlength=D)  # noqa: E731
    X, Y, count = total(a["swx"]), total(a["swy"]), total(n)
    with np.errstate(divide="ignore", invalid="ignore"):
        Xs = np.where(X > 0, X, 1.0)
        R = np.where(X > 0, Y / Xs, np.nan)
        r, x = R[d_index], Xs[d_index]
        z1 = (a["swy"] - r * a["swx"]) / x
        z2 = (a["sw2y2"] - 2 * r * a["sw2xy"] + r * r * a["sw2x2"]) / x**2
    key = d_index.astype(np.int64) * H + s_index
    keys, inverse = np.unique(key, return_inverse=True)
    s1 = np.bincount(inverse, weights=z1, minlength=keys.size)
    s2 = np.bincount(inverse, weights=z2, minlength=keys.size)
    key_domain, key_stratum = keys // H, keys % H
    nh = n_h[key_stratum]
    single = nh == 1
    with np.errstate(divide="ignore", invalid="ignore"):
        contribution = np.where(single, 0.0, nh / (nh - 1) * (s2 - s1**2 / nh))
    # R's "adjust": a lonely PSU is centred at the mean over all PSUs (out-of-domain ones count z = 0).
    grand = np.bincount(key_domain, weights=s1, minlength=D) / n_h.sum()
    g = grand[key_domain]
    lonely_total = int(np.count_nonzero(n_h == 1))
    contribution = np.where(single, (s1 - g) ** 2 - g**2, contribution)
    variance = np.bincount(key_domain, weights=contribution, minlength=D) + lonely_total * grand**2
    variance = np.maximum(variance, 0.0)
    strata = np.bincount(key_domain, minlength=D)
    design_df = count - strata
    df_used = design_df if isinstance(df, str) and df == "design" else np.full(D, float(df))
    n_kish = total(a["sw"]) ** 2 / total(a["sw2"])
    with np.errstate(divide="ignore", invalid="ignore"):
        n_kish_items = X**2 / total(a["sw2x"])
    ok = X > 0
    low = np.full(D, np.nan)
    high = np.full(D, np.nan)
    if np.any(ok):
        p = np.clip(R[ok], 0.0, 1.0)
        lo, hi, _ = interval_arrays(
            ci_method, p, variance[ok], np.maximum(df_used[ok], 0.0), count[ok], n_kish_items[ok], alpha
        )
        low[ok], high[ok] = lo, hi
    rows = []
    for j, label in enumerate(labels):
        if not ok[j]:
            rows.append(
                RatioRow(
                    label,
                    int(count[j]),
                    None,
                    None,
                    None,
                    None,
                    ci_method,
                    float(n_kish[j]),
                    float(df_used[j]),
                    float("nan"),
                )
            )
            continue
        rows.append(
            RatioRow(
                label,
                int(count[j]),
                float(R[j]),
                float(np.sqrt(variance[j])),
                float(low[j]),
                float(high[j]),
                ci_method,
                float(n_kish[j]),
                float(df_used[j]),
                float(n_kish_items[j]),
            )
        )
    return rows
