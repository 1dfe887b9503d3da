"""Survey-link deliveries by e-mail, SMS and Zalo, opt-outs and daily caps (issue #15); never a contact.

A :class:`Delivery` says that one message carrying one receipt token's survey link was asked for on
one channel, and what became of it. The phone number or e-mail address it went to is never stored:
it travels only inside the queued job's sealed (encrypted) part and is gone once the job ends. An
opt-out keeps only a keyed hash of the normalised contact (:mod:`webapp.delivery.optout`).
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.collection import ReceiptToken
from webapp.models.types import UTCDateTime, one_of, utcnow

__all__ = ["DELIVERY_CHANNELS", "DELIVERY_STATUSES", "Delivery", "DeliveryDailyCount", "DeliveryOptout"]

DELIVERY_CHANNELS = ("email", "sms", "zalo")
#: ``queued`` waits for its job; ``sent`` was accepted by the provider; ``failed`` has a ``reason``;
#: ``opted_out`` and ``capped`` were never sent (the contact opted out; the unit's daily cap was reached).
DELIVERY_STATUSES = ("queued", "sent", "failed", "opted_out", "capped")


class Delivery(db.Model):
    """One survey-link message on one channel for one receipt token. No personal data."""

    __tablename__ = "deliveries"
    __table_args__ = (
        CheckConstraint(one_of("channel", DELIVERY_CHANNELS), name="channel"),
        CheckConstraint(one_of("status", DELIVERY_STATUSES), name="status"),
        CheckConstraint("attempts >= 0", name="attempts_not_negative"),
        CheckConstraint("(status = 'sent') = (sent_at IS NOT NULL)", name="sent_with_time"),
        Index("ix_deliveries_unit_created", "unit_id", "created_at"),
        Index("ix_deliveries_receipt_token_id", "receipt_token_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    receipt_token_id: Mapped[int] = mapped_column(ForeignKey("receipt_tokens.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(10))
    status: Mapped[str] = mapped_column(String(10), default="queued")
    #: Times a provider was called for this row.
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    #: A short code (``not_configured``, ``rejected``, ``timeout``…), never a provider's free text.
    reason: Mapped[str | None] = mapped_column(String(40))
    #: The provider's message id (SMTP ``Message-ID``, gateway id, Zalo ``msg_id``).
    provider_ref: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    receipt_token: Mapped[ReceiptToken] = relationship()


class DeliveryOptout(db.Model):
    """A phone number or e-mail address that asked for no more survey links: only its keyed hash."""

    __tablename__ = "delivery_optouts"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Keyed hash (HMAC with the app secret, purpose ``delivery-optout``) of the normalised contact.
    contact_digest: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class DeliveryDailyCount(db.Model):
    """Messages a unit queued on a channel on one Việt Nam day, for the daily cap (an atomic counter)."""

    __tablename__ = "delivery_daily_counts"
    __table_args__ = (
        UniqueConstraint("unit_id", "channel", "day"),
        CheckConstraint(one_of("channel", DELIVERY_CHANNELS), name="channel"),
        CheckConstraint("messages >= 0", name="messages_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(10))
    day: Mapped[date] = mapped_column(Date)
    messages: Mapped[int] = mapped_column(Integer, default=0)
