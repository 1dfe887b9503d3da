"""Statistics for the Sơn La Satisfaction Index.

Pure numpy/scipy: design-based estimation of satisfaction proportions
(Hajek estimator, Taylor-linearisation variance, domains as in R's
``svyby``), weighting (post-stratification, raking, Kish's design effect),
confidence intervals (R's ``svyciprop`` methods and the published default),
target status, comparisons, and the sufficient-statistics path the web
application feeds from SQL.  Checked against R's ``survey`` package.

Run ``python -m analysis estimate --help`` for the command line.
"""

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
