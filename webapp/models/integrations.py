"""Machine clients of the provincial one-stop system and the dossiers they report (issue #15).

* :class:`IntegrationClient` — one system allowed to call ``POST /api/v1/dossiers``. Only the
  SHA-256 of its secret bearer token is stored (the token is 32 random bytes, so a fast hash is
  enough); it acts for its unit and every unit below it in the registry tree.
* :class:`Dossier` — a returned dossier reported by a client: which receipt token (survey link)
  it was given, by whom, for which unit and service, and when the result was returned. The
  dossier number itself is never stored: the receipt token's ``case_digest`` (an HMAC with the
  server secret) is what makes a second report of the same dossier find the same link. The
  citizen's contact is never stored either.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.collection import RESPONDENT_TYPES, ReceiptToken
from webapp.models.registry import Service, Unit
from webapp.models.types import BigIdentifier, UTCDateTime, one_of, utcnow

__all__ = ["Dossier", "IntegrationClient"]


class IntegrationClient(db.Model):
    """A machine client (the one-stop system) with a bearer token, scoped to a unit subtree."""

    __tablename__ = "integration_clients"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Public identifier, ``ic_`` and random letters: shown in lists and audit events.
    client_id: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    #: SHA-256 (hex) of the secret bearer token; the token itself is shown once and never stored.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    #: The client acts for this unit and every unit below it (``Unit.path`` prefix).
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def __repr__(self) -> str:
        return f"<IntegrationClient {self.client_id}>"


class Dossier(db.Model):
    """A dossier reported by the one-stop system and the survey link it was given (one per token)."""

    __tablename__ = "dossiers"
    __table_args__ = (
        CheckConstraint(
            f"respondent_type IS NULL OR {one_of('respondent_type', RESPONDENT_TYPES)}", name="respondent_type_known"
        ),
        Index("ix_dossiers_unit_id_service_id_created_at", "unit_id", "service_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigIdentifier, primary_key=True)
    receipt_token_id: Mapped[int] = mapped_column(ForeignKey("receipt_tokens.id", ondelete="RESTRICT"), unique=True)
    client_id: Mapped[int] = mapped_column(ForeignKey("integration_clients.id", ondelete="RESTRICT"), index=True)
    #: The token's unit and service again, so that links issued per unit and service are counted without a join.
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    #: When the unit returned the result (as the one-stop system reported it).
    returned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    respondent_type: Mapped[str | None] = mapped_column(String(20))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    receipt_token: Mapped[ReceiptToken] = relationship()
    client: Mapped[IntegrationClient] = relationship()
    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()
