"""Ratings imported from the national public service portal (issue #15), kept apart from our scales.

The portal (Cổng Dịch vụ công quốc gia) asks its own question on its own scale; its ratings feed the
satisfaction component of the Decision 766/QĐ-TTg index. They live in their own tables and are never
pooled with our responses, weights or published estimates.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Integer, SmallInteger, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.registry import Service, Unit
from webapp.models.types import BigIdentifier, UTCDateTime, utcnow

__all__: list[str] = ["PORTAL_LEVELS", "PortalImport", "PortalRating"]

#: The portal's rating levels as stored (see docs/portal-ratings.md: the scale is an assumption).
PORTAL_LEVELS = (1, 2, 3)


class PortalImport(db.Model):
    """One run of ``import portal-ratings``: the file it read and what it added."""

    __tablename__ = "portal_imports"
    __table_args__ = (CheckConstraint("rows_added >= 0 AND rows_already >= 0", name="counts_not_negative"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    #: The file's base name (no directory) and the SHA-256 of its bytes.
    file_name: Mapped[str] = mapped_column(String(200))
    file_sha256: Mapped[str] = mapped_column(String(64), index=True)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    rows_added: Mapped[int] = mapped_column(Integer)
    #: Rows of the file whose dossier was already stored (re-imports change nothing).
    rows_already: Mapped[int] = mapped_column(Integer)


class PortalRating(db.Model):
    """One dossier's rating on the national portal. The dossier number is never stored: only a keyed hash."""

    __tablename__ = "portal_ratings"
    __table_args__ = (
        CheckConstraint("level IN (1, 2, 3)", name="level"),
        CheckConstraint("period LIKE '____-Q_'", name="period_is_quarter"),
    )

    id: Mapped[int] = mapped_column(BigIdentifier, primary_key=True)
    #: HMAC-SHA-256 of the dossier number with the app secret (purpose ``portal-dossier``).
    dossier_digest: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    service_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    #: Quarter of the rating date (Việt Nam time), e.g. ``2026-Q3``.
    period: Mapped[str] = mapped_column(String(7), index=True)
    #: 1 Không hài lòng, 2 Hài lòng, 3 Rất hài lòng (PORTAL_LEVELS).
    level: Mapped[int] = mapped_column(SmallInteger)
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    batch_id: Mapped[int] = mapped_column(ForeignKey("portal_imports.id", ondelete="RESTRICT"), index=True)

    unit: Mapped[Unit] = relationship()
    service: Mapped[Service | None] = relationship()
    batch: Mapped[PortalImport] = relationship()
