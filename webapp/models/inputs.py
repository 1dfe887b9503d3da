"""Inputs to weighting: transaction counts (population totals) and census margins."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.registry import Service, Unit
from webapp.models.types import UTCDateTime, one_of, utcnow

COUNT_RESPONDENT_TYPES = ("all", "citizen", "business")
MARGIN_VARIABLES = ("gender", "age_band", "ethnicity_group", "residence_area")


class TransactionCount(db.Model):
    """Dossiers or visits a unit handled for a service in one quarter: the N of a weighting cell."""

    __tablename__ = "transaction_counts"
    __table_args__ = (
        UniqueConstraint("period", "unit_id", "service_id", "respondent_type"),
        CheckConstraint("count >= 0", name="count_not_negative"),
        CheckConstraint(one_of("respondent_type", COUNT_RESPONDENT_TYPES), name="respondent_type"),
        CheckConstraint("period LIKE '____-Q_'", name="period_is_quarter"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Quarter label, e.g. ``2026-Q3``; longer periods add up their quarters.
    period: Mapped[str] = mapped_column(String(7), index=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"))
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="RESTRICT"))
    #: ``all`` when the one-stop system does not split citizens from businesses.
    respondent_type: Mapped[str] = mapped_column(String(10), default="all")
    count: Mapped[int] = mapped_column(Integer)
    #: Where the figure came from (file name, export date).
    source: Mapped[str | None] = mapped_column(String(200))
    imported_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    service: Mapped[Service] = relationship()


class PopulationMargin(db.Model):
    """A census total for one category of one variable, used to rake weights."""

    __tablename__ = "population_margins"
    __table_args__ = (
        UniqueConstraint("dataset", "variable", "category"),
        CheckConstraint("total >= 0", name="total_not_negative"),
        CheckConstraint(one_of("variable", MARGIN_VARIABLES), name="variable"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Name of the source table, e.g. ``census-2019``.
    dataset: Mapped[str] = mapped_column(String(60))
    variable: Mapped[str] = mapped_column(String(30))
    category: Mapped[str] = mapped_column(String(30))
    total: Mapped[float] = mapped_column(Float)
    source: Mapped[str | None] = mapped_column(String(300))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
