"""The defaults the command line's options and help need, without numpy or scipy.

:mod:`analysis.intervals` and :mod:`analysis.status` define these names for
everyone else (the same objects); the command line imports them from here so
that ``--help`` and the reading of a file start without scipy.
"""

from __future__ import annotations

#: The interval published by default: Wilson's score interval on the
#: effective sample size floored at Kish's (:func:`analysis.intervals.kish_floored_size`), with
#: Yates' continuity correction on the bound nearer 0 or 1, ``wilson-cc-kish``
#: (DESIGN.md section 6; see :func:`analysis.intervals.proportion_ci`).  It keeps each tail's
#: error at most 2.5 % where plain ``wilson-kish`` misses on the edge side in
#: about 3.5 % of samples (``tests/analysis/test_comparisons_error_rates.py``).
DEFAULT_CI_METHOD = "wilson-cc-kish"

#: Interval methods understood by :func:`analysis.intervals.proportion_ci`.
CI_METHODS = ("wilson-cc-kish", "wilson-kish", "beta-kish", "beta", "xlogit", "wilson", "mean", "asin")

#: Fewer responses (or effective responses) than this: status ``insufficient``.
MIN_N_PUBLISH = 30
#: Fewer responses than this: the web application never shows the cell at all.
MIN_N_SHOW = 10
#: Target used when an indicator has none (DESIGN.md: satisfaction > 80 %).
DEFAULT_TARGET = 0.80
