r"""R's ``svyciprop(method="likelihood")``: a design-scaled profile-likelihood interval.

R fits ``svyglm(y ~ 1, family=quasibinomial)``, profiles its (weighted)
binomial deviance on a grid of nine steps each way (``MASS::profile.glm``),
interpolates the profile with an FMM cubic spline and reads off where the
signed root deviance reaches :math:`\pm t_{df}\sqrt{\lambda}`, with
:math:`\lambda` the design effect of the intercept (Lumley & Scott 2014).
This module reproduces those steps, including the IRLS stopping rule and
the spline, so that the interval matches R's to rounding.  It needs the
responses (not sufficient statistics) and is offered for analysts; the
published interval is :data:`analysis.DEFAULT_CI_METHOD`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from scipy import special

from ._checks import check_alpha
from .design import _build_design, _parse_df, _variance_of_columns
from .weighting import Calibration

_THRESH = 30.0
_EPS = np.finfo(float).eps


def _linkinv(eta):
    tmp = np.where(eta < -_THRESH, _EPS, np.where(eta > _THRESH, 1.0 / _EPS, np.exp(np.clip(eta, -_THRESH, _THRESH))))
    return tmp / (1.0 + tmp)


def _mu_eta(eta):
    opexp = 1.0 + np.exp(np.clip(eta, -_THRESH, _THRESH))
    return np.where(np.abs(eta) > _THRESH, _EPS, np.exp(np.clip(eta, -_THRESH, _THRESH)) / (opexp * opexp))


def _deviance(y, mu, weights):
    with np.errstate(divide="ignore", invalid="ignore"):
        part = np.where(y != 0, y * np.log(np.where(y != 0, y, 1.0) / mu), 0.0) + np.where(
            y != 1, (1 - y) * np.log(np.where(y != 1, 1 - y, 1.0) / (1 - mu)), 0.0
        )
    return float(np.sum(2.0 * weights * part))


def _glm_intercept(y, weights, epsilon=1e-8, max_iter=25):
    """R's glm.fit for ``y ~ 1``, binomial family, logit link."""
    mustart = (weights * y + 0.5) / (weights + 1.0)
    eta = np.log(mustart / (1.0 - mustart))
    mu = _linkinv(eta)
    devold = _deviance(y, mu, weights)
    beta = 0.0
    w_last: np.ndarray | None = None
    dev = devold
    for _ in range(max_iter):
        mu_eta = _mu_eta(eta)
        z = eta + (y - mu) / mu_eta
        w = np.sqrt(weights * mu_eta * mu_eta / (mu * (1.0 - mu)))
        beta = float(np.dot(w * w, z) / np.dot(w, w))
        w_last = w
        eta = np.full(y.shape, beta)
        mu = _linkinv(eta)
        dev = _deviance(y, mu, weights)
        if abs(dev - devold) / (abs(dev) + 0.1) < epsilon:
            break
        devold = dev
    if w_last is None:
        raise ValueError(f"max_iter must be at least 1, got {max_iter}")
    return beta, mu, eta, w_last * w_last, dev


def _fmm_spline(x, y):
    """Coefficients of R's ``spline(method="fmm")`` (Forsythe, Malcolm & Moler)."""
    n = x.size
    b = np.zeros(n)
    c = np.zeros(n)
    d = np.zeros(n)
    if n < 2:
        return b, c, d
    if n < 3:
        t = (y[1] - y[0]) / (x[1] - x[0])
        b[:] = t
        return b, c, d
    nm1 = n - 1
    d[0] = x[1] - x[0]
    c[1] = (y[1] - y[0]) / d[0]
    for i in range(1, nm1):
        d[i] = x[i + 1] - x[i]
        b[i] = 2.0 * (d[i - 1] + d[i])
        c[i + 1] = (y[i + 1] - y[i]) / d[i]
        c[i] = c[i + 1] - c[i]
    b[0] = -d[0]
    b[nm1] = -d[n - 2]
    c[0] = c[nm1] = 0.0
    if n > 3:
        c[0] = c[2] / (x[3] - x[1]) - c[1] / (x[2] - x[0])
        c[nm1] = c[n - 2] / (x[nm1] - x[n - 3]) - c[n - 3] / (x[n - 2] - x[n - 4])
        c[0] = c[0] * d[0] * d[0] / (x[3] - x[0])
        c[nm1] = -c[nm1] * d[n - 2] * d[n - 2] / (x[nm1] - x[n - 4])
    for i in range(1, n):
        t = d[i - 1] / b[i - 1]
        b[i] = b[i] - t * d[i - 1]
        c[i] = c[i] - t * c[i - 1]
    c[nm1] = c[nm1] / b[nm1]
    for i in range(n - 2, -1, -1):
        c[i] = (c[i] - d[i] * c[i + 1]) / b[i]
    b[nm1] = (y[nm1] - y[n - 2]) / d[n - 2] + d[n - 2] * (c[n - 2] + 2.0 * c[nm1])
    for i in range(nm1):
        b[i] = (y[i + 1] - y[i]) / d[i] - d[i] * (c[i + 1] + 2.0 * c[i])
        d[i] = (c[i + 1] - c[i]) / d[i]
        c[i] = 3.0 * c[i]
    c[nm1] = 3.0 * c[nm1]
    d[nm1] = d[n - 2]
    return b, c, d


