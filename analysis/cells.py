r"""Weights of the product's weighting cells (DESIGN.md §6).

A weighting cell h is unit × service group × respondent type × quarter. Its weight is the
post-stratification weight :math:`w_h = N_h / n_h`, with :math:`N_h` the cell's transaction
count and :math:`n_h` its responses. Real data are never that tidy, so three rules apply
within each *group* (a unit in a quarter):

1. **Empty cells.** Cells with transactions but no response leave their :math:`N_h`
   unrepresented. Their total is spread over the group's responding cells in proportion to
   those cells' own counts (a weighting-class adjustment), so the unit keeps its whole
   weight: :math:`w_h = \frac{N_h}{n_h}\cdot\frac{\sum_{g\in G} N_g}{\sum_{g\in G,\,n_g>0} N_g}`.
2. **Responding cells without a count** make the group's cell-level counts unusable: the
   whole group becomes one cell weighted by the group's total count,
   :math:`w = \sum_{g} N_g / \sum_g n_g`.
3. **A group with no count at all** is weighted 1 and marked *unweighted*.

Every response of a cell (or collapsed group) gets the same weight, so the estimates use a
stratified design with the cells as strata (``svydesign(id=~1, strata=~cell, weights=~w)``).

References
----------
Kalton, G. and Flores-Cervantes, I. (2003). Weighting methods. *Journal of Official
Statistics* 19(2), 81–97 (weighting-class adjustments and collapsing of cells).
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from ._checks import as_float_array


class CellWeights(NamedTuple):
    """Result of :func:`cell_weights`, aligned with the input cells.

    Attributes
    ----------
    stratum : ndarray of int
        The stratum each cell belongs to for variance estimation: its own index, or the
        index of the first cell of its group when the group was collapsed (rule 2 or 3).
    weight : ndarray of float
        Weight of each response in the cell (0 for cells without responses).
    rule : ndarray of str
        ``'cell'``, ``'collapsed'`` (rule 2) or ``'unweighted'`` (rule 3).
    """

    stratum: np.ndarray
    weight: np.ndarray
    rule: np.ndarray


def cell_weights(group, population, responses) -> CellWeights:
    r"""Post-stratification weights of weighting cells, with empty and uncounted cells handled.

    Parameters
    ----------
    group : sequence
        Group (unit × quarter) of each cell; any hashable labels (tuples included).
    population : array_like of float
        Transaction count :math:`N_h` of each cell; ``nan`` where the cell has no count.
    responses : array_like of int
        Number of responses :math:`n_h` in each cell (0 for a cell with transactions only).

    Returns
    -------
    CellWeights

    Notes
    -----
    Edge cases: a group with responses but every count missing is *unweighted* (weight 1);
    a group whose counts add up to 0 while it has responses is treated as uncounted (rule 3),
    since a count of zero contradicts the responses; cells without responses get weight 0.

    Examples
    --------
    >>> w = cell_weights([1, 1, 1], [100.0, 50.0, 50.0], [10, 5, 0])
    >>> w.weight.round(3).tolist()
    [13.333, 13.333, 0.0]
    """
    n = as_float_array(responses, "responses")
    N = np.asarray(population, dtype=float)
    if N.shape != n.shape:
        raise ValueError("population and responses must have the same length")
    if np.any(n < 0) or np.any(n != np.rint(n)):
        raise ValueError("responses must be whole counts >= 0")
    if np.any(N[~np.isnan(N)] < 0):
        raise ValueError("population counts must be >= 0")
    codes: dict = {}
    group_index = np.fromiter((codes.setdefault(label, len(codes)) for label in group), dtype=np.intp, count=len(group))
    G = len(codes)
    K = n.size
    if group_index.size != K:
        raise ValueError("group and responses must have the same length")
    counted = ~np.isnan(N)
    N0 = np.where(counted, N, 0.0)
    responding = n > 0

    group_n = np.bincount(group_index, weights=n, minlength=G)
    group_N = np.bincount(group_index, weights=N0, minlength=G)
    group_N_responding = np.bincount(group_index, weights=np.where(responding, N0, 0.0), minlength=G)
    uncounted_responding = np.bincount(group_index, weights=(responding & ~counted).astype(float), minlength=G) > 0

    unweighted = (group_N <= 0) & (group_n > 0)
    collapsed = ~unweighted & (uncounted_responding | (group_N_responding <= 0)) & (group_n > 0)
    first_of_group = np.full(G, -1)
    first_of_group[group_index[::-1]] = np.arange(K)[::-1]

    weight = np.zeros(K)
    stratum = np.arange(K)
    rule = np.full(K, "cell", dtype=object)
    with np.errstate(divide="ignore", invalid="ignore"):
        spread = np.where(group_N_responding > 0, group_N / group_N_responding, 1.0)
        cell_level = np.where(responding, N0 / n * spread[group_index], 0.0)
        group_level = np.where(group_n > 0, group_N / group_n, 0.0)
    in_unweighted = unweighted[group_index]
    in_collapsed = collapsed[group_index]
    weight = np.where(in_unweighted, 1.0, np.where(in_collapsed, group_level[group_index], cell_level))
    weight = np.where(responding, weight, 0.0)
    stratum = np.where(in_unweighted | in_collapsed, first_of_group[group_index], stratum)
    rule[in_collapsed] = "collapsed"
    rule[in_unweighted] = "unweighted"
    return CellWeights(stratum=stratum, weight=weight, rule=rule.astype(str))
