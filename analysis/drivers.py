"""Key drivers: which aspects of a service are associated with overall satisfaction.

A design-based logistic regression of overall satisfaction (0/1) on satisfaction with each aspect
(0/1 each), as R's::

    dsn <- svydesign(ids = ~1, strata = ~cell, weights = ~w, data = d)   # or ids = ~psu
    fit <- svyglm(y ~ a1 + a2 + ..., design = dsn, family = quasibinomial())
    coef(fit); SE(fit); confint(fit)

* **Fit**: iteratively reweighted least squares with the sampling weights as prior weights
  (rescaled to mean 1, as ``svyglm``), R's ``glm.fit`` start and stopping rule (relative change
  of the deviance below ``1e-8``, at most 25 iterations). Responses missing the outcome or any
  aspect are left out (complete cases); their strata keep their sizes, as R's subset does.
* **Variance**: linearisation (sandwich). The score contributions ``x_i w_i (y_i - mu_i)`` times
  the inverse information are totalled by PSU, centred within strata and scaled by
  ``n_h/(n_h - 1)`` (``svyrecvar``); a stratum with a single PSU contributes its uncentred
  square (R's ``survey.lonely.psu = "adjust"``; the scores sum to zero, so this is centring at
  the grand mean).
* **Intervals**: ``coefficient ± t(0.975, df) × se`` with ``df`` = PSUs − strata + 1 − the number
  of estimated coefficients, which is what ``confint`` on a ``svyglm`` uses (its ``df.residual``).
  The odds ratio and its interval are the exponentials.

Importance is the coefficient, a log odds ratio: how much more likely a respondent satisfied with
the aspect is to be satisfied overall than one who is not, the other aspects held equal.

Limits (say them wherever the numbers are shown):

* **Association, not cause.** Respondents who are satisfied overall tend to rate everything well
  (halo); a large coefficient does not prove that improving the aspect raises overall satisfaction.
* **Collinearity.** Aspects are correlated; the coefficients share what they have in common, so
  an aspect can look weak because another one carries the same information. Intervals widen.
* **Complete cases only.** Respondents who skipped an aspect are left out of the model; if they
  differ, the model describes those who answered everything.
* **Matrix sampling.** Criteria asked of a random part of the respondents are not in the model
  (only the aspects every respondent is asked); with them the complete cases would be few.

Not estimable, never a huge number: an aspect with no variation among the complete cases (R: an
``NA`` coefficient), or one separated from the outcome (in a 2×2 table of the aspect against the
outcome, an empty cell: the estimate diverges) gets ``None``; a model whose fit diverges or does
not converge is flagged (``status``) and its coefficients are not reported.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import stats

from ._checks import as_float_array, check_alpha, check_positive_weights, factorize

__all__ = ["METHOD", "DriverCoefficient", "DriverModel", "fit_drivers"]

#: Method name and version stored with published drivers.
METHOD = "svyglm-logit-1"
#: R's ``glm.control()``.
EPSILON = 1e-8
MAX_ITER = 25
#: A fitted probability this close to 0 or 1 means separation (R's warning threshold is 10 × machine epsilon).
FITTED_EDGE = 10 * np.finfo(float).eps


@dataclass(frozen=True)
class DriverCoefficient:
    """One aspect's association with the outcome; everything None when not estimable."""

    name: str
    coefficient: float | None
    se: float | None
    ci_low: float | None
    ci_high: float | None
    #: Why it is not estimable: ``no_variation`` or ``separation``; None when it is.
    note: str | None = None

    @property
    def estimable(self) -> bool:
        return self.coefficient is not None

    @property
    def odds_ratio(self) -> float | None:
        return None if self.coefficient is None else float(np.exp(self.coefficient))

    @property
    def odds_ratio_ci(self) -> tuple[float, float] | None:
        if self.ci_low is None or self.ci_high is None:
            return None
        return float(np.exp(self.ci_low)), float(np.exp(self.ci_high))


