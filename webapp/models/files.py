"""Files made by background jobs (issue #15): a generated report kept for its job's download link.

One row per job at most (``job_id`` is unique). Report files are kept 7 days: storing a new one
deletes the older ones (:mod:`webapp.reports.jobs`). Only files built from published figures are
stored here — never personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import UTCDateTime, utcnow

__all__ = ["JobFile"]


class JobFile(db.Model):
    """The bytes a job produced, with the name and type to download them under."""

    __tablename__ = "job_files"

    id: Mapped[int] = mapped_column(primary_key=True)
    job_id: Mapped[int] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), unique=True)
    #: ASCII only, safe in a Content-Disposition header.
    filename: Mapped[str] = mapped_column(String(200))
    mimetype: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(Integer)
    content: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)

    def __repr__(self) -> str:
        return f"<JobFile {self.id} job={self.job_id} {self.filename}>"
