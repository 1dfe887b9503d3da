"""Questions read aloud (issue #17): recorded audio of an instrument version's texts, per language.

A clip belongs to one instrument version (a row of ``instruments``), one *target* of it — the
title (``title``), the introduction (``intro``), a question (``item:<code>``) or one answer
option (``option:<code>:<value>``) — and one language. Local staff upload it; a second
administrator approves or rejects it (four eyes). At most one clip per target and language is
approved at a time: approving a new one retires the one before (``replaced``). Clips are small
(≤ 30 KB of mono Opus or MP3), so their bytes are kept in the row, like :class:`JobFile`'s.
Only approved clips are served to the public, by their SHA-256 (``/audio/<sha256>.<ext>``).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, LargeBinary, String, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.accounts import User
from webapp.models.collection import Instrument
from webapp.models.types import UTCDateTime, one_of, utcnow

__all__ = ["AUDIO_STATUSES", "AUDIO_TYPES", "QuestionAudio"]

#: pending → approved or rejected; an approved clip becomes ``replaced`` when a newer one is approved.
AUDIO_STATUSES = ("pending", "approved", "rejected", "replaced")
#: Content type → file extension of the clips served.
AUDIO_TYPES = {"audio/ogg": "opus", "audio/mpeg": "mp3"}


class QuestionAudio(db.Model):
    """One recorded clip of one text of one instrument version in one language."""

    __tablename__ = "question_audio"
    __table_args__ = (
        CheckConstraint(one_of("status", AUDIO_STATUSES), name="status"),
        CheckConstraint(one_of("content_type", tuple(AUDIO_TYPES)), name="content_type"),
        CheckConstraint("size > 0 AND size <= 30720", name="size"),
        CheckConstraint("reviewed_by_id IS NULL OR reviewed_by_id <> uploaded_by_id", name="four_eyes"),
        # At most one approved clip per target and language of a version.
        Index(
            "uq_question_audio_approved",
            "instrument_id",
            "target",
            "language",
            unique=True,
            sqlite_where=text("status = 'approved'"),
            postgresql_where=text("status = 'approved'"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="CASCADE"), index=True)
    #: ``title``, ``intro``, ``item:<code>`` or ``option:<code>:<value>``.
    target: Mapped[str] = mapped_column(String(120))
    language: Mapped[str] = mapped_column(String(12))
    content_type: Mapped[str] = mapped_column(String(20))
    size: Mapped[int] = mapped_column(Integer)
    #: Hex SHA-256 of ``content``: the clip's public address.
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    duration_ms: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary, deferred=True)
    #: The text the clip reads, as it was when uploaded (to carry the clip over to a later version).
    spoken_text: Mapped[str] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(10), default="pending")
    uploaded_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    uploaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reviewed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Why a reviewer rejected it (shown to the uploader).
    reason: Mapped[str | None] = mapped_column(String(500))

    instrument: Mapped[Instrument] = relationship()
    uploaded_by: Mapped[User | None] = relationship(foreign_keys=[uploaded_by_id])
    reviewed_by: Mapped[User | None] = relationship(foreign_keys=[reviewed_by_id])

    @property
    def extension(self) -> str:
        return AUDIO_TYPES[self.content_type]

    def __repr__(self) -> str:
        return f"<QuestionAudio {self.id} {self.target} {self.language} {self.status}>"
