"""The computational core shared by the per-response and the sufficient-statistics paths.

Everything here works on per-cell sums (one cell per (stratum or PSU,
domain)); :mod:`analysis.design` forms those sums from responses and
:mod:`analysis.sufficient` takes them from SQL.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ._checks import as_float_array, check_no_lonely_psu, factorize, label_to_python
from .intervals import interval_arrays
from .status import DEFAULT_TARGET, MIN_N_PUBLISH, STATUS_INSUFFICIENT, status_arrays

LONELY_PSU_RULES = ("fail", "certainty", "adjust")

# Dense bincount tables up to this many cells; sparser keys are compressed
# with np.unique instead.
_DENSE_LIMIT = 1 << 24


@dataclass(frozen=True)
class EstimateRow:
    """One estimate: the whole sample (``domain`` None) or one domain.

    Attributes
    ----------
    domain : object
        Domain label, or None for the whole sample.
    n : int
        Number of responses in the domain.
    estimate : float
        Weighted proportion :math:`\\hat p = \\sum w y / \\sum w`.
    se, var : float
        Linearised standard error and variance.
    ci_low, ci_high : float
        Confidence interval (always defined; see ``note``).
    ci_method : str
    df : float
        Degrees of freedom used by the interval (``inf`` for normal
        quantiles; values below 1 were raised to 1).
    design_df : int
        The domain's design degrees of freedom: PSUs minus strata that
        contain responses of the domain (R's ``degf`` of the domain subset).
    deff : float or None
        Design effect against simple random sampling without replacement
        (R's ``deff=TRUE``); None where R gives NA/NaN/Inf.
    deff_replace : float or None
        Design effect against sampling with replacement (``deff="replace"``).
    n_eff : float
        Raw effective sample size :math:`\\hat p(1-\\hat p)/v`; where that is
        undefined (estimate 0 or 1, zero variance) the Kish effective size.
        Every decision uses :attr:`n_eff_floored` instead.
    n_kish : float
        Kish effective size of the domain's weights.
    sum_w : float
        Sum of weights (estimated population size of the domain).
    target : float
    status : {'met', 'below', 'inconclusive', 'insufficient'}
    publishable : bool
        False when ``status`` is ``'insufficient'`` (n or n_eff below 30):
        publish only ``n``.
    note : str or None
        Why the interval needed a documented fallback, if it did.
    """

    domain: object
    n: int
    estimate: float
    se: float
    var: float
    ci_low: float
    ci_high: float
    ci_method: str
    df: float
    design_df: int
    deff: float | None
    deff_replace: float | None
    n_eff: float
    n_kish: float
    sum_w: float
    target: float
    status: str
    publishable: bool
    note: str | None = None

    @property
    def n_eff_floored(self) -> float:
        """The Kish-floored effective size, :func:`analysis.intervals.kish_floored_size`:
        what the interval, the n_eff >= 30 rule, the funnel limits and the comparisons use."""
        return min(self.n_eff, self.n_kish)

    def to_dict(self) -> dict:
        """JSON-ready mapping (plain Python numbers; infinite df as None)."""
        out = {
            "domain": label_to_python(self.domain),
            "n": int(self.n),
            "estimate": self.estimate,
            "se": self.se,
            "var": self.var,
            "ci_low": self.ci_low,
            "ci_high": self.ci_high,
            "ci_method": self.ci_method,
            "df": _json_number(self.df),
            "design_df": int(self.design_df),
            "deff": _json_number(self.deff),
            "deff_replace": _json_number(self.deff_replace),
            "n_eff": _json_number(self.n_eff),
            "n_kish": self.n_kish,
            "sum_w": self.sum_w,
            "target": self.target,
            "status": self.status,
            "publishable": self.publishable,
            "note": self.note,
        }
        return out


def _json_number(value):
    if value is None:
        return None
    value = float(value)
    if not math.isfinite(value):
        return None
    if value.is_integer() and abs(value) < 2**53:
        return int(value)
    return value


@dataclass(frozen=True)
class ProportionEstimate:
    """Result of :func:`estimate_proportion` and :func:`estimate_from_sums`.

    Attributes
    ----------
    overall : EstimateRow
        The whole sample.
    domains : tuple of EstimateRow
        One row per domain, in sorted order of the domain labels.
    ci_method : str
    alpha : float
    target : float
    design_df : int
        Degrees of freedom of the whole design (PSUs minus strata).
    """

    overall: EstimateRow
    domains: tuple = field(default_factory=tuple)
    ci_method: str = ""
    alpha: float = 0.05
    target: float = DEFAULT_TARGET
    design_df: int = 0

    def rows(self) -> list:
        """The whole-sample row followed by the domain rows."""
        return [self.overall, *self.domains]

    def domain(self, label) -> EstimateRow:
        """The row of domain ``label`` (KeyError if absent)."""
        for row in self.domains:
            if row.domain == label or str(row.domain) == str(label):
                return row
        raise KeyError(label)

    def to_dict(self) -> dict:
        """``{"estimates": [...]}`` as printed by the command line."""
        return {"estimates": [row.to_dict() for row in self.rows()]}


# ---------------------------------------------------------------------------
# The shared core: linearised variance from per-cell sums
# ---------------------------------------------------------------------------


def _compress(key, size_hint, arrays):
    """Sum ``arrays`` within equal ``key``; return (unique keys, sums...)."""
    key = np.asarray(key, dtype=np.int64)
    if size_hint <= max(_DENSE_LIMIT // 8, 4 * key.size):
        counts = np.bincount(key, minlength=size_hint)
        present = np.flatnonzero(counts)
        sums = [np.bincount(key, weights=a, minlength=size_hint)[present] for a in arrays]
        return present, sums
    unique, inverse = np.unique(key, return_inverse=True)
    inverse = inverse.ravel()
    sums = [np.bincount(inverse, weights=a, minlength=unique.size) for a in arrays]
    return unique, sums


def _core(group, stratum, domain, n, sw, swy, sw2, sw2y, sw2y2, n_domains, psu_mode, n_psu_h, f_h, lonely):
    r"""Per-domain estimate and linearised variance from cell sums.

    ``group`` is the stratum (``psu_mode`` False: each response its own PSU)
    or the PSU (``psu_mode`` True) of each cell.  With
    :math:`z_i = w_i 1[i\in d](y_i - \hat p_d)/\hat W_d` the variance is

    .. math:: v_d = \sum_h f_h \frac{n_h}{n_h - 1}
              \Big(\sum_{c \in h} Z_{c}^2 - \frac{(\sum_{c\in h} Z_{c})^2}{n_h}\Big)

    over the :math:`n_h` PSUs c of stratum h (all of them, not only those
    with responses in d: out-of-domain PSUs contribute zeros), with
    :math:`f_h = 1 - n_h/N_h` under a finite population correction.
    """
    D = n_domains
    W = np.bincount(domain, weights=sw, minlength=D)
    Y = np.bincount(domain, weights=swy, minlength=D)
    N = np.bincount(domain, weights=n, minlength=D)
    SW2 = np.bincount(domain, weights=sw2, minlength=D) if sw2 is not None else None
    p = Y / W
    # Guard against rounding pushing a proportion outside [0, 1].
    p = np.clip(p, 0.0, 1.0)
    pd = p[domain]
    Wd = W[domain]
    s1 = (swy - pd * sw) / Wd
    H = n_psu_h.size
    if psu_mode:
        keys, (z,) = _compress(group.astype(np.int64) * D + domain, int(group.max() + 1) * D, [s1])
        cell_group = keys // D
        cell_domain = keys % D
        psu_count = np.bincount(cell_domain, minlength=D)
        cell_stratum = stratum[cell_group]
        keys, (S1, S2) = _compress(cell_stratum.astype(np.int64) * D + cell_domain, H * D, [z, z * z])
    else:
        one_minus = 1.0 - pd
        s2 = ((sw2y2 - sw2y) + one_minus * one_minus * sw2y + pd * pd * (sw2 - sw2y)) / (Wd * Wd)
        keys, (S1, S2) = _compress(stratum.astype(np.int64) * D + domain, H * D, [s1, s2])
        psu_count = N
    hd_stratum = keys // D
    hd_domain = keys % D
    n_h = n_psu_h[hd_stratum].astype(float)
    f = f_h[hd_stratum]
    with np.errstate(divide="ignore", invalid="ignore"):
        centred = S2 - S1 * S1 / n_h
        scale = np.where(n_h > 1, f * n_h / (n_h - 1.0), 0.0)
    contribution = scale * centred
    if lonely == "adjust":
        lonely_cells = n_h == 1
        contribution = np.where(lonely_cells, f * S1 * S1, contribution)
    v = np.bincount(hd_domain, weights=contribution, minlength=D)
    v = np.maximum(v, 0.0)
    strata_count = np.bincount(hd_domain, minlength=D)
    design_df = np.rint(psu_count).astype(np.int64) - strata_count
    return {
        "n": np.rint(N).astype(np.int64),
        "sum_w": W,
        "sum_w2": SW2,
        "estimate": p,
        "var": v,
        "design_df": design_df,
    }


def _parse_df(df):
    if isinstance(df, str):
        if df == "design":
            return None
        if df.lower() in ("inf", "infinity"):
            return math.inf
        raise ValueError(f"df must be 'design', 'inf' or a number, got {df!r}")
    try:
        value = float(df)
    except (TypeError, ValueError):
        raise ValueError(f"df must be 'design', 'inf' or a number, got {df!r}") from None
    if math.isnan(value) or value <= 0:
        raise ValueError(f"df must be > 0, got {df!r}")
    return value


def _finish(core, labels, *, ci_method, df_choice, alpha, target, beta_n=None, n_kish=None):
    """Turn core arrays into EstimateRow objects."""
    p = core["estimate"]
    v = core["var"]
    n = core["n"].astype(float)
    W = core["sum_w"]
    if n_kish is None:
        n_kish = W * W / core["sum_w2"]
    design_df = core["design_df"].astype(float)
    df_used = design_df if df_choice is None else np.full(p.shape, df_choice)
    beta_n = n if beta_n is None else np.broadcast_to(np.asarray(beta_n, dtype=float), p.shape)
    low, high, note = interval_arrays(ci_method, p, v, df_used, beta_n, n_kish, alpha)
    pq = p * (1.0 - p)
    degenerate = (v <= 0) | (pq <= 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        n_eff = np.where(degenerate, n_kish, pq / np.where(v > 0, v, 1.0))
        # R: svyvar = n/(n-1) * p(1-p); vsrs = svyvar/n (replace) or svyvar (W-n)/(W n).
        svyvar = pq * n / (n - 1.0)
        vsrs_replace = svyvar / n
        vsrs_wor = svyvar * (W - n) / (W * n)
        deff_replace = v / vsrs_replace
        deff_wor = v / vsrs_wor
    valid_replace = (n > 1) & (pq > 0)
    valid_wor = valid_replace & (n < W)
    # The publishing rule uses the Kish-floored size (n_eff is n_kish where degenerate).
    status = status_arrays(low, high, target, n, np.minimum(n_eff, n_kish), MIN_N_PUBLISH)
    df_report = np.where(df_used < 1, 1.0, df_used)
    rows = []
    for k, label in enumerate(labels):
        rows.append(
            EstimateRow(
                domain=label,
                n=int(n[k]),
                estimate=float(p[k]),
                se=float(math.sqrt(v[k])),
                var=float(v[k]),
                ci_low=float(low[k]),
                ci_high=float(high[k]),
                ci_method=ci_method,
                df=float(df_report[k]),
                design_df=int(design_df[k]),
                deff=float(deff_wor[k]) if valid_wor[k] else None,
                deff_replace=float(deff_replace[k]) if valid_replace[k] else None,
                n_eff=float(n_eff[k]),
                n_kish=float(n_kish[k]),
                sum_w=float(W[k]),
                target=target,
                status=str(status[k]),
                publishable=status[k] != STATUS_INSUFFICIENT,
                note=note[k],
            )
        )
    return rows


def estimate_cells(
    stratum,
    domain,
    n_rows,
    sw,
    swy,
    sw2,
    sw2y,
    sw2y2,
    *,
    psu,
    population,
    ci_method,
    df_choice,
    alpha,
    target,
    lonely_psu,
    with_domains=True,
):
    """Estimates from validated per-cell sums (shared by both public paths)."""
    K = n_rows.size
    h, h_labels = factorize(np.asarray(stratum), "stratum", length=K)
    d, d_labels = factorize(np.asarray(domain), "domain", length=K)
    H = len(h_labels)
    D = len(d_labels)
    psu_mode = psu is not None
    if psu_mode:
        raw, _ = factorize(np.asarray(psu), "psu", length=K)
        nested = h.astype(np.int64) * (int(raw.max()) + 1) + raw
        group, nested_labels = factorize(nested, "psu")
        psu_stratum = (nested_labels // (int(raw.max()) + 1)).astype(np.intp)
        n_psu_h = np.bincount(psu_stratum, minlength=H)
        stratum_map = psu_stratum
    else:
        group = h
        n_psu_h = np.rint(np.bincount(h, weights=n_rows, minlength=H)).astype(np.int64)
        stratum_map = h
    check_no_lonely_psu(n_psu_h, h_labels, lonely_psu)
    f_h = np.ones(H)
    if population is not None:
        pop = as_float_array(population, "population", length=K)
        first = np.zeros(H, dtype=np.intp)
        first[h[::-1]] = np.arange(K - 1, -1, -1)
        pop_h = pop[first]
        if np.any(pop != pop_h[h]):
            raise ValueError("population (N_h) must be the same on every row of a stratum")
        if np.any(pop_h < n_psu_h):
            k = int(np.flatnonzero(pop_h < n_psu_h)[0])
            raise ValueError(
                f"population of stratum {label_to_python(h_labels[k])!r} ({pop_h[k]:g}) is smaller than "
                f"its number of sampled PSUs ({n_psu_h[k]})"
            )
        f_h = (pop_h - n_psu_h) / pop_h

    common_core = (n_rows, sw, swy, sw2, sw2y, sw2y2)
    whole = _core(group, stratum_map, np.zeros(K, dtype=np.intp), *common_core, 1, psu_mode, n_psu_h, f_h, lonely_psu)
    by_domain = _core(group, stratum_map, d, *common_core, D, psu_mode, n_psu_h, f_h, lonely_psu)
    common = dict(ci_method=ci_method, df_choice=df_choice, alpha=alpha, target=target)
    overall = _finish(whole, [None], **common)[0]
    labels = [label_to_python(label) for label in d_labels]
    rows = tuple(_finish(by_domain, labels, **common)) if with_domains else ()
    return ProportionEstimate(
        overall=overall,
        domains=rows,
        ci_method=ci_method,
        alpha=alpha,
        target=target,
        design_df=int(whole["design_df"][0]),
    )