@dataclass(frozen=True)
class DriverModel:
    """The fitted model: its coefficients in the order of the aspects given."""

    #: ``ok``; ``not_converged`` (IRLS stopped at its iteration limit) or ``diverged`` (fitted
    #: probabilities of 0 or 1 with a joint separation): then no coefficient is reported.
    status: str
    #: Complete cases, and how many of them are satisfied overall (events) or not.
    n: int
    events: int
    non_events: int
    #: Degrees of freedom of the t intervals (R's ``df.residual`` of the ``svyglm``).
    df: int
    iterations: int
    intercept: float | None
    drivers: tuple[DriverCoefficient, ...]

    @property
    def converged(self) -> bool:
        return self.status == "ok"

    def ranked(self) -> list[DriverCoefficient]:
        """Estimable drivers, strongest association (largest coefficient) first."""
        estimable = [(d.coefficient, d) for d in self.drivers if d.coefficient is not None]
        return [d for _, d in sorted(estimable, key=lambda pair: -pair[0])]


def _logit_irls(y, X, w):
    """R's ``glm.fit`` for the binomial family: coefficients, fitted means, the working weights of
    the last least-squares step (R returns those, computed before its update), iterations, converged."""
    mu = (w * y + 0.5) / (w + 1.0)
    eta = np.log(mu / (1.0 - mu))

    def deviance(mu):
        with np.errstate(divide="ignore", invalid="ignore"):
            a = np.where(y > 0, y * np.log(y / mu), 0.0)
            b = np.where(y < 1, (1 - y) * np.log((1 - y) / (1 - mu)), 0.0)
        return float(2.0 * np.sum(w * (a + b)))

    dev_old = deviance(mu)
    beta = np.zeros(X.shape[1])
    for iteration in range(1, MAX_ITER + 1):
        mu_eta = mu * (1.0 - mu)
        z = eta + (y - mu) / mu_eta
        working = w * mu_eta
        sw = np.sqrt(working)
        beta, *_ = np.linalg.lstsq(X * sw[:, None], z * sw, rcond=None)
        eta = X @ beta
        mu = 1.0 / (1.0 + np.exp(-eta))
        mu = np.clip(mu, np.finfo(float).eps, 1 - np.finfo(float).eps)
        dev = deviance(mu)
        if abs(dev - dev_old) / (abs(dev) + 0.1) < EPSILON:
            return beta, mu, working, iteration, True
        dev_old = dev
    return beta, mu, working, MAX_ITER, False


