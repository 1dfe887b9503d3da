"""Published comments on a unit and the agency's replies ("you said, we did").

Only comments a moderator published appear: a comment with no review is pending and one
marked hidden stays hidden. The text shown is the moderator's edited text when there is one,
otherwise the comment as stored (already masked of personal data).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select

from surveys.pii import mask_text
from webapp.extensions import db
from webapp.models import Response, Unit
from webapp.models.feedback import CommentReview
from webapp.paging import Page

#: Comments per page of the unit page.
PER_PAGE = 20


@dataclass(frozen=True)
class PublicComment:
    response_id: int
    period: str
    text: str
    answered_at: datetime
    reply: str | None
    replied_at: datetime | None


def _published(unit: Unit):
    return (
        select(CommentReview, Response)
        .join(Response, Response.id == CommentReview.response_id)
        .where(CommentReview.status == "published", Response.unit_id == unit.id)
    )


def published_comments(unit: Unit, page: int = 1, per_page: int = PER_PAGE) -> Page[PublicComment]:
    """One page of the unit's published comments, newest first, each with its reply if any."""
    query = _published(unit)
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    page = min(max(page, 1), max(1, -(-total // per_page)))
    rows = db.session.execute(
        query.order_by(Response.answered_at.desc(), Response.id.desc()).offset((page - 1) * per_page).limit(per_page)
    ).all()
    comments = [
        PublicComment(
            response.id,
            response.period,
            # Masked again on the way out (defence in depth: rows stored before a masking rule
            # existed, or a reply that quotes a phone number, never reach the public unmasked).
            mask_text((review.edited_text or response.comment or "").strip()),
            response.answered_at,
            mask_text(review.reply) if review.reply else None,
            review.replied_at,
        )
        for review, response in rows
    ]
    return Page([c for c in comments if c.text], page, total, per_page)
