r"""Weights of the product's weighting cells (DESIGN.md §6).

A weighting cell h is unit × service group × respondent type × quarter. Its weight is the
post-stratification weight :math:`w_h = N_h / n_h`, with :math:`N_h` the cell's transaction
count and :math:`n_h` its responses. Real data are never that tidy, so these rules apply,
within each *group* (a unit in a quarter) unless said otherwise:

0. **A zero count beside responses is no count.** A cell that has responses cannot have had
   no transactions, so its 0 is treated as missing (never a weight of 0, never a crash).
1. **Empty cells.** Cells with transactions but no response leave their :math:`N_h`
   unrepresented. Their total is spread over the group's responding cells in proportion to
   those cells' own counts (a weighting-class adjustment), so the unit keeps its whole
   weight: :math:`w_h = \frac{N_h}{n_h}\cdot\frac{\sum_{g\in G} N_g}{\sum_{g\in G,\,n_g>0} N_g}`.
2. **Responding cells without a count** make the group's cell-level counts unusable: the
   whole group becomes one cell weighted by the group's total count,
   :math:`w = \sum_{g} N_g / \sum_g n_g`.
3. **A group with no usable count at all** (its counts may first be imputed from the unit's
   other quarters by the caller, see ``webapp.publishing.compute``) takes the mean weight of
   the counted responses in its adjustment class — the first of ``classes`` that has any,
   e.g. the same service in the same quarter, then the same service, then the same quarter,
   then every counted response: :math:`w = \sum_{c} w_c n_c / \sum_c n_c` over the class's
   counted cells. That is, the group is assumed to have answered at its class's response
   rate. So weight 1 (a response rate of 100%) is never mixed with :math:`N/n` weights.
4. Only when **no cell has a count at all** is every response weighted 1 (*unweighted*):
   then nothing is mixed either.

Every response of a cell (or collapsed group) gets the same weight, so the estimates use a
stratified design with the cells as strata (``svydesign(id=~1, strata=~cell, weights=~w)``);
weights from rule 3 are treated as known, like the others.

References
----------
Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
Statistics* 19(2), 81–97 (weighting-class adjustments and collapsing of cells).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ._checks import as_float_array


class CellWeights(NamedTuple):
    """Result of :func:`cell_weights`, aligned with the input cells.

    Attributes
    ----------
    stratum : ndarray of int
        The stratum each cell belongs to for variance estimation: its own index, or the
        index of the first cell of its group when the group was collapsed (rule 2).
    weight : ndarray of float
        Weight of each response in the cell (0 for cells without responses).
    rule : ndarray of str
        ``'cell'``, ``'collapsed'`` (rule 2), ``'class'`` (rule 3) or ``'unweighted'`` (rule 4).
    """

    stratum: np.ndarray
    weight: np.ndarray
    rule: np.ndarray


def _codes(labels: Sequence, name: str, length: int) -> np.ndarray:
    codes: dict = {}
    out = np.fromiter((codes.setdefault(label, len(codes)) for label in labels), dtype=np.intp, count=len(labels))
    if out.size != length:
        raise ValueError(f"{name} and responses must have the same length")
    return out


def cell_weights(group, population, responses, classes: Sequence[Sequence] = ()) -> CellWeights:
    r"""Post-stratification weights of weighting cells, with empty and uncounted cells handled.

    Parameters
    ----------
    group : sequence
        Group (unit × quarter) of each cell; any hashable labels (tuples included).
    population : array_like of float
        Transaction count :math:`N_h` of each cell; ``nan`` where the cell has no count.
    responses : array_like of int
        Number of responses :math:`n_h` in each cell (0 for a cell with transactions only).
    classes : sequence of sequences, optional
        Adjustment classes for groups without a usable count (rule 3), finest first: each
        a label per cell. Every counted response forms the last, implicit class.

    Returns
    -------
    CellWeights

    Notes
    -----
    A count of 0 in a cell with responses is missing (rule 0). A group with responses but no
    usable count gets its class's mean weight (rule 3); only when no cell at all has a count
    is everything weighted 1. Cells without responses get weight 0.

    Examples
    --------
    >>> w = cell_weights([1, 1, 1], [100.0, 50.0, 50.0], [10, 5, 0])
    >>> w.weight.round(3).tolist()
    [13.333, 13.333, 0.0]
    >>> cell_weights([1, 2, 3], [100.0, 300.0, np.nan], [10, 10, 10]).weight.tolist()
    [10.0, 30.0, 20.0]
    """
    n = as_float_array(responses, "responses")
    N = np.asarray(population, dtype=float)
    if N.shape != n.shape:
        raise ValueError("population and responses must have the same length")
    if np.any(n < 0) or np.any(n != np.rint(n)):
        raise ValueError("responses must be whole counts >= 0")
    if np.any(N[~np.isnan(N)] < 0):
        raise ValueError("population counts must be >= 0")
    K = n.size
    group_index = _codes(group, "group", K)
    G = int(group_index.max()) + 1 if K else 0
    responding = n > 0
    # Rule 0: a zero count beside responses contradicts them — it is no count.
    counted = ~np.isnan(N) & ~((N <= 0) & responding)
    N0 = np.where(counted, N, 0.0)

    group_n = np.bincount(group_index, weights=n, minlength=G)
    group_N = np.bincount(group_index, weights=N0, minlength=G)
    group_N_responding = np.bincount(group_index, weights=np.where(responding, N0, 0.0), minlength=G)
    uncounted_responding = np.bincount(group_index, weights=(responding & ~counted).astype(float), minlength=G) > 0

    uncounted = (group_N <= 0) & (group_n > 0)
    collapsed = ~uncounted & (uncounted_responding | (group_N_responding <= 0)) & (group_n > 0)
    first_of_group = np.full(G, -1)
    first_of_group[group_index[::-1]] = np.arange(K)[::-1]

    rule = np.full(K, "cell", dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(group_N_responding > 0, group_N / group_N_responding, 1.0)
        cell_level = np.where(responding, N0 / n * spread[group_index], 0.0)
        group_level = np.where(group_n > 0, group_N / group_n, 0.0)
    in_uncounted = uncounted[group_index] & responding
    in_collapsed = collapsed[group_index]
    weight = np.where(in_collapsed, group_level[group_index], cell_level)
    weight = np.where(responding & ~in_uncounted, weight, 0.0)
    stratum = np.where(in_collapsed, first_of_group[group_index], np.arange(K))
    rule[in_collapsed] = "collapsed"

    if in_uncounted.any():
        donors = responding & ~in_uncounted
        if not donors.any():
            # Rule 4: nothing is counted anywhere, so nothing is mixed.
            weight = np.where(responding, 1.0, 0.0)
            rule[responding] = "unweighted"
        else:
            # Rule 3: the mean weight of the counted responses of the first class that has any.
            todo = in_uncounted.copy()
            for labels in [*classes, [()] * K]:
                codes = _codes(labels, "classes", K)
                size = int(codes.max()) + 1
                donor_n = np.bincount(codes, weights=np.where(donors, n, 0.0), minlength=size)
                donor_wn = np.bincount(codes, weights=np.where(donors, weight * n, 0.0), minlength=size)
                found = todo & (donor_n[codes] > 0)
                with np.errstate(divide="ignore", invalid="ignore"):
                    weight = np.where(found, donor_wn[codes] / donor_n[codes], weight)
                todo &= ~found
                if not todo.any():
                    break
            rule[in_uncounted] = "class"
    return CellWeights(stratum=stratum, weight=weight, rule=rule.astype(str))