def _spline_eval(u, x, y, b, c, d):
    index = np.clip(np.searchsorted(x, u, side="right") - 1, 0, x.size - 1)
    dx = u - x[index]
    return y[index] + dx * (b[index] + dx * (c[index] + dx * d[index]))


class GlmInterval(NamedTuple):
    r"""Result of :func:`likelihood_ci` and :func:`logit_ci`.

    Attributes
    ----------
    low, high : float
        Interval bounds.
    estimate : float
        :math:`\operatorname{expit}(\hat\beta)` of the glm fit (equals the
        weighted proportion up to the IRLS stopping rule, ~1e-9).
    method : str
    alpha : float
    df : float
    """

    low: float
    high: float
    estimate: float
    method: str
    alpha: float
    df: float


def _fit(y, weights, strata, psu, fpc, df, calibration, lonely_psu, domain=None):
    """svyglm(y ~ 1, family=quasibinomial) pieces shared by both intervals.

    ``domain`` (a boolean mask) fits the domain as R's ``svyby`` does: the
    glm on the domain's responses, the variance over the whole design.
    """
    df_choice = _parse_df(df)
    if calibration is not None:
        if not isinstance(calibration, Calibration):
            raise ValueError("calibration must be the result of poststratify() or rake()")
        weights = calibration.weights if weights is None else weights
    design = _build_design(y, weights, strata, psu, fpc, lonely_psu)
    n_all = design.y.size
    if domain is None:
        mask = np.ones(n_all, dtype=bool)
    else:
        mask = np.asarray(domain, dtype=bool)
        if mask.shape != (n_all,):
            raise ValueError("domain must be a boolean mask with one value per response")
        if not mask.any():
            raise ValueError("the domain has no responses")
    y = design.y[mask]
    w = design.w[mask]
    n = y.size
    total = float(np.dot(w, y))
    if total <= 0 or total >= float(w.sum()):
        raise ValueError("the logistic fit needs both 0 and 1 answers (the estimate is 0 or 1)")
    # svyglm rescales weights to mean 1 over the design's rows: a calibrated
    # design's domain keeps every row (zero weight outside the domain).
    prior = w / (w.sum() / n_all if calibration is not None else w.mean())
    beta, mu, eta, working_weights, deviance = _glm_intercept(y, prior)
    if abs(special.expit(beta) - total / float(w.sum())) > 1e-6:
        # R's glm.fit diverges here too (no step-halving from its start values).
        raise ValueError("the logistic fit did not converge; use the xlogit interval")
    residual_working = (y - mu) / _mu_eta(eta)
    naive = 1.0 / float(working_weights.sum())
    influence = np.zeros((n_all, 1))
    influence[mask, 0] = residual_working * working_weights * naive
    sandwich = float(_variance_of_columns(design, influence, calibration, lonely_psu)[0])
    if df_choice is None:
        psu_count = np.unique(design.psu[mask]).size if design.psu is not None else n
        ddf = float(psu_count - np.unique(design.stratum[mask]).size)
    else:
        ddf = df_choice
    if ddf <= 0:
        raise ValueError("the glm intervals need df > 0")
    return design, y, w, prior, beta, mu, deviance, naive, sandwich, ddf


def logit_ci(
    y,
    weights=None,
    strata=None,
    psu=None,
    fpc=None,
    *,
    alpha=0.05,
    df="design",
    calibration=None,
    lonely_psu="fail",
    domain=None,
):
    r"""R's ``svyciprop(method="logit")``: Wald interval of the svyglm intercept.

    :math:`\operatorname{expit}(\hat\beta \pm t_{1-\alpha/2,df}\, se(\hat\beta))`
    with the glm estimate and its sandwich standard error.  Mathematically
    the ``xlogit`` interval of :func:`analysis.proportion_ci`; R obtains the
    t quantile as ``qnorm`` of ``1 - 2*pnorm(qt(...))``, which loses all
    precision at very small df, so prefer ``xlogit``.  Parameters as in
    :func:`likelihood_ci`; ``domain`` is a boolean mask selecting a domain
    (estimated as a domain of the whole design, with its own df).
    """
    alpha = check_alpha(alpha)
    fitted = _fit(y, weights, strata, psu, fpc, df, calibration, lonely_psu, domain)
    beta, sandwich, ddf = fitted[4], fitted[8], fitted[9]
    quantile = -float(special.ndtri(alpha / 2)) if math.isinf(ddf) else -float(special.stdtrit(ddf, alpha / 2))
    se_beta = math.sqrt(sandwich)
    low, high = special.expit([beta - quantile * se_beta, beta + quantile * se_beta])
    return GlmInterval(float(low), float(high), float(special.expit(beta)), "logit", alpha, ddf)