def fit_drivers(
    y,
    aspects,
    *,
    names: Sequence[str] | None = None,
    weights=None,
    strata=None,
    psu=None,
    alpha: float = 0.05,
) -> DriverModel:
    """Design-based logistic regression of ``y`` on the columns of ``aspects`` (see the module).

    Parameters
    ----------
    y : array of 0/1, length n (nan: missing)
    aspects : array (n, k) of 0/1 (nan: not answered)
    names : the aspects' names (default ``a1``…)
    weights : sampling weights (default 1)
    strata, psu : labels per response; default one stratum, and each response its own PSU.
    alpha : 1 − the interval's level.

    Strata sizes (and so ``n_h``) count every response given, complete or not, as R's
    ``svyglm`` does after dropping incomplete rows from a design.
    """
    alpha = check_alpha(alpha)
    yv = np.asarray(y, dtype=float)
    if yv.ndim != 1:
        raise ValueError(f"y must be one-dimensional, got shape {yv.shape}")
    n_all = yv.size
    A = np.asarray(aspects, dtype=float)
    if A.ndim != 2 or A.shape[0] != n_all:
        raise ValueError(f"aspects must be an (n, k) array with n = {n_all}")
    k = A.shape[1]
    names = list(names) if names is not None else [f"a{j + 1}" for j in range(k)]
    if len(names) != k:
        raise ValueError("names must give one name per aspect column")
    w = np.ones(n_all) if weights is None else as_float_array(weights, "weights", length=n_all)
    check_positive_weights(w)
    stratum, _ = factorize(np.zeros(n_all, dtype=int) if strata is None else strata, "strata", length=n_all)
    unit, _ = factorize(np.arange(n_all) if psu is None else psu, "psu", length=n_all)
    if np.any((~np.isnan(yv)) & (yv != 0) & (yv != 1)) or np.any((~np.isnan(A)) & (A != 0) & (A != 1)):
        raise ValueError("y and aspects must be 0/1 (or nan where missing)")

    # R: weights rescaled to mean 1 over every row; the design's PSU counts per stratum from every row.
    w = w / w.mean()
    H = int(stratum.max()) + 1 if n_all else 0
    unit_stratum = np.zeros(int(unit.max()) + 1 if n_all else 0, dtype=np.intp)
    unit_stratum[unit] = stratum
    n_h = np.bincount(unit_stratum, minlength=H).astype(float)

    complete = ~np.isnan(yv) & ~np.isnan(A).any(axis=1)
    yc, Ac, wc = yv[complete], A[complete], w[complete]
    n = int(complete.sum())
    events = int(yc.sum())
    notes: list[str | None] = [None] * k
    for j in range(k):
        column = Ac[:, j]
        if n == 0 or column.min() == column.max():
            notes[j] = "no_variation"
            continue
        # A 2x2 table of the aspect against the outcome with an empty cell: the estimate diverges.
        for a in (0, 1):
            outcome = yc[column == a]
            if outcome.min() == outcome.max():
                notes[j] = "separation"
    kept = [j for j in range(k) if notes[j] is None]
    p = len(kept) + 1
    degf = int(np.unique(unit[complete]).size - np.unique(stratum[complete]).size) if n else 0
    df = degf + 1 - p

    def empty(status):
        return DriverModel(
            status,
            n,
            events,
            n - events,
            df,
            0,
            None,
            tuple(DriverCoefficient(names[j], None, None, None, None, notes[j] or status) for j in range(k)),
        )

    if n == 0 or events in (0, n):
        return empty("no_variation")
    X = np.column_stack([np.ones(n), Ac[:, kept]])
    beta, mu, working, iterations, converged = _logit_irls(yc, X, wc)
    edge = bool(np.any((mu <= FITTED_EDGE) | (mu >= 1 - FITTED_EDGE)))
    if not converged or edge:
        model = empty("not_converged" if not converged else "diverged")
        return DriverModel(model.status, n, events, n - events, df, iterations, None, model.drivers)

    # Sandwich, as R's svy.varcoef: Ainv = (X'WX)^-1 and the scores x_i × working residual × working
    # weight, with glm.fit's last working weights and its final fitted means; then svyrecvar.
    Ainv = np.linalg.inv(X.T @ (X * working[:, None]))
    influence = (X * (working * (yc - mu) / (mu * (1.0 - mu)))[:, None]) @ Ainv
    totals = np.zeros((unit_stratum.size, p))
    np.add.at(totals, unit[complete], influence)
    S1 = np.zeros((H, p))
    np.add.at(S1, unit_stratum, totals)
    S2 = np.zeros((H, p, p))
    np.add.at(S2, unit_stratum, totals[:, :, None] * totals[:, None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        centred = S2 - S1[:, :, None] * S1[:, None, :] / n_h[:, None, None]
        scale = np.where(n_h > 1, n_h / (n_h - 1.0), 0.0)
    lonely = n_h == 1
    contribution = np.where(lonely[:, None, None], S1[:, :, None] * S1[:, None, :], scale[:, None, None] * centred)
    covariance = np.nansum(contribution, axis=0)
    se = np.sqrt(np.maximum(np.diag(covariance), 0.0))
    quantile = float(stats.t.ppf(1 - alpha / 2, df)) if df > 0 else float("nan")
    drivers = []
    for j in range(k):
        if notes[j] is not None:
            drivers.append(DriverCoefficient(names[j], None, None, None, None, notes[j]))
            continue
        i = kept.index(j) + 1
        b, s = float(beta[i]), float(se[i])
        low, high = (b - quantile * s, b + quantile * s) if df > 0 else (None, None)
        drivers.append(DriverCoefficient(names[j], b, s, low, high))
    return DriverModel("ok", n, events, n - events, df, iterations, float(beta[0]), tuple(drivers))
