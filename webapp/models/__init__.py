"""The data model (DESIGN.md section 4), split by entity.

Importing this package registers every table on ``db.metadata``, which Alembic compares
with the migrations.
"""

from webapp.models.accounts import ROLES, AuditEvent, LoginThrottle, StaffSession, User
from webapp.models.collection import CHANNELS, RESPONDENT_TYPES, Instrument, ReceiptToken, Response, ResponseScore
from webapp.models.demo import DemoTruth
from webapp.models.feedback import COMMENT_STATUSES, CommentReview, PlanProgressValue
from webapp.models.indicators import Indicator, IndicatorTarget
from webapp.models.inputs import PopulationMargin, TransactionCount
from webapp.models.publishing import PublishedEstimate, PublishedSnapshot
from webapp.models.registry import SECTORS, UNIT_KINDS, Counter, Device, Service, Unit, UnitSuccession, unit_services
from webapp.models.types import utcnow

# Issue #15: each module lists its tables in its own ``__all__`` (imported for the metadata).
from webapp.models.jobs import *  # noqa: E402, F401, F403
from webapp.models.integrations import *  # noqa: E402, F401, F403
from webapp.models.delivery import *  # noqa: E402, F401, F403
from webapp.models.portal import *  # noqa: E402, F401, F403
from webapp.models.files import *  # noqa: E402, F401, F403
# Issue #16: drivers, comment themes, action plans.
from webapp.models.insights import *  # noqa: E402, F401, F403

__all__ = [
    "AuditEvent",
    "CHANNELS",
    "COMMENT_STATUSES",
    "CommentReview",
    "Counter",
    "DemoTruth",
    "Device",
    "Indicator",
    "IndicatorTarget",
    "Instrument",
    "LoginThrottle",
    "PlanProgressValue",
    "PopulationMargin",
    "PublishedEstimate",
    "PublishedSnapshot",
    "RESPONDENT_TYPES",
    "ReceiptToken",
    "ROLES",
    "Response",
    "ResponseScore",
    "SECTORS",
    "Service",
    "StaffSession",
    "TransactionCount",
    "UNIT_KINDS",
    "Unit",
    "UnitSuccession",
    "User",
    "unit_services",
    "utcnow",
]
