"""Indicators the province is judged by, and their targets (data, never constants in code)."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from analysis.status import MIN_N_PUBLISH, MIN_N_SHOW
from webapp.extensions import db
from webapp.models.registry import SECTORS
from webapp.models.types import JSONDocument, one_of

INDICATOR_KINDS = ("satisfaction", "share", "index", "coverage")
COMPARISONS = ("gt", "ge")


class Indicator(db.Model):
    """A published measure such as ``sat-procedures``, loaded from ``surveys/indicators.yaml``."""

    __tablename__ = "indicators"
    __table_args__ = (
        CheckConstraint(one_of("kind", INDICATOR_KINDS), name="kind"),
        CheckConstraint(f"sector IS NULL OR {one_of('sector', SECTORS)}", name="sector"),
        CheckConstraint("min_n >= min_n_show AND min_n_show >= 1", name="minimum_sizes"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(300))
    name_en: Mapped[str] = mapped_column(String(300))
    description_vi: Mapped[str | None] = mapped_column(Text)
    description_en: Mapped[str | None] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(20))
    #: Only responses about services of this sector count; ``None`` for all sectors.
    sector: Mapped[str | None] = mapped_column(String(20))
    #: Section of Decision 210/QĐ-UBND the indicator measures, e.g. ``2.3``.
    plan_section: Mapped[str | None] = mapped_column(String(10))
    #: Below this many responses no rate is published, only the count.
    min_n: Mapped[int] = mapped_column(Integer, default=MIN_N_PUBLISH)
    #: Below this many responses a cell is not shown at all.
    min_n_show: Mapped[int] = mapped_column(Integer, default=MIN_N_SHOW)
    #: The definition as loaded (instruments, items, rules), for the methodology page.
    definition: Mapped[dict] = mapped_column(JSONDocument, default=dict)

    targets: Mapped[list[IndicatorTarget]] = relationship(
        back_populates="indicator", order_by="IndicatorTarget.year", cascade="all, delete-orphan"
    )

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_vi


class IndicatorTarget(db.Model):
    """A milestone: the indicator should exceed (``gt``) or reach (``ge``) ``value`` by ``year``."""

    __tablename__ = "indicator_targets"
    __table_args__ = (
        UniqueConstraint("indicator_id", "year"),
        CheckConstraint("value >= 0 AND value <= 1", name="value_is_share"),
        CheckConstraint(one_of("comparison", COMPARISONS), name="comparison"),
        CheckConstraint("year BETWEEN 2000 AND 2100", name="year"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    indicator_id: Mapped[int] = mapped_column(ForeignKey("indicators.id", ondelete="CASCADE"))
    year: Mapped[int] = mapped_column(Integer)
    value: Mapped[float] = mapped_column(Float)
    comparison: Mapped[str] = mapped_column(String(2), default="gt")
    source_vi: Mapped[str | None] = mapped_column(Text)
    source_en: Mapped[str | None] = mapped_column(Text)

    indicator: Mapped[Indicator] = relationship(back_populates="targets")
