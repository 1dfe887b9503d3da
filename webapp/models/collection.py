"""What citizens answer: instrument versions, responses and the scores derived from them."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    Uuid,
    false,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.registry import Counter, Device, Service, Unit
from webapp.models.types import BigIdentifier, JSONDocument, UTCDateTime, one_of, utcnow

CHANNELS = ("kiosk", "online", "qr", "paper", "sms")
#: How the respondent answered: alone (``self``), with the questions read aloud by the device
#: (``read_aloud``), with an interviewer entering the answers (``assisted``), or by text message
#: (``sms``). Decided by the server from the path the response came in on, except ``read_aloud``,
#: which the kiosk or the survey page reports when the listen button was used.
MODES = ("self", "read_aloud", "assisted", "sms")
RESPONDENT_TYPES = ("citizen", "business")
RESPONSE_STATUSES = ("valid", "flagged")
GENDERS = ("female", "male", "other")
AGE_BANDS = ("under_25", "25_34", "35_44", "45_54", "55_64", "65_plus")
#: Groups used for raking to census margins; finer answers (Mường, Dao…) are grouped as "other".
ETHNICITY_GROUPS = ("thai", "kinh", "hmong", "other")
AREAS = ("urban", "rural")
#: Quarter label as stored on responses, e.g. ``2026-Q3``.
QUARTER_PATTERN = "____-Q_"


class Instrument(db.Model):
    """One version of a questionnaire, with the snapshot and hash responses refer to."""

    __tablename__ = "instruments"
    __table_args__ = (
        UniqueConstraint("code", "version"),
        CheckConstraint("version >= 1", name="version_positive"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer)
    #: SHA-256 of the canonical JSON of the definition.
    content_hash: Mapped[str] = mapped_column(String(64))
    #: The whole definition as answered, so old responses stay interpretable.
    snapshot: Mapped[dict] = mapped_column(JSONDocument)
    sector: Mapped[str] = mapped_column(String(20))
    #: The version new respondents get; one active version per code.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Response(db.Model):
    """One citizen's answers to one instrument about one service of one unit.

    No names, phone numbers or ID numbers are ever stored; demographics only with consent.
    """

    __tablename__ = "responses"
    __table_args__ = (
        CheckConstraint(one_of("channel", CHANNELS), name="channel"),
        CheckConstraint(one_of("respondent_type", RESPONDENT_TYPES), name="respondent_type"),
        CheckConstraint(one_of("status", RESPONSE_STATUSES), name="status"),
        CheckConstraint(f"period LIKE '{QUARTER_PATTERN}'", name="period_is_quarter"),
        CheckConstraint(
            "consent_demographics OR (gender IS NULL AND age_band IS NULL"
            " AND ethnicity_group IS NULL AND residence_area IS NULL AND residence_unit_id IS NULL)",
            name="demographics_need_consent",
        ),
        CheckConstraint(f"gender IS NULL OR {one_of('gender', GENDERS)}", name="gender"),
        CheckConstraint(f"age_band IS NULL OR {one_of('age_band', AGE_BANDS)}", name="age_band"),
        CheckConstraint(
            f"ethnicity_group IS NULL OR {one_of('ethnicity_group', ETHNICITY_GROUPS)}", name="ethnicity_group"
        ),
        CheckConstraint(f"residence_area IS NULL OR {one_of('residence_area', AREAS)}", name="residence_area"),
        CheckConstraint("duration_seconds IS NULL OR duration_seconds >= 0", name="duration"),
        CheckConstraint("items_satisfied >= 0 AND items_satisfied <= items_rated", name="item_counts"),
        CheckConstraint("kiosk_rating IS NULL OR kiosk_rating BETWEEN 1 AND 5", name="kiosk_rating"),
        CheckConstraint(one_of("mode", MODES), name="mode"),
        Index("ix_responses_period_unit", "period", "unit_id"),
        # The burst check counts a device's recent ratings on every kiosk submission.
        Index("ix_responses_device_answered", "device_id", "answered_at"),
        Index("ix_responses_source_received", "source_digest", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigIdentifier, primary_key=True)
    #: UUID made by the client; the same UUID twice is the same response (idempotent submission).
    client_id: Mapped[uuid.UUID] = mapped_column(Uuid, unique=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="RESTRICT"))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    counter_id: Mapped[int | None] = mapped_column(ForeignKey("counters.id", ondelete="RESTRICT"))
    device_id: Mapped[int | None] = mapped_column(ForeignKey("devices.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(10))
    #: One of ``MODES``; never identifies who assisted (that is in the audit log only).
    mode: Mapped[str] = mapped_column(String(10), default="self", server_default="self")
    #: The language the questions were shown (or sent) in: ``vi``, ``en`` or a language pack's code.
    language: Mapped[str] = mapped_column(String(12), default="vi", server_default="vi")
    respondent_type: Mapped[str] = mapped_column(String(10), default="citizen")
    #: Quarter of ``answered_at`` in Vietnam time; half-years and years are unions of quarters.
    period: Mapped[str] = mapped_column(String(7))
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: Seconds from the first page to submission, when the channel can tell.
    duration_seconds: Mapped[int | None] = mapped_column(Integer)
    #: ``{item_code: value}`` as validated against the instrument version.
    answers: Mapped[dict] = mapped_column(JSONDocument)
    #: Counter quick rating chips (``on_time``, ``staff_attitude``…), if any.
    reasons: Mapped[list] = mapped_column(JSONDocument, default=list)
    #: The counter quick rating's ``overall`` answer (1–3 on the three-face version 1, 1–5 on the
    #: five-face version 2: its instrument tells which), kept as a column for fast counter reports.
    kiosk_rating: Mapped[int | None] = mapped_column(SmallInteger)
    #: Number of rated items (answers 1–5) and of those answered 4 or 5, for the item-level rates.
    items_rated: Mapped[int] = mapped_column(SmallInteger, default=0)
    items_satisfied: Mapped[int] = mapped_column(SmallInteger, default=0)
    #: Sum of the rated items' answers (1–5), for the Ministry of Health mean score (0 when none rated).
    items_score_sum: Mapped[int] = mapped_column(SmallInteger, default=0, server_default="0")
    #: Free-text comment, already masked of personal data; published only after moderation.
    comment: Mapped[str | None] = mapped_column(Text)
    consent_demographics: Mapped[bool] = mapped_column(Boolean, default=False)
    gender: Mapped[str | None] = mapped_column(String(10))
    age_band: Mapped[str | None] = mapped_column(String(10))
    ethnicity_group: Mapped[str | None] = mapped_column(String(10))
    residence_area: Mapped[str | None] = mapped_column(String(10))
    residence_unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    #: ``valid`` responses count; ``flagged`` ones are kept but excluded from estimates by default.
    status: Mapped[str] = mapped_column(String(10), default="valid")
    #: Reasons a response was flagged (``burst``, ``too_fast``, ``straight_lining``, ``backdated``,
    #: ``implausible_rate``, ``outside_hours``, ``same_source``…); kept when an admin reinstates it.
    quality_flags: Mapped[list] = mapped_column(JSONDocument, default=list)
    #: Received after its quarter (or a period containing it) was published: it enters the
    #: published figures only through a revision, which says how many late ratings it added.
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    #: When an administrator reinstated a flagged response (with a reason, in the audit log).
    reinstated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: Keyed hash (server secret) of the sender's network address, for the "many ratings from one
    #: address" signal; never the address itself.
    source_digest: Mapped[str | None] = mapped_column(String(32))
    #: Matrix sampling: the item codes this respondent was asked (sorted); None when everything was
    #: asked (paper, kiosk, instruments that sample nothing). Per-item rates use those asked.
    asked_items: Mapped[list | None] = mapped_column(JSONDocument)

    instrument: Mapped[Instrument] = relationship()
    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    service: Mapped[Service] = relationship()
    counter: Mapped[Counter | None] = relationship()
    device: Mapped[Device | None] = relationship()
    scores: Mapped[list[ResponseScore]] = relationship(back_populates="response", cascade="all, delete-orphan")


class ResponseScore(db.Model):
    """Whether a response counts as satisfied for one metric (an indicator or an aspect).

    Derived from the answers with the instrument's declared rule when the response is stored,
    so that estimation is a plain SQL ``GROUP BY`` over this table. Unanswered or
    "no opinion" items produce no row.
    """

    __tablename__ = "response_scores"
    __table_args__ = (CheckConstraint("satisfied IN (0, 1)", name="satisfied_binary"),)

    response_id: Mapped[int] = mapped_column(
        BigIdentifier, ForeignKey("responses.id", ondelete="CASCADE"), primary_key=True
    )
    #: An indicator code (``sat-agencies``) or an aspect (``aspect:access``).
    metric: Mapped[str] = mapped_column(String(60), primary_key=True)
    satisfied: Mapped[int] = mapped_column(SmallInteger)

    response: Mapped[Response] = relationship(back_populates="scores")


class DropoffCount(db.Model):
    """How many online survey sessions reached one page of one instrument version on one day.

    Anonymous: a counter, never a session id, address or answer. Page ``SUBMITTED_PAGE`` (0)
    counts the sessions that sent their answers. A session counts once per page however often
    it comes back to it.
    """

    __tablename__ = "dropoff_counts"
    __table_args__ = (
        UniqueConstraint("instrument_id", "day", "page"),
        CheckConstraint("page >= 0", name="page_not_negative"),
        CheckConstraint("sessions >= 0", name="sessions_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(ForeignKey("instruments.id", ondelete="RESTRICT"))
    #: The day in Vietnam time.
    day: Mapped[date] = mapped_column(Date)
    #: The page number (1 = first page); 0 = answers sent.
    page: Mapped[int] = mapped_column(SmallInteger)
    #: The code of the page's section (None for the sent count).
    section: Mapped[str | None] = mapped_column(String(40))
    sessions: Mapped[int] = mapped_column(Integer, default=0)

    instrument: Mapped[Instrument] = relationship()


#: The ``DropoffCount.page`` of the sessions that sent their answers.
SUBMITTED_PAGE = 0


class ReceiptToken(db.Model):
    """A single-use survey link printed as a QR code on one dossier's receipt.

    The case number is never stored: ``case_digest`` is an HMAC of it with a server secret,
    enough to refuse issuing a second token for the same dossier. Only a hash of the token
    is stored, so a database leak yields no usable links.
    """

    __tablename__ = "receipt_tokens"
    __table_args__ = (
        UniqueConstraint("unit_id", "case_digest"),
        CheckConstraint("expires_at > issued_at", name="expiry_after_issue"),
        CheckConstraint("(used_at IS NULL) = (response_id IS NULL)", name="used_with_response"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: SHA-256 of the token's random part.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    #: HMAC-SHA-256 of the dossier's case number with the server secret.
    case_digest: Mapped[str] = mapped_column(String(64))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    response_id: Mapped[int | None] = mapped_column(
        BigIdentifier, ForeignKey("responses.id", ondelete="RESTRICT"), unique=True
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()
