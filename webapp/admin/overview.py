"""``/admin/``: the overview with a few counts and links to every part of the area."""

from __future__ import annotations

from flask import render_template
from sqlalchemy import func, select

from webapp.admin.blueprint import admin
from webapp.extensions import db
from webapp.models import CommentReview, Device, PublishedSnapshot, Response
from webapp.periods import current_quarter


def pending_comments() -> int:
    """Comments nobody has reviewed yet (no review row): never public until then."""
    reviewed = select(CommentReview.response_id)
    return (
        db.session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.comment.is_not(None), Response.comment != "", Response.id.not_in(reviewed))
        )
        or 0
    )


@admin.get("/")
def index():
    quarter = current_quarter()
    counts = {
        "responses": db.session.scalar(
            select(func.count()).select_from(Response).where(Response.period == quarter.label)
        )
        or 0,
        "pending": pending_comments(),
        "devices": db.session.scalar(select(func.count()).select_from(Device).where(Device.revoked_at.is_(None))) or 0,
    }
    last = db.session.scalar(
        select(PublishedSnapshot).order_by(PublishedSnapshot.published_at.desc(), PublishedSnapshot.id.desc()).limit(1)
    )
    return render_template("admin/index.html", quarter=quarter, counts=counts, last=last)
