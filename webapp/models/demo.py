"""What the demo generator knew: the true satisfaction rates behind the synthetic responses."""

from __future__ import annotations

from sqlalchemy import CheckConstraint, Float, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from webapp.extensions import db


class DemoTruth(db.Model):
    """The true rate of one indicator in one weighting cell and quarter of the demo data.

    ``rate`` is the share of *all* the cell's service users (``transactions``) who would
    answer "satisfied" through the cell's mix of channels; a correct weighted estimate of a
    domain aims at ``Σ transactions·rate / Σ transactions`` over the domain's cells.
    """

    __tablename__ = "demo_truths"
    __table_args__ = (
        CheckConstraint("rate >= 0 AND rate <= 1", name="rate_is_share"),
        CheckConstraint("transactions >= 0", name="transactions"),
    )

    period: Mapped[str] = mapped_column(String(7), primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    service_id: Mapped[int] = mapped_column(ForeignKey("services.id", ondelete="CASCADE"), primary_key=True)
    indicator_code: Mapped[str] = mapped_column(String(40), primary_key=True)
    transactions: Mapped[int] = mapped_column(Integer)
    rate: Mapped[float] = mapped_column(Float)
