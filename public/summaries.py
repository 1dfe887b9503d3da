"""Read published snapshots for the public pages (never live data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from public import readers
from webapp.extensions import db
from webapp.models import Indicator, PublishedEstimate


@dataclass(frozen=True)
class Headline:
    indicator: Indicator
    period: str | None
    estimate: PublishedEstimate | None


def fetch_headlines() -> list[Headline]:
    """Each indicator's province figure: the latest published quarter (years for coverage)."""
    indicators = db.session.scalars(select(Indicator).order_by(Indicator.id)).all()
    quarter = readers.latest_snapshot("Q")
    year = readers.latest_snapshot("Y")
    headlines = []
    for indicator in indicators:
        snapshot = year if indicator.kind == "coverage" else quarter
        estimate = None
        if snapshot is not None:
            estimate = db.session.scalar(
                select(PublishedEstimate).where(
                    PublishedEstimate.snapshot_id == snapshot.id,
                    PublishedEstimate.metric == indicator.code,
                    PublishedEstimate.domain_type == "province",
                )
            )
        headlines.append(Headline(indicator, snapshot.period if snapshot else None, estimate))
    return headlines
