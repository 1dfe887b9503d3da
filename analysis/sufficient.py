r"""The sufficient-statistics path: estimates from SQL ``GROUP BY`` sums.

The web application lets the database aggregate responses and passes one row
per (stratum, domain) cell — or per (PSU, domain) for a clustered design —
holding

=========  ==========================  ===================================
column     SQL                         needed for
=========  ==========================  ===================================
``n``      ``COUNT(*)``                counts, df, n_h of each stratum
``sw``     ``SUM(w)``                  estimate, all designs
``swy``    ``SUM(w * y)``              estimate, all designs
``sw2``    ``SUM(w * w)``              variance (id=~1), Kish n_eff
``sw2y``   ``SUM(w * w * y)``          variance (id=~1)
``sw2y2``  ``SUM(w * w * y * y)``      variance (id=~1); equals ``sw2y``
                                       for a 0/1 outcome, so optional
=========  ==========================  ===================================

For the design the web application uses (strata = weighting cell, each
response its own PSU, ``svydesign(id=~1, strata=~cell, weights=~w)``) the
rows are ``GROUP BY cell, domain``; add ``N_h`` (the cell's population
count) per row for a finite population correction.  For a clustered design
(``psu=`` given) the rows are ``GROUP BY psu, domain`` with the PSU's
stratum; ``n``, ``sw`` and ``swy`` then suffice for the variance (``sw2`` is
still used for the Kish effective size).

Why these sums are enough (id=~1): with
:math:`z_i = w_i 1[i\in d](y_i - \hat p_d)/\hat W_d`, stratum h needs
:math:`\sum_{i\in h} z_i = (\text{swy} - \hat p_d\,\text{sw})/\hat W_d` and

.. math:: \sum_{i \in h} z_i^2 = \frac{\text{sw2y2} - 2\hat p_d\,\text{sw2y} + \hat p_d^2\,\text{sw2}}{\hat W_d^2},

plus :math:`n_h`, the stratum's number of responses over *all* domains
(the sum of ``n`` over the stratum's rows), for the :math:`n_h/(n_h-1)`
factor.  Nothing is approximated: the result equals the per-response path
to rounding (1e-12 relative in the tests).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_float_array, check_alpha, check_target, factorize
from ._engine import LONELY_PSU_RULES, _parse_df, estimate_cells
from .intervals import check_method
from .status import DEFAULT_TARGET


class SufficientStatistics(NamedTuple):
    """Per-cell sums, as :func:`sufficient_statistics` returns them."""

    stratum: np.ndarray
    domain: np.ndarray
    n: np.ndarray
    sw: np.ndarray
    swy: np.ndarray
    sw2: np.ndarray
    sw2y: np.ndarray
    sw2y2: np.ndarray
    psu: np.ndarray | None = None


def sufficient_statistics(y, weights=None, strata=None, domains=None, psu=None):
    """Aggregate responses into per-(stratum or PSU, domain) sums.

    This is what the SQL ``GROUP BY cell, domain`` query computes; it is
    provided for tests, for analysts, and as the executable definition of
    the sums :func:`estimate_from_sums` expects.

    Parameters
    ----------
    y : array_like of {0, 1}
    weights, strata, domains, psu : array_like, optional
        As in :func:`analysis.estimate_proportion`.  Without ``domains``
        every row is in domain 0.

    Returns
    -------
    SufficientStatistics
        One entry per non-empty cell: ``stratum`` and ``domain`` labels
        (and ``psu`` when given), ``n``, ``sw``, ``swy``, ``sw2``, ``sw2y``,
        ``sw2y2``.
    """
    y = as_float_array(y, "y")
    n = y.size
    w = np.ones(n) if weights is None else as_float_array(weights, "weights", length=n)
    strata = np.zeros(n, dtype=np.intp) if strata is None else np.asarray(strata)
    domains = np.zeros(n, dtype=np.intp) if domains is None else np.asarray(domains)
    h, h_labels = factorize(strata, "strata", length=n)
    d, d_labels = factorize(domains, "domains", length=n)
    D = len(d_labels)
    if psu is not None:
        c, c_labels = factorize(np.asarray(psu), "psu", length=n)
        key = (h.astype(np.int64) * len(c_labels) + c) * D + d
    else:
        key = h.astype(np.int64) * D + d
    cells, index = np.unique(key, return_inverse=True)
    index = index.ravel()
    K = cells.size

    def total(values):
        return np.bincount(index, weights=values, minlength=K)

    first = np.zeros(K, dtype=np.intp)
    first[index[::-1]] = np.arange(n - 1, -1, -1)
    w2 = w * w
    return SufficientStatistics(
        stratum=h_labels[h[first]],
        domain=d_labels[d[first]],
        n=np.bincount(index, minlength=K),
        sw=total(w),
        swy=total(w * y),
        sw2=total(w2),
        sw2y=total(w2 * y),
        sw2y2=total(w2 * y * y),
        psu=None if psu is None else np.asarray(psu)[first],
    )


def estimate_from_sums(
    stratum,
    domain,
    n,
    sw,
    swy,
    sw2=None,
    sw2y=None,
    sw2y2=None,
    *,
    psu=None,
    population=None,
    ci_method=None,
    df="design",
    alpha=0.05,
    target=DEFAULT_TARGET,
    lonely_psu="fail",
):
    r"""Estimates from per-(stratum, domain) sufficient statistics.

    Gives the same :class:`~analysis.design.ProportionEstimate` as
    :func:`analysis.estimate_proportion` on the underlying responses (same
    design, no calibration), to 1e-12.

    Parameters
    ----------
    stratum : array_like
        Stratum (weighting cell) id of each row.
    domain : array_like
        Domain id of each row (unit, sector, channel...).  Rows of the same
        (stratum, domain) — or (PSU, domain) — are added together.
    n : array_like of int
        ``COUNT(*)`` of the row's responses (>= 1).
    sw, swy : array_like
        ``SUM(w)`` and ``SUM(w*y)``.
    sw2, sw2y : array_like
        ``SUM(w*w)`` and ``SUM(w*w*y)``; required unless ``psu`` is given
        (``sw2`` is then still needed for the Kish effective size, and
        taken as ``sw**2/n`` if missing — exact for equal weights in a PSU).
    sw2y2 : array_like, optional
        ``SUM(w*w*y*y)``; defaults to ``sw2y`` (exact for a 0/1 outcome).
    psu : array_like, optional
        PSU id of each row, for a clustered design (rows per (PSU, domain));
        PSUs are nested in strata.  Default: each response is its own PSU.
    population : array_like, optional
        Population size N_h of the row's stratum (in PSUs; for the web
        application, the cell's transaction count), for the finite
        population correction.  Must be equal on all rows of a stratum.
    ci_method, df, alpha, target, lonely_psu
        As in :func:`analysis.estimate_proportion`.

    Returns
    -------
    ProportionEstimate
        The whole-sample row (all rows together) and one row per domain,
        sorted by domain id.

    Notes
    -----
    The variance of domain d is

    .. math:: v_d = \sum_h f_h\frac{n_h}{n_h-1}\Big(S2_{hd} - \frac{S1_{hd}^2}{n_h}\Big),\quad
              S1_{hd} = \frac{\text{swy} - \hat p_d \text{sw}}{\hat W_d},\quad
              S2_{hd} = \frac{\text{sw2y2} - 2\hat p_d \text{sw2y} + \hat p_d^2 \text{sw2}}{\hat W_d^2}

    where :math:`n_h = \sum_d n_{hd}` counts the stratum's responses in every
    domain.  Calibrated (post-stratified or raked) variances need the
    responses themselves; use :func:`analysis.estimate_proportion`.  Weights
    :math:`N_h/n_h` computed by the web application are ordinary stratified
    design weights and need no calibration.
    """
    ci_method = check_method(ci_method)
    alpha = check_alpha(alpha)
    target = check_target(target)
    df_choice = _parse_df(df)
    if lonely_psu not in LONELY_PSU_RULES:
        raise ValueError(f"lonely_psu must be one of {', '.join(LONELY_PSU_RULES)}, got {lonely_psu!r}")
    n_rows = as_float_array(n, "n")
    K = n_rows.size
    if K == 0:
        raise ValueError("no rows: the sums are empty")
    if np.any(n_rows < 1) or np.any(n_rows != np.rint(n_rows)):
        raise ValueError("n must be whole counts >= 1 (leave empty cells out)")
    sw = as_float_array(sw, "sw", length=K)
    swy = as_float_array(swy, "swy", length=K)
    if np.any(sw <= 0):
        raise ValueError("sw (sum of weights) must be > 0 in every row")
    slack = 1e-9 * sw
    if np.any(swy < -slack) or np.any(swy > sw + slack):
        raise ValueError("swy must lie between 0 and sw (is y coded 0/1?)")
    if psu is None and (sw2 is None or sw2y is None):
        raise ValueError("sw2 and sw2y are required unless psu is given")
    if sw2 is None:
        sw2 = sw * sw / n_rows
    sw2 = as_float_array(sw2, "sw2", length=K)
    if np.any(sw2 <= 0):
        raise ValueError("sw2 (sum of squared weights) must be > 0 in every row")
    if sw2y is None:
        sw2y = np.zeros(K)
    sw2y = as_float_array(sw2y, "sw2y", length=K)
    sw2y2 = sw2y if sw2y2 is None else as_float_array(sw2y2, "sw2y2", length=K)
    slack2 = 1e-9 * sw2
    if psu is None and (np.any(sw2y < -slack2) or np.any(sw2y > sw2 + slack2)):
        raise ValueError("sw2y must lie between 0 and sw2")

    return estimate_cells(
        stratum,
        domain,
        n_rows,
        sw,
        swy,
        sw2,
        sw2y,
        sw2y2,
        psu=psu,
        population=population,
        ci_method=ci_method,
        df_choice=df_choice,
        alpha=alpha,
        target=target,
        lonely_psu=lonely_psu,
    )
