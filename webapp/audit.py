"""The audit trail: one append-only row per change or sign-in."""

from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_login import current_user

from webapp.extensions import db
from webapp.models import AuditEvent


def record_event(
    action: str,
    *,
    actor: str | None = None,
    object_type: str | None = None,
    object_id: str | int | None = None,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
    detail: str | None = None,
) -> AuditEvent:
    """Add an audit event to the session (the caller's transaction commits it with the change)."""
    user = current_user if has_request_context() and getattr(current_user, "is_authenticated", False) else None
    event = AuditEvent(
        action=action,
        user_id=user.id if user else None,
        actor=actor or (user.email if user else "system"),
        object_type=object_type,
        object_id=str(object_id) if object_id is not None else None,
        before=before,
        after=after,
        detail=detail,
    )
    db.session.add(event)
    return event
