"""Statistics for the Sơn La Satisfaction Index.

Pure numpy/scipy: design-based estimation of satisfaction proportions
(Hajek estimator, Taylor-linearisation variance, domains as in R's
``svyby``), weighting (post-stratification, raking, Kish's design effect),
confidence intervals (R's ``svyciprop`` methods and the published default),
target status, comparisons, and the sufficient-statistics path the web
application feeds from SQL.  Checked against R's ``survey`` package.

Run ``python -m analysis estimate --help`` for the command line.

Importing the package is cheap: each public name below is imported from its
module the first time it is used (PEP 562), so ``import analysis`` loads
neither scipy nor pandas until a function that needs them is reached, and
``python -m analysis`` starts without the modules its command does not use.
``from analysis import X`` and ``analysis.X`` work as they always did, and so
does ``analysis.<module>`` (e.g. ``analysis.status.STATUSES``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the same names, for type checkers and editors
    from .binomial import binomial_test, clopper_pearson, wilson_score
    from .cells import CellWeights, cell_weights
    from .compare import (
        Comparison,
        FunnelLimits,
        ShrunkEstimate,
        compare_independent,
        compare_intervals,
        funnel_limits,
        shrink_beta_binomial,
    )
    from .design import EstimateRow, ProportionEstimate, estimate_proportion
    from .intervals import CI_METHODS, DEFAULT_CI_METHOD, ConfidenceInterval, kish_floored_size, proportion_ci
    from .likelihood import GlmInterval, likelihood_ci, logit_ci
    from .ratio import RatioRow, ratio_from_sums
    from .status import (
        DEFAULT_TARGET,
        MIN_N_PUBLISH,
        MIN_N_SHOW,
        TargetTest,
        target_status,
        test_against_target,
    )
    from .sufficient import SufficientStatistics, estimate_from_sums, sufficient_statistics
    from .weighting import Calibration, KishResult, MarginFit, kish_deff, poststratify, rake

#: Where each public name lives.
_MODULE_OF = {
    "binomial_test": "binomial",
    "clopper_pearson": "binomial",
    "wilson_score": "binomial",
    "CellWeights": "cells",
    "cell_weights": "cells",
    "Comparison": "compare",
    "FunnelLimits": "compare",
    "ShrunkEstimate": "compare",
    "compare_independent": "compare",
    "compare_intervals": "compare",
    "funnel_limits": "compare",
    "shrink_beta_binomial": "compare",
    "EstimateRow": "design",
    "ProportionEstimate": "design",
    "estimate_proportion": "design",
    "CI_METHODS": "intervals",
    "ConfidenceInterval": "intervals",
    "DEFAULT_CI_METHOD": "intervals",
    "kish_floored_size": "intervals",
    "proportion_ci": "intervals",
    "GlmInterval": "likelihood",
    "likelihood_ci": "likelihood",
    "logit_ci": "likelihood",
    "RatioRow": "ratio",
    "ratio_from_sums": "ratio",
    "DEFAULT_TARGET": "status",
    "MIN_N_PUBLISH": "status",
    "MIN_N_SHOW": "status",
    "TargetTest": "status",
    "target_status": "status",
    "test_against_target": "status",
    "SufficientStatistics": "sufficient",
    "estimate_from_sums": "sufficient",
    "sufficient_statistics": "sufficient",
    "Calibration": "weighting",
    "KishResult": "weighting",
    "MarginFit": "weighting",
    "kish_deff": "weighting",
    "poststratify": "weighting",
    "rake": "weighting",
}

__all__ = [
    "CI_METHODS",
    "DEFAULT_CI_METHOD",
    "DEFAULT_TARGET",
    "MIN_N_PUBLISH",
    "MIN_N_SHOW",
    "Calibration",
    "CellWeights",
    "Comparison",
    "ConfidenceInterval",
    "EstimateRow",
    "FunnelLimits",
    "GlmInterval",
    "KishResult",
    "MarginFit",
    "ProportionEstimate",
    "RatioRow",
    "ShrunkEstimate",
    "SufficientStatistics",
    "TargetTest",
    "binomial_test",
    "cell_weights",
    "clopper_pearson",
    "compare_independent",
    "compare_intervals",
    "estimate_from_sums",
    "estimate_proportion",
    "funnel_limits",
    "kish_deff",
    "kish_floored_size",
    "likelihood_ci",
    "logit_ci",
    "poststratify",
    "proportion_ci",
    "rake",
    "ratio_from_sums",
    "shrink_beta_binomial",
    "sufficient_statistics",
    "target_status",
    "test_against_target",
    "wilson_score",
]


def _submodule(name: str):
    """``analysis.<name>``, imported if need be (with a fromlist, ``__import__`` returns the submodule)."""
    return __import__(f"{__name__}.{name}", fromlist=["__name__"])


def __getattr__(name: str):
    """Import a public name, or a submodule, on first use."""
    module_name = _MODULE_OF.get(name)
    if module_name is not None:
        value = getattr(_submodule(module_name), name)
        globals()[name] = value
        return value
    if not name.startswith("__"):
        try:
            return _submodule(name)
        except ModuleNotFoundError as error:
            if error.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
