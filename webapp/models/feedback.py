"""What happens to citizens' free-text comments after they arrive: review, publication, reply.

A comment lives on its :class:`~webapp.models.Response` (already masked of personal data when
stored). A response with a comment and no :class:`CommentReview` row is *pending*: nobody has
read it yet, and it is never public. Reviewing it publishes or hides it (a hidden comment keeps
the reason why); an agency may attach a public reply ("you said, we did").
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.accounts import User
from webapp.models.collection import Response
from webapp.models.types import BigIdentifier, UTCDateTime, one_of, utcnow

COMMENT_STATUSES = ("published", "hidden")
#: A plan value's source is more than spaces (the service strips every kind of blank first).
SOURCE_GIVEN = "length(trim(source)) > 0"


class CommentReview(db.Model):
    """A moderator's decision on one response's comment, and the agency's reply to it."""

    __tablename__ = "comment_reviews"
    __table_args__ = (
        CheckConstraint(one_of("status", COMMENT_STATUSES), name="status"),
        CheckConstraint("status <> 'hidden' OR hidden_reason IS NOT NULL", name="hidden_has_reason"),
        CheckConstraint("(reply IS NULL) = (replied_at IS NULL)", name="reply_has_time"),
        Index("ix_comment_reviews_status", "status"),
    )

    response_id: Mapped[int] = mapped_column(
        BigIdentifier, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(10))
    #: Why a comment is not public (shown to staff only).
    hidden_reason: Mapped[str | None] = mapped_column(Text)
    #: The comment text as published, when a moderator masked more than the automatic scrub.
    edited_text: Mapped[str | None] = mapped_column(Text)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The agency's public answer, shown under the published comment.
    reply: Mapped[str | None] = mapped_column(Text)
    replied_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    replied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    response: Mapped[Response] = relationship()
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])
    replied_by: Mapped[User | None] = relationship(foreign_keys=[replied_by_id])


class PlanProgressValue(db.Model):
    """A value of a plan target the survey does not measure, entered by the administrator.

    ``target_id`` is an ``id`` of ``public/plan_targets.yaml``. Values are kept as history:
    the public plan page shows the latest ``as_of`` of each target with its source. A value
    without a source is refused (:mod:`webapp.services.plan_progress`, and the database).
    """

    __tablename__ = "plan_progress_values"
    __table_args__ = (
        CheckConstraint("value >= 0 AND value <= 1", name="value_is_share"),
        CheckConstraint(SOURCE_GIVEN, name="source_given"),
        Index("ix_plan_progress_values_target", "target_id", "as_of"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    target_id: Mapped[str] = mapped_column(String(60))
    #: A share in [0, 1] (the plan's targets are percentages).
    value: Mapped[float]
    #: The date the value describes (e.g. the end of the reporting year).
    as_of: Mapped[datetime] = mapped_column(UTCDateTime)
    #: Where the value comes from, e.g. "Báo cáo 123/BC-UBND ngày 15/12/2025".
    source: Mapped[str] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)
    entered_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    entered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    entered_by: Mapped[User | None] = relationship()
