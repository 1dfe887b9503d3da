r"""Design-based estimation of a proportion with Taylor-linearisation variance.

This is R's ``svymean`` / ``svyciprop`` / ``svyby`` for a 0/1 outcome in a
stratified (optionally clustered, optionally finite-population-corrected,
optionally post-stratified or raked) design.  The arithmetic runs on
*sufficient statistics* per (stratum or PSU, domain) cell, so the
per-response path (:func:`estimate_proportion`) and the aggregated path
(:func:`analysis.estimate_from_sums`) share one implementation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ._checks import (
    as_float_array,
    check_alpha,
    check_binary,
    check_no_lonely_psu,
    check_positive_weights,
    check_target,
    factorize,
    label_to_python,
)
from ._engine import (
    _DENSE_LIMIT,
    LONELY_PSU_RULES,
    EstimateRow,
    ProportionEstimate,
    _core,
    _finish,
    _parse_df,
    estimate_cells,
)
from .intervals import check_method
from .status import DEFAULT_TARGET
from .weighting import Calibration

__all__ = ["EstimateRow", "ProportionEstimate", "estimate_proportion"]

# ---------------------------------------------------------------------------
# Per-response path
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Design:
    """Validated per-response design."""

    y: np.ndarray
    y_int: np.ndarray
    w: np.ndarray
    stratum: np.ndarray  # codes 0..H-1
    stratum_labels: np.ndarray
    psu: np.ndarray | None  # global PSU codes 0..C-1, nested in strata
    psu_stratum: np.ndarray | None
    n_psu_h: np.ndarray
    f_h: np.ndarray


def _responses(y, weights):
    """Validated 0/1 outcomes and positive weights (equal weights when none are given)."""
    y = as_float_array(y, "y")
    if y.size == 0:
        raise ValueError("no responses: y is empty")
    check_binary(y)
    if weights is None:
        return y, np.ones(y.size)
    w = as_float_array(weights, "weights", length=y.size)
    check_positive_weights(w)
    return y, w


def _build_design(y, weights, strata, psu, fpc, lonely_psu):
    y, w = _responses(y, weights)
    n = y.size
    if strata is None:
        stratum = np.zeros(n, dtype=np.intp)
        stratum_labels = np.array([None], dtype=object)
    else:
        stratum, stratum_labels = factorize(strata, "strata", length=n)
    H = len(stratum_labels)
    if psu is None:
        psu_codes = None
        psu_stratum = None
        n_psu_h = np.bincount(stratum, minlength=H)
    else:
        raw, _ = factorize(psu, "psu", length=n)
        # PSUs are nested in strata (R's nest=TRUE): the PSU key is (stratum, psu).
        nested = stratum.astype(np.int64) * (int(raw.max()) + 1) + raw
        psu_codes, inverse_labels = factorize(nested, "psu")
        psu_stratum = (inverse_labels // (int(raw.max()) + 1)).astype(np.intp)
        n_psu_h = np.bincount(psu_stratum, minlength=H)
    if lonely_psu not in LONELY_PSU_RULES:
        raise ValueError(f"lonely_psu must be one of {', '.join(LONELY_PSU_RULES)}, got {lonely_psu!r}")
    check_no_lonely_psu(n_psu_h, stratum_labels, lonely_psu)
    f_h = np.ones(H)
    if fpc is not None:
        fpc_values = as_float_array(fpc, "fpc", length=n)
        first = np.zeros(H, dtype=np.intp)
        first[stratum[::-1]] = np.arange(n - 1, -1, -1)
        fpc_h = fpc_values[first]
        if np.any(fpc_values != fpc_h[stratum]):
            raise ValueError("fpc must be the same for every response of a stratum")
        if np.any(fpc_h <= 0):
            raise ValueError("fpc must be > 0 (a population size, or a sampling fraction <= 1)")
        population = n_psu_h / fpc_h if np.all(fpc_h <= 1) else fpc_h
        if np.any(population < n_psu_h):
            h = int(np.flatnonzero(population < n_psu_h)[0])
            raise ValueError(
                f"fpc of stratum {label_to_python(stratum_labels[h])!r} ({population[h]:g}) is smaller "
                f"than its number of sampled PSUs ({n_psu_h[h]})"
            )
        f_h = (population - n_psu_h) / population
    return _Design(y, y == 1.0, w, stratum, stratum_labels, psu_codes, psu_stratum, n_psu_h, f_h)


def _sums_by_cell(group, G, domain_codes, D, y_is_one, w):
    """Per-(group, domain) sums n, sw, swy, sw2, sw2y of the responses.

    One pass over the responses: the 0/1 outcome is folded into the
    bincount key, so three ``np.bincount`` calls give all five sums.
    Returns the cells' group and domain codes and the five sums.
    """
    # key2 = (group * D + domain) * 2 + y, computed in place (one allocation).
    key2 = np.multiply(group, 2 * D, dtype=np.int64)
    if D > 1:
        np.add(key2, domain_codes, out=key2, casting="unsafe")
        np.add(key2, domain_codes, out=key2, casting="unsafe")
    np.add(key2, y_is_one, out=key2, casting="unsafe")
    size = 2 * G * D
    w2 = w * w
    if size <= max(_DENSE_LIMIT, 4 * key2.size):
        counts = np.bincount(key2, minlength=size)
        sums_w = np.bincount(key2, weights=w, minlength=size)
        sums_w2 = np.bincount(key2, weights=w2, minlength=size)
        pair_counts = counts[0::2] + counts[1::2]
        present = np.flatnonzero(pair_counts)
        cells = present
        n = pair_counts[present].astype(float)
        sw = sums_w[0::2][present] + sums_w[1::2][present]
        swy = sums_w[1::2][present]
        sw2 = sums_w2[0::2][present] + sums_w2[1::2][present]
        sw2y = sums_w2[1::2][present]
    else:
        unique, inverse = np.unique(key2, return_inverse=True)
        inverse = inverse.ravel()
        counts = np.bincount(inverse)
        sums_w = np.bincount(inverse, weights=w)
        sums_w2 = np.bincount(inverse, weights=w2)
        cell_key = unique // 2
        is_one = (unique % 2).astype(bool)
        cells, cell_index = np.unique(cell_key, return_inverse=True)
        cell_index = cell_index.ravel()
        K = cells.size
        n = np.bincount(cell_index, weights=counts, minlength=K)
        sw = np.bincount(cell_index, weights=sums_w, minlength=K)
        swy = np.bincount(cell_index[is_one], weights=sums_w[is_one], minlength=K)
        sw2 = np.bincount(cell_index, weights=sums_w2, minlength=K)
        sw2y = np.bincount(cell_index[is_one], weights=sums_w2[is_one], minlength=K)
    cell_group = (cells // D).astype(np.intp)
    cell_domain = (cells % D).astype(np.intp)
    return cell_group, cell_domain, n, sw, swy, sw2, sw2y


def _response_cells(design, domain_codes, D):
    """Per-(group, domain) sums for a validated design (see :func:`_sums_by_cell`)."""
    psu_mode = design.psu is not None
    group = design.psu if psu_mode else design.stratum
    G = int(design.psu_stratum.size) if psu_mode else int(design.n_psu_h.size)
    cell_group, cell_domain, n, sw, swy, sw2, sw2y = _sums_by_cell(group, G, domain_codes, D, design.y_int, design.w)
    return cell_group, cell_group, cell_domain, n, sw, swy, sw2, sw2y


def _raw_codes(values, name, n):
    """Integer codes for labels without a pass to find which codes occur.

    Non-negative integer ids (database keys) are used as they are, with
    ``range(max + 1)`` as labels: unused ids simply produce no cell.  Other
    labels are factorised (sorted).
    """
    if values is None:
        return np.zeros(n, dtype=np.intp), 1, np.zeros(1, dtype=np.intp)
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if array.shape[0] != n:
        raise ValueError(f"{name} has {array.shape[0]} values but y has {n}")
    if array.dtype.kind in "iu" and n:
        low = int(array.min())
        high = int(array.max())
        if low >= 0 and high <= 4 * n + 1024:
            return array.astype(np.intp, copy=False), high + 1, np.arange(high + 1)
    codes, labels = factorize(array, name, length=n)
    return codes, len(labels), labels


def _estimate_stratified(y, weights, strata, domains, *, ci_method, df_choice, alpha, target, lonely_psu):
    """Fast path for ``id=~1`` designs without fpc or calibration: responses -> cell sums -> core."""
    y, w = _responses(y, weights)
    n = y.size
    if strata is None and n < 2 and lonely_psu == "fail":
        raise ValueError("only one response: its variance cannot be estimated (at least 2 are needed)")
    h, H, h_labels = _raw_codes(strata, "strata", n)
    d, D, d_labels = _raw_codes(domains, "domains", n)
    cell_h, cell_d, count, sw, swy, sw2, sw2y = _sums_by_cell(h, H, d, D, y == 1.0, w)
    return estimate_cells(
        h_labels[cell_h],
        d_labels[cell_d],
        count,
        sw,
        swy,
        sw2,
        sw2y,
        sw2y,
        psu=None,
        population=None,
        ci_method=ci_method,
        df_choice=df_choice,
        alpha=alpha,
        target=target,
        lonely_psu=lonely_psu,
        with_domains=domains is not None,
    )


def _collapse_domains(cells):
    """Whole-sample cells (one per group) from per-(group, domain) cells."""
    group, _, _, n, sw, swy, sw2, sw2y = cells
    size = int(group.max()) + 1
    counts = np.bincount(group, minlength=size)
    present = np.flatnonzero(counts)
    sums = [np.bincount(group, weights=a, minlength=size)[present] for a in (n, sw, swy, sw2, sw2y)]
    present = present.astype(np.intp)
    return (present, present, np.zeros(present.size, dtype=np.intp), *sums)


def _run_core(design, cells, D, lonely_psu):
    group, cell_stratum, domain, n, sw, swy, sw2, sw2y = cells
    psu_mode = design.psu is not None
    stratum_map = design.psu_stratum if psu_mode else cell_stratum
    return _core(
        group,
        stratum_map,
        domain,
        n,
        sw,
        swy,
        sw2,
        sw2y,
        sw2y,
        D,
        psu_mode,
        design.n_psu_h,
        design.f_h,
        lonely_psu,
    )


def _variance_of_columns(design, x, calibration, lonely_psu):
    """Linearised variance of each column of per-response influence values ``x``.

    As R's ``svyrecvar``: calibration residuals first (if any), then totals
    per PSU, centred within strata, scaled by :math:`f_h n_h/(n_h-1)`.
    """
    if calibration is not None:
        x = calibration.residualize(x)
    if design.psu is not None:
        unit = design.psu
        unit_stratum = design.psu_stratum
        n_units = unit_stratum.size
    else:
        unit = None
        unit_stratum = design.stratum
        n_units = design.y.size
    H = design.n_psu_h.size
    n_h = design.n_psu_h.astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(n_h > 1, design.f_h * n_h / (n_h - 1.0), 0.0)
    out = np.empty(x.shape[1])
    for j in range(x.shape[1]):
        totals = x[:, j] if unit is None else np.bincount(unit, weights=x[:, j], minlength=n_units)
        S1 = np.bincount(unit_stratum, weights=totals, minlength=H)
        S2 = np.bincount(unit_stratum, weights=totals * totals, minlength=H)
        with np.errstate(divide="ignore", invalid="ignore"):
            contribution = scale * (S2 - S1 * S1 / n_h)
        if lonely_psu == "adjust":
            contribution = np.where(n_h == 1, design.f_h * S1 * S1, contribution)
        out[j] = max(float(contribution.sum()), 0.0)
    return out


def _calibrated_variance(design, calibration, domain_codes, D, p, W, lonely_psu):
    """Residual (calibration) variance of each domain, as R's svyrecvar."""
    n = design.y.size
    out = np.empty(D)
    chunk = max(1, min(D, 4_000_000 // max(n, 1)))
    for start in range(0, D, chunk):
        stop = min(D, start + chunk)
        columns = np.arange(start, stop)
        member = domain_codes[:, None] == columns[None, :]
        z = (design.w[:, None] * (design.y[:, None] - p[columns][None, :])) / W[columns][None, :]
        x = np.where(member, z, 0.0)
        out[start:stop] = _variance_of_columns(design, x, calibration, lonely_psu)
    return out


def estimate_proportion(
    y,
    weights=None,
    strata=None,
    psu=None,
    fpc=None,
    domains=None,
    ci_method=None,
    df="design",
    alpha=0.05,
    target=DEFAULT_TARGET,
    *,
    calibration=None,
    lonely_psu="fail",
):
    r"""Weighted proportion with its design-based variance, interval and status.

    Parameters
    ----------
    y : array_like of {0, 1}
        The outcome of each response (1 = satisfied).
    weights : array_like, optional
        Sampling (or final) weights, > 0.  Default: all 1.  With
        ``calibration`` given, defaults to ``calibration.weights``.
    strata : array_like, optional
        Stratum label of each response (in the web application: the
        weighting cell).  Default: one stratum.
    psu : array_like, optional
        Primary sampling unit (cluster) of each response, nested within
        strata.  Default: each response is its own PSU (R's ``id=~1``).
    fpc : array_like, optional
        Finite population correction per response, constant within a
        stratum: the stratum's population number of PSUs, or (all values
        <= 1) the sampling fraction.
    domains : array_like, optional
        Domain label of each response (unit, sector, channel...).  Domains
        are estimated as domains of the whole design (R's ``svyby``).
    ci_method : str, optional
        Interval method (see :func:`analysis.proportion_ci`); default
        :data:`analysis.DEFAULT_CI_METHOD` (``'wilson-cc-kish'``).
    df : {'design', 'inf'} or float, default 'design'
        Degrees of freedom for the interval: each row's own design df
        (PSUs minus strata with responses in it), infinity, or a number.
    alpha : float, default 0.05
    target : float, default 0.8
        Target for the status.
    calibration : Calibration, optional
        Result of :func:`analysis.poststratify` or :func:`analysis.rake`;
        the variance is then the residual (calibration) variance.
    lonely_psu : {'fail', 'certainty', 'adjust'}, default 'fail'
        What to do with a stratum that has a single PSU: raise ValueError
        (R's default), let it contribute no variance, or centre it at the
        grand mean (R's ``survey.lonely.psu`` options).

    Returns
    -------
    ProportionEstimate
        ``overall`` (whole sample) and ``domains`` (sorted by label), each an
        :class:`EstimateRow`.

    Notes
    -----
    The estimate is the Hajek ratio :math:`\hat p_d = \sum_i w_i 1[i\in d]
    y_i / \sum_i w_i 1[i \in d]`.  Its linearised variance uses
    :math:`z_i = w_i 1[i\in d](y_i - \hat p_d)/\hat W_d`, totalled within
    PSUs, :math:`Z_c = \sum_{i \in c} z_i`:

    .. math:: v(\hat p_d) = \sum_h \Big(1 - \frac{n_h}{N_h}\Big)\frac{n_h}{n_h-1}
              \sum_{c\in h} (Z_c - \bar Z_h)^2

    with :math:`n_h` PSUs in stratum h, counted over the whole sample (so
    a domain's variance is that of a domain of the whole design, as R's
    ``svyby``), and :math:`N_h` from ``fpc`` (no correction without it).
    After post-stratification or raking :math:`z_i` is first replaced by
    its calibration residual (:meth:`Calibration.residualize`).

    Design effects are R's: ``deff`` :math:`= v / [s^2 (\hat W - n)/(\hat W n)]`
    and ``deff_replace`` :math:`= v/(s^2/n)` with
    :math:`s^2 = \frac{n}{n-1}\hat p(1-\hat p)`; ``n_eff`` :math:`=\hat p(1-\hat p)/v`.

    Degrees of freedom of a domain are its own PSUs minus its own strata.
    For ``ci_method='beta'`` on a calibrated design the Korn–Graubard
    correction :math:`t_{n-1}` uses the *whole* sample's n for domains, as R
    does (its domain subset keeps every row); every other method, and
    ``beta`` on uncalibrated designs, uses the domain's own n.

    Edge cases: an empty sample raises ValueError.  All answers equal
    (:math:`\hat p` = 0 or 1) gives variance 0; the interval is then the
    documented exact bound (:func:`analysis.proportion_ci`), ``n_eff`` is
    the Kish effective size, and ``deff``/``deff_replace`` are None (R:
    NaN).  ``deff`` is also None when :math:`\hat W \le n` (R: Inf or NA),
    e.g. for unweighted data.  The status is ``insufficient`` when n < 30 or
    n_eff < 30; the numbers are still returned (the caller decides what to
    publish).

    References
    ----------
    .. [1] Lumley, T. (2010). *Complex Surveys: A Guide to Analysis Using R*.
       Wiley; ``survey`` package: ``svymean``, ``svyby``, ``svyciprop``.
    .. [2] Wolter, K. M. (2007). *Introduction to Variance Estimation*,
       2nd ed. Springer, ch. 6 (Taylor series).
    .. [3] Kish, L. (1965). *Survey Sampling*. Wiley.
    """
    ci_method = check_method(ci_method)
    alpha = check_alpha(alpha)
    target = check_target(target)
    df_choice = _parse_df(df)
    if calibration is not None:
        if not isinstance(calibration, Calibration):
            raise ValueError("calibration must be the result of poststratify() or rake()")
        if weights is None:
            weights = calibration.weights
        else:
            given = as_float_array(weights, "weights")
            if given.shape != calibration.weights.shape or not np.allclose(given, calibration.weights, rtol=1e-12):
                raise ValueError("weights differ from calibration.weights; pass weights=None with a calibration")
    if lonely_psu not in LONELY_PSU_RULES:
        raise ValueError(f"lonely_psu must be one of {', '.join(LONELY_PSU_RULES)}, got {lonely_psu!r}")
    if calibration is None and psu is None and fpc is None:
        return _estimate_stratified(
            y,
            weights,
            strata,
            domains,
            ci_method=ci_method,
            df_choice=df_choice,
            alpha=alpha,
            target=target,
            lonely_psu=lonely_psu,
        )
    design = _build_design(y, weights, strata, psu, fpc, lonely_psu)
    n = design.y.size
    if calibration is not None and calibration.weights.size != n:
        raise ValueError("calibration was computed for a different number of responses")

    whole_codes = np.zeros(n, dtype=np.intp)
    if domains is not None:
        domain_codes, domain_labels = factorize(domains, "domains", length=n)
        D = len(domain_labels)
        cells = _response_cells(design, domain_codes, D)
        by_domain = _run_core(design, cells, D, lonely_psu)
        whole_cells = _collapse_domains(cells)
    else:
        domain_codes, domain_labels, by_domain = None, [], None
        whole_cells = _response_cells(design, whole_codes, 1)
    whole = _run_core(design, whole_cells, 1, lonely_psu)

    beta_n_domains = None
    if calibration is not None:
        whole["var"] = _calibrated_variance(
            design, calibration, whole_codes, 1, whole["estimate"], whole["sum_w"], lonely_psu
        )
        if by_domain is not None:
            by_domain["var"] = _calibrated_variance(
                design,
                calibration,
                domain_codes,
                len(domain_labels),
                by_domain["estimate"],
                by_domain["sum_w"],
                lonely_psu,
            )
            if ci_method == "beta":
                beta_n_domains = float(n)

    common = dict(ci_method=ci_method, df_choice=df_choice, alpha=alpha, target=target)
    overall = _finish(whole, [None], **common)[0]
    rows = ()
    if by_domain is not None:
        labels = [label_to_python(label) for label in domain_labels]
        rows = tuple(_finish(by_domain, labels, beta_n=beta_n_domains, **common))
    return ProportionEstimate(
        overall=overall,
        domains=rows,
        ci_method=ci_method,
        alpha=alpha,
        target=target,
        design_df=int(whole["design_df"][0]),
    )