def likelihood_ci(
    y,
    weights=None,
    strata=None,
    psu=None,
    fpc=None,
    *,
    alpha=0.05,
    df="design",
    calibration=None,
    lonely_psu="fail",
):
    r"""R's profile-likelihood interval for a proportion (``svyciprop(method="likelihood")``).

    Parameters
    ----------
    y, weights, strata, psu, fpc, calibration, lonely_psu
        The whole-sample design, as in :func:`analysis.estimate_proportion`.
    alpha : float, default 0.05
    df : {'design', 'inf'} or float, default 'design'

    Returns
    -------
    GlmInterval

    Notes
    -----
    With :math:`D(\beta)` the binomial deviance of ``y ~ 1`` under weights
    rescaled to mean 1, :math:`\phi` the design-based variance of the
    Pearson residuals and :math:`\lambda = \hat V_{design}(\hat\beta) /
    \hat V_{model}(\hat\beta)`, the interval is where

    .. math:: \operatorname{sign}(\beta - \hat\beta)\sqrt{(D(\beta) - D(\hat\beta))/\phi} = \pm t_{1-\alpha/2,\,df}\sqrt{\lambda},

    located as R does: the profile on a grid of
    :math:`\hat\beta \pm k\,\delta\, se(\hat\beta)`, k = 1..9, interpolated by
    an FMM cubic spline.  An estimate of 0 or 1 raises ValueError (the
    logistic fit does not exist; R fails too).

    References
    ----------
    .. [1] Lumley, T. and Scott, A. (2014). Tests for regression models
       fitted to survey data. *Aust. N. Z. J. Stat.* 56, 1–14.
       doi:10.1111/anzs.12065
    .. [2] Venables, W. N. and Ripley, B. D. (2002). *Modern Applied
       Statistics with S*, 4th ed. Springer (``MASS::profile.glm``).
    """
    alpha = check_alpha(alpha)
    design, y, w, prior, beta, mu, deviance, naive, sandwich, ddf = _fit(
        y, weights, strata, psu, fpc, df, calibration, lonely_psu
    )
    n = y.size
    lam = sandwich / naive
    se_beta = math.sqrt(sandwich)
    # survey's residuals.svyglm divides the sampling weights back out.
    pearson = (y - mu) / np.sqrt(mu * (1.0 - mu))
    mean_pearson = float(np.dot(w, pearson) / w.sum())
    dispersion = float(np.dot(w, (pearson - mean_pearson) ** 2) / w.sum()) * n / (n - 1.0)
    quantile = special.ndtri(alpha / 2) if math.isinf(ddf) else special.stdtrit(ddf, alpha / 2)
    alpha_adjusted = special.ndtr(quantile * math.sqrt(lam)) / 2.0
    zmax = -float(special.stdtrit(n - 1.0, alpha_adjusted / 2.0))
    step_size = zmax / 5.0
    points_z = [0.0]
    points_b = [beta]
    for sign in (-1.0, 1.0):
        step = 0
        z = 0.0
        while True:
            step += 1
            if not (step < 10 and abs(z) < zmax):
                break
            b_i = beta + sign * step * step_size * se_beta
            dev_i = _deviance(y, _linkinv(np.full(n, b_i)), prior)
            zz = (dev_i - deviance) / dispersion
            if zz <= -0.001:
                # As MASS::profile.glm: the grid found a better fit than the estimate.
                raise ValueError(
                    "profiling found a better fit than the estimate (the design variance is zero up to "
                    "rounding, e.g. the outcome is a calibration margin): no likelihood interval"
                )
            zz = max(zz, 0.0)
            z = sign * math.sqrt(zz)
            points_z.append(z)
            points_b.append(b_i)
    order = np.argsort(np.asarray(points_z), kind="stable")
    prof_z = np.asarray(points_z)[order]
    prof_b = np.asarray(points_b)[order]
    x_order = np.argsort(prof_b, kind="stable")
    xs = prof_b[x_order]
    ys = prof_z[x_order]
    coef = _fmm_spline(xs, ys)
    grid = np.linspace(xs[0], xs[-1], 3 * xs.size)
    grid[-1] = xs[-1]
    spline_z = _spline_eval(grid, xs, ys, *coef)
    cutoff = np.array([special.ndtri(2 * alpha_adjusted), -special.ndtri(2 * alpha_adjusted)])
    by_z = np.argsort(spline_z, kind="stable")
    bounds = np.interp(cutoff, spline_z[by_z], grid[by_z], left=np.nan, right=np.nan)
    if not np.all(np.isfinite(bounds)):
        raise ValueError("the profile likelihood did not reach the interval's limits")
    low, high = special.expit(bounds)
    if not low <= special.expit(beta) <= high:
        raise ValueError("the profile likelihood is too irregular to give an interval")
    return GlmInterval(float(low), float(high), float(special.expit(beta)), "likelihood", alpha, ddf)
