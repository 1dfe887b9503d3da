r"""Weighting: post-stratification, raking and Kish's design effect.

Post-stratification and raking return a :class:`Calibration`: the final
weights plus what :func:`analysis.estimate_proportion` needs to compute the
*residual* (calibration) variance the way R's ``survey`` package does
(``postStratify`` and ``rake``; Lumley 2010, ch. 7).

In the web application the weight of a response is :math:`N_h/n_h` for its
weighting cell h; those weights are analysed as a stratified design with the
cells as strata (DESIGN.md section 6), not through this module.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ._checks import as_float_array, check_positive_weights, factorize, label_to_python


class KishResult:
    """Weight summary returned by :func:`kish_deff` (see its docstring)."""

    __slots__ = ("n", "sum_w", "sum_w2", "min_w", "max_w", "mean_w", "cv", "deff", "n_eff")

    def __init__(self, n, sum_w, sum_w2, min_w, max_w, mean_w, cv, deff, n_eff):
        self.n = n
        self.sum_w = sum_w
        self.sum_w2 = sum_w2
        self.min_w = min_w
        self.max_w = max_w
        self.mean_w = mean_w
        self.cv = cv
        self.deff = deff
        self.n_eff = n_eff

    def __repr__(self):
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"KishResult({fields})"

    def _asdict(self):
        return {name: getattr(self, name) for name in self.__slots__}


def kish_deff(weights):
    r"""Kish's design effect due to unequal weighting, and the effective size.

    Parameters
    ----------
    weights : array_like
        Positive, finite weights of the responses.

    Returns
    -------
    KishResult
        ``n``, ``sum_w``, ``sum_w2``, ``min_w``, ``max_w``, ``mean_w``,
        ``cv`` (coefficient of variation with divisor n), ``deff`` and
        ``n_eff``.

    Notes
    -----
    .. math::
        \text{deff}_{Kish} = 1 + cv^2 = \frac{n\sum w_i^2}{(\sum w_i)^2},
        \qquad n_{Kish} = \frac{n}{\text{deff}_{Kish}} = \frac{(\sum w_i)^2}{\sum w_i^2}.

    Equal weights give deff = 1 and :math:`n_{Kish} = n`.  Scaling all
    weights by a constant changes neither.  An empty array raises ValueError.

    References
    ----------
    .. [1] Kish, L. (1965). *Survey Sampling*. Wiley, section 11.7.
    """
    w = as_float_array(weights, "weights")
    if w.size == 0:
        raise ValueError("kish_deff needs at least one weight")
    check_positive_weights(w)
    n = int(w.size)
    sum_w = float(w.sum())
    sum_w2 = float(np.dot(w, w))
    mean_w = sum_w / n
    cv = float(np.sqrt(np.mean((w - mean_w) ** 2)) / mean_w)
    deff = n * sum_w2 / sum_w**2
    return KishResult(n, sum_w, sum_w2, float(w.min()), float(w.max()), mean_w, cv, deff, sum_w**2 / sum_w2)


@dataclass(frozen=True)
class MarginFit:
    """One post-stratification (one margin of a rake) as applied to the weights.

    Attributes
    ----------
    name : str
        The variable(s), e.g. ``'stype'`` or ``'stype,comp.imp'``.
    codes : ndarray of int
        Category of each response (index into ``labels``).
    labels : tuple
        The categories, sorted.
    totals : ndarray
        Population total of each category.
    weights_before, weights_after : ndarray
        Weights before and after this adjustment (R's ``oldweights`` and
        ``weights`` attributes, used by the residual variance).
    """

    name: str
    codes: np.ndarray
    labels: tuple
    totals: np.ndarray
    weights_before: np.ndarray
    weights_after: np.ndarray


@dataclass(frozen=True)
class Calibration:
    """Weights calibrated by :func:`poststratify` or :func:`rake`.

    Pass it as ``calibration=`` to :func:`analysis.estimate_proportion` so the
    variance is the residual variance of the calibrated estimator.

    Attributes
    ----------
    weights : ndarray
        Final weights.
    initial_weights : ndarray
        Weights before calibration.
    method : {'poststratify', 'rake'}
    margins : tuple of MarginFit
        For raking, the margins as adjusted in the last sweep.
    iterations : int
        Raking sweeps performed (1 for post-stratification).
    converged : bool
    """

    weights: np.ndarray
    initial_weights: np.ndarray
    method: str
    margins: tuple
    iterations: int = 1
    converged: bool = True

    def residualize(self, x):
        r"""Residuals of estimating-function values after calibration.

        ``x`` is an (n,) or (n, k) array of :math:`z_i` values.  For
        post-stratification (R's ``svyrecvar``):

        .. math:: r_i = z_i - w_i \frac{\sum_{j\in g} z_j w^{old}_j / w_j}{\sum_{j \in g} w^{old}_j}

        for the post-stratum g of response i.  For raking, R's backfitting:
        ten sweeps over the margins of
        :math:`r \leftarrow r - w^{(k)} \operatorname{ave}_g(r / w^{(k)})`,
        with :math:`w^{(k)}` the weights after margin k in the last raking
        sweep and ave the unweighted category mean.
        """
        x = np.asarray(x, dtype=float)
        squeeze = x.ndim == 1
        if squeeze:
            x = x[:, None]
        if self.method == "poststratify":
            for margin in self.margins:
                size = len(margin.labels)
                ratio = (margin.weights_before / margin.weights_after)[:, None]
                sums = _group_sums(margin.codes, x * ratio, size)
                old_totals = np.bincount(margin.codes, weights=margin.weights_before, minlength=size)
                x = x - (sums / old_totals[:, None])[margin.codes] * margin.weights_after[:, None]
        else:
            for _ in range(10):
                for margin in self.margins:
                    size = len(margin.labels)
                    psw = margin.weights_after[:, None]
                    counts = np.bincount(margin.codes, minlength=size)[:, None]
                    means = _group_sums(margin.codes, x / psw, size) / counts
                    x = x - psw * means[margin.codes]
        return x[:, 0] if squeeze else x


def _group_sums(codes, matrix, size):
    """Column sums of ``matrix`` within groups ``codes`` (shape (size, k))."""
    out = np.empty((size, matrix.shape[1]))
    for column in range(matrix.shape[1]):
        out[:, column] = np.bincount(codes, weights=matrix[:, column], minlength=size)
    return out


def _cells(variables, n, name):
    """Codes and labels of the (crossed) categories given by ``variables``."""
    if isinstance(variables, np.ndarray) and variables.ndim == 1:
        variables = [variables]
    elif isinstance(variables, np.ndarray) and variables.ndim == 2:
        variables = [variables[:, k] for k in range(variables.shape[1])]
    elif not isinstance(variables, Sequence) or isinstance(variables, str):
        raise ValueError(f"{name}: give an array of categories or a list of arrays")
    elif len(variables) and np.ndim(variables[0]) == 0:
        variables = [variables]
    if len(variables) == 0:
        raise ValueError(f"{name}: no categorising variable given")
    codes_list = []
    labels_list = []
    for k, variable in enumerate(variables):
        codes, labels = factorize(np.asarray(variable), f"{name} variable {k + 1}", length=n)
        codes_list.append(codes)
        labels_list.append([label_to_python(x) for x in labels])
    if len(codes_list) == 1:
        return codes_list[0], [(label,) for label in labels_list[0]], 1
    combined = np.zeros(n, dtype=np.int64)
    for codes, labels in zip(codes_list, labels_list, strict=False):
        combined = combined * len(labels) + codes
    unique, codes = np.unique(combined, return_inverse=True)
    labels = []
    for value in unique.tolist():
        parts = []
        for level_labels in reversed(labels_list):
            value, index = divmod(value, len(level_labels))
            parts.append(level_labels[index])
        labels.append(tuple(reversed(parts)))
    return codes.ravel(), labels, len(codes_list)


def _normalise_totals(totals, width, name):
    """Mapping of category tuple -> positive total."""
    if not isinstance(totals, Mapping):
        raise ValueError(f"{name}: totals must be a mapping from category to population total")
    out = {}
    for key, value in totals.items():
        key_tuple = tuple(key) if isinstance(key, tuple) else (key,)
        if len(key_tuple) != width:
            raise ValueError(f"{name}: total for {key!r} names {len(key_tuple)} categories, expected {width}")
        try:
            total = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name}: total for {key!r} is not a number: {value!r}") from None
        if not math.isfinite(total) or total < 0:
            raise ValueError(f"{name}: total for {key!r} must be a finite number >= 0, got {value!r}")
        out[tuple(label_to_python(k) for k in key_tuple)] = total
    return out


def _match_totals(labels, totals, name, partial):
    """Totals in the order of ``labels``; raise if a category has none."""
    matched = np.empty(len(labels))
    remaining = dict(totals)
    # Categories read from a CSV are text while totals may be keyed by
    # numbers (or the reverse): fall back to matching on the text form.
    by_text: dict[tuple[str, ...], tuple] = {}
    for key in totals:
        by_text.setdefault(tuple(str(k) for k in key), key)
    for index, label in enumerate(labels):
        key = label if label in totals else by_text.get(tuple(str(k) for k in label))
        shown = label[0] if len(label) == 1 else label
        if key is None:
            raise ValueError(f"{name}: the totals have no population total for category {shown!r} found in the sample")
        matched[index] = totals[key]
        remaining.pop(key, None)
        if matched[index] <= 0:
            raise ValueError(f"{name}: category {shown!r} is in the sample but its population total is 0")
    missing = [key for key, value in remaining.items() if value > 0]
    if missing and not partial:
        shown = missing[0][0] if len(missing[0]) == 1 else missing[0]
        raise ValueError(
            f"{name}: category {shown!r} has a population total but no response in the sample "
            "(pass partial=True to ignore such categories)"
        )
    return matched


def poststratify(weights, cells, totals, *, name="poststratify", partial=False):
    r"""Post-stratify weights to known population cell totals.

    Parameters
    ----------
    weights : array_like
        Design weights (> 0) of the n responses.
    cells : array_like or sequence of array_like
        The post-stratum of each response: one array of categories, or
        several arrays (e.g. ``[stype, comp_imp]``) crossed into cells.
    totals : mapping
        Population total of each cell, keyed by category (or by a tuple of
        categories when several variables are crossed).
    name : str
        Used in error messages.
    partial : bool, default False
        Ignore cells with a population total but no response (R's
        ``partial=TRUE``); by default they raise ValueError.

    Returns
    -------
    Calibration
        ``weights`` are :math:`w_i N_g / \hat N_g` with
        :math:`\hat N_g = \sum_{j\in g} w_j`.

    Notes
    -----
    A cell in the sample with no (or a zero) population total raises
    ValueError: the totals must cover every category in the sample.
    The residual variance is computed by
    :meth:`Calibration.residualize` (Lumley 2010, section 7.3).

    References
    ----------
    .. [1] Lumley, T. (2010). *Complex Surveys*. Wiley, ch. 7;
       ``survey::postStratify``.
    """
    w = as_float_array(weights, "weights")
    check_positive_weights(w)
    n = w.size
    if n == 0:
        raise ValueError("poststratify needs at least one response")
    codes, labels, width = _cells(cells, n, name)
    totals_map = _normalise_totals(totals, width, name)
    matched = _match_totals(labels, totals_map, name, partial)
    estimated = np.bincount(codes, weights=w, minlength=len(labels))
    factor = matched / estimated
    new_weights = w * factor[codes]
    plain_labels = tuple(label[0] if width == 1 else label for label in labels)
    margin = MarginFit(name, codes, plain_labels, matched, w, new_weights)
    return Calibration(new_weights, w, "poststratify", (margin,), 1, True)


def rake(
    weights,
    margins,
    totals,
    *,
    names=None,
    epsilon=1e-12,
    max_iter=1000,
    bounds=None,
    total_tolerance=1e-6,
):
    r"""Rake weights to several population margins (iterative proportional fitting).

    Parameters
    ----------
    weights : array_like
        Design weights (> 0).
    margins : sequence of array_like
        One array of categories per margin (an element may itself be a list
        of arrays, crossed).
    totals : sequence of mapping
        Population totals of each margin's categories, in the same order.
    names : sequence of str, optional
        Margin names for messages.
    epsilon : float, default 1e-12
        Convergence: stop when no cell of the cross-classification of all
        margin variables changes its weighted total by more than
        ``epsilon * sum(weights)`` in a sweep (R's ``rake`` rule, with
        ``epsilon < 1`` relative; ``epsilon >= 1`` is absolute).
    max_iter : int, default 1000
        Most sweeps; not converging raises ValueError.
    bounds : (float, float), optional
        Bounds (lower, upper) on the adjustment factor
        :math:`g_i = w_i^{final}/w_i`; after each sweep factors are trimmed
        to the bounds and raking continues.  If the margins cannot be met
        within the bounds, ValueError.
    total_tolerance : float, default 1e-6
        Relative tolerance for the margins' grand totals to agree.

    Returns
    -------
    Calibration

    Notes
    -----
    Each sweep post-stratifies to every margin in turn,
    :math:`w_i \leftarrow w_i\,N_{kg}/\hat N_{kg}`.  Margins whose grand
    totals differ cannot all be met: that raises ValueError before any
    iteration, naming the margins.  The residual variance reproduces R's
    ``svyrecvar`` for raked designs (see :meth:`Calibration.residualize`).

    References
    ----------
    .. [1] Deming, W. E. and Stephan, F. F. (1940). On a least squares
       adjustment of a sampled frequency table when the expected marginal
       totals are known. *Ann. Math. Statist.* 11, 427–444.
    .. [2] Lumley, T. (2010). *Complex Surveys*. Wiley, section 7.4;
       ``survey::rake``.
    """
    w0 = as_float_array(weights, "weights")
    check_positive_weights(w0)
    n = w0.size
    if n == 0:
        raise ValueError("rake needs at least one response")
    if isinstance(margins, (str, bytes)) or not isinstance(margins, Sequence):
        raise ValueError("margins must be a list of arrays, one per margin")
    if not isinstance(totals, Sequence) or len(totals) != len(margins):
        raise ValueError("give one totals mapping per margin")
    if len(margins) == 0:
        raise ValueError("rake needs at least one margin")
    if names is None:
        names = [f"margin {k + 1}" for k in range(len(margins))]
    if len(names) != len(margins):
        raise ValueError("give one name per margin")
    if not (isinstance(max_iter, (int, np.integer)) and max_iter >= 1):
        raise ValueError(f"max_iter must be an integer >= 1, got {max_iter!r}")
    if not (isinstance(epsilon, (int, float)) and epsilon > 0):
        raise ValueError(f"epsilon must be > 0, got {epsilon!r}")
    if bounds is not None:
        low_bound, high_bound = (float(b) for b in bounds)
        if not 0 <= low_bound <= 1 <= high_bound:
            raise ValueError(f"bounds must satisfy 0 <= lower <= 1 <= upper, got {bounds!r}")

    fitted = []
    for variables, margin_totals, name in zip(margins, totals, names, strict=False):
        codes, labels, width = _cells(variables, n, name)
        totals_map = _normalise_totals(margin_totals, width, name)
        matched = _match_totals(labels, totals_map, name, False)
        plain_labels = tuple(label[0] if width == 1 else label for label in labels)
        fitted.append((name, codes, plain_labels, matched))

    grand = [float(t.sum()) for _, _, _, t in fitted]
    for (name, _, _, _), total in zip(fitted[1:], grand[1:], strict=False):
        if abs(total - grand[0]) > total_tolerance * max(abs(grand[0]), 1.0):
            raise ValueError(
                f"margins are inconsistent: {fitted[0][0]} totals sum to {grand[0]:g} "
                f"but {name} totals sum to {total:g}; raking cannot meet both"
            )

    joint = np.zeros(n, dtype=np.int64)
    for _, codes, labels, _ in fitted:
        joint = joint * len(labels) + codes
    _, joint = np.unique(joint, return_inverse=True)
    joint = joint.ravel()
    joint_size = int(joint.max()) + 1
    tolerance = epsilon * float(w0.sum()) if epsilon < 1 else float(epsilon)

    w = w0.copy()
    old_table = np.bincount(joint, weights=w, minlength=joint_size)
    converged = False
    iterations = 0
    last_sweep: list[MarginFit] = []
    delta = math.inf
    while iterations < max_iter:
        last_sweep = []
        for name, codes, labels, matched in fitted:
            estimated = np.bincount(codes, weights=w, minlength=len(labels))
            before = w
            w = w * (matched / estimated)[codes]
            last_sweep.append(MarginFit(name, codes, labels, matched, before, w))
        if bounds is not None:
            w = w0 * np.clip(w / w0, low_bound, high_bound)
        new_table = np.bincount(joint, weights=w, minlength=joint_size)
        delta = float(np.max(np.abs(old_table - new_table)))
        iterations += 1
        if delta < tolerance:
            converged = True
            break
        old_table = new_table
    if not converged:
        raise ValueError(
            f"raking did not converge in {max_iter} sweeps (largest change in a cell total {delta:.3g}, "
            f"tolerance {tolerance:.3g}); the margins may be inconsistent, a category may have too few "
            "responses, or the bounds may be too tight"
        )
    for name, codes, labels, matched in fitted:
        achieved = np.bincount(codes, weights=w, minlength=len(labels))
        gap = float(np.max(np.abs(achieved - matched) / matched))
        if gap > total_tolerance:
            raise ValueError(
                f"raking cannot meet margin {name} within the bounds {bounds!r} "
                f"(relative gap {gap:.3g}); widen the bounds or merge categories"
            )
    return Calibration(w, w0, "rake", tuple(last_sweep), iterations, True)
