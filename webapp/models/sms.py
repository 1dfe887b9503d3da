"""Two-way SMS survey conversations (issue #17) and the gateway messages already processed; never a phone number.

A :class:`SmsConversation` is one citizen's run through the SMS questionnaire (``sms-quick``), started
after a dossier was returned (``origin = 'dossier'``, with its receipt token) or by a text to a poster's
short code (``origin = 'poster'``). The phone number is never stored: ``phone_digest`` is a keyed hash
(HMAC-SHA-256 with a key derived from the app secret, purpose ``sms-conversation``) used only to find
the open conversation of an incoming reply and to refuse a second answer from one phone for one dossier
(``scope``). A conversation and its digest are deleted 30 days after it started (``purge_at``;
``flask --app webapp sms purge``).

An :class:`SmsInboundMessage` records a gateway message id already handled, so a webhook delivered
twice (or twice at once) is handled once; it is deleted with the same 30-day rule.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db
from webapp.models.types import BigIdentifier, UTCDateTime, one_of, utcnow

__all__ = ["SMS_ORIGINS", "SMS_STATES", "SmsConversation", "SmsInboundMessage"]

SMS_ORIGINS = ("dossier", "poster")
#: ``asking`` waits for an answer to question ``question``; ``answered`` stored a response (or found the
#: dossier answered another way); ``stopped`` the citizen sent STOP/HUY; ``ended`` no valid answer after
#: the retry, or no answer in time.
SMS_STATES = ("asking", "answered", "stopped", "ended")


class SmsConversation(db.Model):
    """One citizen's SMS questionnaire: where it stands and the digits answered so far. No personal data."""

    __tablename__ = "sms_conversations"
    __table_args__ = (
        UniqueConstraint("phone_digest", "scope"),
        CheckConstraint(one_of("origin", SMS_ORIGINS), name="origin"),
        CheckConstraint(one_of("state", SMS_STATES), name="state"),
        CheckConstraint("question >= 0 AND retries >= 0", name="counters_not_negative"),
        CheckConstraint("(origin = 'dossier') = (receipt_token_id IS NOT NULL)", name="dossier_with_token"),
        Index("ix_sms_conversations_phone_state", "phone_digest", "state"),
        Index("ix_sms_conversations_purge_at", "purge_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Keyed hash of the normalised phone number (``webapp.sms.service.phone_digest``).
    phone_digest: Mapped[str] = mapped_column(String(64))
    #: What one phone may answer once: ``t<receipt token id>`` for a dossier, ``p<unit id>.<service id>`` for a
    #: poster (within the 30 days the conversation is kept).
    scope: Mapped[str] = mapped_column(String(40))
    origin: Mapped[str] = mapped_column(String(10))
    receipt_token_id: Mapped[int | None] = mapped_column(ForeignKey("receipt_tokens.id", ondelete="CASCADE"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"))
    instrument_code: Mapped[str] = mapped_column(String(40))
    instrument_version: Mapped[int] = mapped_column(Integer)
    respondent_type: Mapped[str | None] = mapped_column(String(20))
    language: Mapped[str] = mapped_column(String(8), default="vi")
    state: Mapped[str] = mapped_column(String(10), default="asking")
    #: Index of the question being asked (0: the rating, 1: the main problem).
    question: Mapped[int] = mapped_column(Integer, default=0)
    #: Polite retries already sent for the current question (at most one).
    retries: Mapped[int] = mapped_column(Integer, default=0)
    #: Answers so far, canonical values (``{"overall": 4}``); digits only, never free text.
    answers: Mapped[dict] = mapped_column(JSON, default=dict)
    #: The idempotency key of the response it stores (the same key if storing is retried).
    client_id: Mapped[str] = mapped_column(String(36), unique=True)
    response_id: Mapped[int | None] = mapped_column(BigIdentifier, ForeignKey("responses.id", ondelete="SET NULL"))
    #: Whether the one "you have already answered" reply was sent (later repeats get no answer).
    repeat_noticed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: When the conversation and its digest are deleted (30 days after it started).
    purge_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SmsInboundMessage(db.Model):
    """A gateway message id already handled (a re-delivered webhook is a no-op); no text, no sender."""

    __tablename__ = "sms_inbound_messages"
    __table_args__ = (Index("ix_sms_inbound_messages_received_at", "received_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    gateway_message_id: Mapped[str] = mapped_column(String(100), unique=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
