"""Input checks shared by the analysis modules.

Every public function validates its input here and raises :class:`ValueError`
with a message a person can act on; nothing relies on ``assert`` or on a NaN
travelling silently through the arithmetic.
"""

from __future__ import annotations

import numpy as np


def as_float_array(values, name: str, *, length: int | None = None) -> np.ndarray:
    """Return ``values`` as a 1-d float array, or raise ValueError."""
    try:
        array = np.asarray(values, dtype=float)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{name} must be numbers: {error}") from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name} has {array.shape[0]} values but y has {length}")
    if not np.all(np.isfinite(array)):
        bad = int(np.flatnonzero(~np.isfinite(array))[0])
        raise ValueError(f"{name} has a missing or infinite value (position {bad})")
    return array


def check_binary(y: np.ndarray, name: str = "y") -> None:
    """Raise ValueError unless every value of ``y`` is 0 or 1."""
    if np.count_nonzero(y == 0.0) + np.count_nonzero(y == 1.0) == y.size:
        return
    bad = (y != 0.0) & (y != 1.0)
    if np.any(bad):
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be 0 or 1 (satisfied = 1); found {y[position]!r} at position {position}")


def check_positive_weights(weights: np.ndarray, name: str = "weights") -> None:
    """Raise ValueError unless every weight is > 0."""
    bad = weights <= 0
    if np.any(bad):
        position = int(np.flatnonzero(bad)[0])
        raise ValueError(f"{name} must be > 0; found {weights[position]!r} at position {position}")


def factorize(values, name: str, *, length: int | None = None):
    """Codes 0..k-1 and the sorted distinct labels of a 1-d array of labels.

    Non-negative integer arrays whose largest value is not much larger than
    the number of rows are coded with ``np.bincount`` (linear time); text and
    other object labels are hashed (``pandas.factorize``) and only the k
    distinct labels are sorted; anything else goes through ``np.unique`` (a
    sort).  Labels are returned in sorted order either way, so the codes are
    the ranks of the labels.
    """
    array = np.asarray(values)
    if array.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {array.shape}")
    if length is not None and array.shape[0] != length:
        raise ValueError(f"{name} has {array.shape[0]} values but y has {length}")
    if array.dtype.kind in "iu" and array.size:
        low = int(array.min())
        high = int(array.max())
        if low >= 0 and high <= 4 * array.size + 1024:
            present = np.bincount(array, minlength=high + 1) > 0
            labels = np.flatnonzero(present)
            if labels.size == high + 1:
                # Already the codes 0..k-1 (the usual case for database ids).
                return array.astype(np.intp, copy=False), labels
            lookup = np.cumsum(present) - 1
            return lookup[array].astype(np.intp, copy=False), labels
    if array.dtype.kind == "f":
        if not np.all(np.isfinite(array)):
            raise ValueError(f"{name} has a missing value")
    elif array.dtype.kind in "OU":
        hashed = _factorize_by_hashing(array, name)
        if hashed is not None:
            return hashed
        try:
            labels, codes = np.unique(array, return_inverse=True)
        except TypeError:
            # Mixed label types cannot be sorted together: compare them as text.
            labels, codes = np.unique(array.astype(str), return_inverse=True)
        return codes.astype(np.intp, copy=False).ravel(), labels
    labels, codes = np.unique(array, return_inverse=True)
    return codes.astype(np.intp, copy=False).ravel(), labels


def _factorize_by_hashing(array: np.ndarray, name: str):
    """Codes and sorted labels of text/object labels, or None if they cannot be sorted together.

    One hashing pass over the n values and a sort of the k distinct labels
    only: sorting a million strings (``np.unique``) costs seconds, hashing
    them tens of milliseconds.  The labels and codes are those ``np.unique``
    gives.  pandas is imported here, not at the top, so that importing
    :mod:`analysis` (the web application does) does not load it.
    """
    import pandas  # start-up: importing analysis (the web application does) does not load pandas

    codes, uniques = pandas.factorize(array, use_na_sentinel=True)
    if codes.size and int(codes.min()) < 0:  # None or NaN: pandas' missing-value sentinel
        raise ValueError(f"{name} has a missing value")
    uniques = np.asarray(uniques, dtype=array.dtype if array.dtype.kind == "U" else object)
    try:
        order = np.argsort(uniques, kind="stable")
    except TypeError:
        # Mixed label types cannot be sorted together: the caller compares them as text.
        return None
    ranks = np.empty(order.size, dtype=np.intp)
    ranks[order] = np.arange(order.size, dtype=np.intp)
    return ranks[codes], uniques[order]


def check_alpha(alpha) -> float:
    """Return alpha as a float in (0, 1), or raise ValueError."""
    try:
        value = float(alpha)
    except (TypeError, ValueError):
        raise ValueError(f"alpha must be a number in (0, 1), got {alpha!r}") from None
    if not 0.0 < value < 1.0:
        raise ValueError(f"alpha must be in (0, 1), got {alpha!r}")
    return value


def check_target(target) -> float:
    """Return the target as a float in [0, 1], or raise ValueError."""
    try:
        value = float(target)
    except (TypeError, ValueError):
        raise ValueError(f"target must be a proportion in [0, 1], got {target!r}") from None
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"target must be a proportion in [0, 1], got {target!r}")
    return value


def label_to_python(label):
    """Turn a numpy scalar label into the plain Python value (for JSON)."""
    if isinstance(label, np.generic):
        return label.item()
    return label


def check_no_lonely_psu(n_psu_h, labels, lonely_psu: str) -> None:
    """Under ``lonely_psu='fail'``, refuse a stratum with a single PSU (R's default)."""
    if lonely_psu != "fail" or not np.any(n_psu_h < 2):
        return
    k = int(np.flatnonzero(n_psu_h < 2)[0])
    raise ValueError(
        f"stratum {label_to_python(labels[k])!r} has only one PSU, so its variance cannot be estimated; "
        "merge it with a similar stratum or use lonely_psu='certainty' or 'adjust'"
    )
