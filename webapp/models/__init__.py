"""The data model (DESIGN.md section 4), split by entity.

Importing this package registers every table on ``db.metadata``, which Alembic compares
with the migrations.
"""

# The modules of issues #15 and #16 list their tables in their own ``__all__`` (star-imported for the metadata).
from webapp.models.accounts import ROLES, AuditEvent, LoginThrottle, StaffSession, User
from webapp.models.audio import *  # noqa: F401, F403
from webapp.models.collection import (
    CHANNELS,
    MODES,
    RESPONDENT_TYPES,
    Instrument,
    ReceiptToken,
    Response,
    ResponseScore,
)
from webapp.models.delivery import *  # noqa: F401, F403
from webapp.models.demo import DemoTruth
from webapp.models.feedback import COMMENT_STATUSES, CommentReview, PlanProgressValue
from webapp.models.files import *  # noqa: F401, F403
from webapp.models.indicators import Indicator, IndicatorTarget
from webapp.models.inputs import PopulationMargin, TransactionCount
from webapp.models.insights import *  # noqa: F401, F403
from webapp.models.integrations import *  # noqa: F401, F403
from webapp.models.jobs import *  # noqa: F401, F403
from webapp.models.portal import *  # noqa: F401, F403
from webapp.models.publishing import PublishedEstimate, PublishedSnapshot
from webapp.models.registry import SECTORS, UNIT_KINDS, Counter, Device, Service, Unit, UnitSuccession, unit_services
from webapp.models.sms import *  # noqa: F401, F403
from webapp.models.types import utcnow

__all__ = [
    "AuditEvent",
    "CHANNELS",
    "MODES",
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
