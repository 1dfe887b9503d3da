"""Background jobs (issue #15): one row per job, with its kind, idempotency key, state and progress.

The row is the durable record administrators see at ``/admin/jobs``; in the embedded mode it is
also the queue itself (see :mod:`webapp.jobs`). ``payload`` and ``result`` are JSON that must never
hold personal data; data that must reach a handler but never the database in clear (a phone
number to send a link to) travels "sealed": encrypted into the broker message, or — embedded and
inline modes — encrypted in ``sealed`` and wiped when the job ends.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import JSONDocument, UTCDateTime, one_of, utcnow

__all__ = ["JOB_STATES", "Job"]

#: ``queued`` → ``running`` → ``done``; a failed attempt → ``retrying`` (then ``running`` again) or ``failed``.
JOB_STATES = ("queued", "running", "retrying", "done", "failed")


class Job(db.Model):
    """One unit of background work and everything an administrator needs to follow it."""

    __tablename__ = "jobs"
    __table_args__ = (
        CheckConstraint(one_of("state", JOB_STATES), name="state"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        Index("ix_jobs_state_next_attempt_at", "state", "next_attempt_at"),
        Index("ix_jobs_kind_created_at", "kind", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(60))
    #: Idempotency key: a second ``enqueue`` with the same key returns this job.
    key: Mapped[str | None] = mapped_column(String(200), unique=True)
    title: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(10), default="queued")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    progress_done: Mapped[int] = mapped_column(Integer, default=0)
    progress_total: Mapped[int | None] = mapped_column(Integer)
    progress_message: Mapped[str | None] = mapped_column(String(200))
    payload: Mapped[dict] = mapped_column(JSONDocument, default=dict)
    result: Mapped[dict | None] = mapped_column(JSONDocument)
    #: The last error's message, truncated (never a traceback).
    error: Mapped[str | None] = mapped_column(String(500))
    #: Redis mode: the nonce of the job's current broker message; a message with another one (an
    #: older message of a job sent again by hand) is dropped.
    message_nonce: Mapped[str | None] = mapped_column(String(32))
    #: Embedded and inline modes only: the sealed data, Fernet-encrypted; wiped when the job ends.
    sealed: Mapped[str | None] = mapped_column(Text)
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="SET NULL"), index=True)
    created_by: Mapped[str] = mapped_column(String(255), default="system")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @property
    def finished(self) -> bool:
        return self.state in ("done", "failed")

    def __repr__(self) -> str:
        return f"<Job {self.id} {self.kind} {self.state}>"
