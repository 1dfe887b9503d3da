"""Published snapshots: the frozen estimates of a period, revised only with a public reason."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import BigIdentifier, JSONDocument, UTCDateTime, one_of, utcnow

DOMAIN_TYPES = (
    "province",
    "sector",
    "district",
    "commune",
    "unit",
    "service",
    "channel",
    "respondent_type",
    "mode",
    "language",
)
STATUSES = ("met", "below", "inconclusive", "insufficient", "no_target")


class PublishedSnapshot(db.Model):
    """Every estimate of one period as published; a later revision supersedes it, never edits it."""

    __tablename__ = "published_snapshots"
    __table_args__ = (
        UniqueConstraint("period", "revision"),
        CheckConstraint("revision >= 1", name="revision_positive"),
        CheckConstraint("revision = 1 OR (reason IS NOT NULL AND reason <> '')", name="revision_has_reason"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: ``2026-Q3``, ``2026-H1`` or ``2026``.
    period: Mapped[str] = mapped_column(String(7), index=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    published_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    #: The e-mail of the administrator, or ``cli``.
    published_by: Mapped[str] = mapped_column(String(254))
    #: Why this revision replaces the previous one (required from revision 2 on); public.
    reason: Mapped[str | None] = mapped_column(Text)
    methodology_version: Mapped[str] = mapped_column(String(20))
    #: ``{instrument code: [versions answered in the period]}``.
    instrument_versions: Mapped[dict] = mapped_column(JSONDocument)
    #: SHA-256 of the inputs (responses' cell sums, transaction counts, targets).
    input_hashes: Mapped[dict] = mapped_column(JSONDocument)
    #: Counts describing the inputs: responses used, flagged and excluded, cells, …
    summary: Mapped[dict] = mapped_column(JSONDocument, default=dict)

    estimates: Mapped[list[PublishedEstimate]] = relationship(back_populates="snapshot", cascade="all, delete-orphan")


class PublishedEstimate(db.Model):
    """One published rate: an indicator (or aspect) in a domain of a period.

    Rows with fewer than ``min_n_show`` responses are never stored. ``estimate``, ``se`` and
    the interval are NULL when the status is ``insufficient`` (only the count is published).
    """

    __tablename__ = "published_estimates"
    __table_args__ = (
        UniqueConstraint("snapshot_id", "metric", "domain_type", "domain"),
        CheckConstraint(one_of("domain_type", DOMAIN_TYPES), name="domain_type"),
        CheckConstraint(one_of("status", STATUSES), name="status"),
        CheckConstraint(
            "status = 'insufficient' OR (estimate IS NOT NULL AND ci_low IS NOT NULL AND ci_high IS NOT NULL)",
            name="published_rates_have_intervals",
        ),
        CheckConstraint(
            "status <> 'insufficient' OR (estimate IS NULL AND se IS NULL AND ci_low IS NULL AND ci_high IS NULL)",
            name="insufficient_rates_are_hidden",
        ),
        CheckConstraint("n >= 0", name="n_not_negative"),
        Index("ix_published_estimates_lookup", "metric", "domain_type", "domain"),
    )

    id: Mapped[int] = mapped_column(BigIdentifier, primary_key=True)
    snapshot_id: Mapped[int] = mapped_column(ForeignKey("published_snapshots.id", ondelete="CASCADE"), index=True)
    #: The indicator code, or ``<indicator>/aspect:<code>`` for an aspect rate, ``<indicator>/item:<code>``
    #: for a criterion measured by matrix sampling.
    metric: Mapped[str] = mapped_column(String(80))
    domain_type: Mapped[str] = mapped_column(String(20))
    #: The domain's code: ``sl`` for the province, a unit or service code, ``kiosk``, ``citizen``…
    domain: Mapped[str] = mapped_column(String(40))
    n: Mapped[int] = mapped_column(Integer)
    estimate: Mapped[float | None] = mapped_column(Float)
    se: Mapped[float | None] = mapped_column(Float)
    ci_low: Mapped[float | None] = mapped_column(Float)
    ci_high: Mapped[float | None] = mapped_column(Float)
    ci_method: Mapped[str] = mapped_column(String(20))
    n_eff: Mapped[float | None] = mapped_column(Float)
    deff: Mapped[float | None] = mapped_column(Float)
    target: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(20))
    #: Secondary figures: weighted or not, response rate, flagged share, change, funnel limits.
    extra: Mapped[dict] = mapped_column(JSONDocument, default=dict)

    snapshot: Mapped[PublishedSnapshot] = relationship(back_populates="estimates")
