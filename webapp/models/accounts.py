"""People who sign in, and the audit trail of what they (and the command line) changed."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.registry import Unit
from webapp.models.types import BigIdentifier, JSONDocument, UTCDateTime, one_of, utcnow

#: ``interviewer``: a commune officer or volunteer who fills the survey with a respondent who cannot
#: read or use a phone; scoped to a unit's subtree like the agency roles, and sees no results.
ROLES = ("admin", "agency_manager", "viewer", "interviewer")


class User(db.Model):
    """A staff account: an administrator of Sở Nội vụ, or an agency manager or viewer scoped to a unit."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(one_of("role", ROLES), name="role"),
        CheckConstraint("role = 'admin' OR unit_id IS NOT NULL", name="scoped_roles_have_unit"),
        CheckConstraint("failed_logins >= 0", name="failed_logins"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    #: Password hash (scrypt or argon2); never the password.
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20))
    #: The unit whose subtree an agency manager or viewer may see.
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Bumped to sign the user out everywhere: sessions carry the value they started with.
    session_version: Mapped[int] = mapped_column(Integer, default=1)
    #: Base32 TOTP secret when a second factor is set up.
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    #: The last TOTP time step accepted, so that one code cannot be used twice.
    totp_last_step: Mapped[int | None] = mapped_column(BigIdentifier)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit | None] = relationship()


class AuditEvent(db.Model):
    """An append-only record of a change or sign-in: who, what, when, before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_at", "at"), Index("ix_audit_events_object", "object_type", "object_id"))

    id: Mapped[int] = mapped_column(BigIdentifier, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: Who acted when there is no user: ``cli``, ``system``.
    actor: Mapped[str] = mapped_column(String(254))
    #: What happened, e.g. ``registry.load``, ``user.login``, ``transactions.import``.
    action: Mapped[str] = mapped_column(String(60))
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[str | None] = mapped_column(String(60))
    before: Mapped[dict | None] = mapped_column(JSONDocument)
    after: Mapped[dict | None] = mapped_column(JSONDocument)
    detail: Mapped[str | None] = mapped_column(Text)

    user: Mapped[User | None] = relationship()


class StaffSession(db.Model):
    """One signed-in browser session, so that signing out ends it on the server.

    The cookie carries a random session id; only its SHA-256 is stored. Sign-out sets
    ``ended_at``; a replayed cookie of an ended session is refused.
    """

    __tablename__ = "staff_sessions"
    __table_args__ = (Index("ix_staff_sessions_user", "user_id"),)

    id: Mapped[int] = mapped_column(BigIdentifier, primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()


class LoginThrottle(db.Model):
    """Failed sign-ins per (account, address) pair, keyed by a hash of both.

    Replaces an account lockout that anyone could trigger: each failure makes the next try
    from that address for that e-mail wait longer; other addresses and signed-in sessions
    are not affected. Unknown e-mails are throttled exactly like real ones.
    """

    __tablename__ = "login_throttles"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    failures: Mapped[int] = mapped_column(Integer, default=0)
    last_failure_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
