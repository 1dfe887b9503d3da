"""Read published snapshots for the public pages (never live data)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Indicator, PublishedEstimate, PublishedSnapshot


@dataclass(frozen=True)
class Headline:
    indicator: Indicator
    period: str | None
    estimate: PublishedEstimate | None


def _latest_snapshot(kind_filter) -> PublishedSnapshot | None:
    snapshots = db.session.scalars(select(PublishedSnapshot).order_by(PublishedSnapshot.id.desc())).all()
    latest: dict[str, PublishedSnapshot] = {}
    for snapshot in snapshots:
        if kind_filter(snapshot.period) and snapshot.period not in latest:
            latest[snapshot.period] = snapshot
    if not latest:
        return None
    return latest[max(latest, key=_period_sort_key)]


def _period_sort_key(label: str):
    from webapp.periods import Period

    period = Period.parse(label)
    return (period.end, {"Q": 0, "H": 1, "Y": 2}[period.kind])


def fetch_headlines() -> list[Headline]:
    """Each indicator's province figure: the latest published quarter (years for coverage)."""
    indicators = db.session.scalars(select(Indicator).order_by(Indicator.id)).all()
    quarter = _latest_snapshot(lambda label: "-Q" in label)
    year = _latest_snapshot(lambda label: "-" not in label)
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
