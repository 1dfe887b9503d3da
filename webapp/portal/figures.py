"""The national portal's own figure for a unit: share satisfied as the portal counts it, never pooled with ours."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import case, func, select

import analysis
from webapp.extensions import db
from webapp.models import Unit
from webapp.models.portal import PortalRating
from webapp.portal.ratings import SATISFIED_LEVELS

#: The project's publication floor (``min_n``): under it only the number of ratings is shown.
MIN_N = analysis.MIN_N_PUBLISH


@dataclass(frozen=True)
class PortalFigure:
    """A unit's portal ratings in one quarter; ``share`` and its Wilson interval only when ``n >= MIN_N``."""

    period: str
    n: int
    satisfied: int
    share: float | None
    ci_low: float | None
    ci_high: float | None


def figure_of(period: str, n: int, satisfied: int, min_n: int = MIN_N) -> PortalFigure:
    if n < min_n:
        return PortalFigure(period, n, satisfied, None, None, None)
    low, high, _method = analysis.wilson_score(satisfied, n)
    return PortalFigure(period, n, satisfied, satisfied / n, low, high)


def latest_portal_figure(unit: Unit) -> PortalFigure | None:
    """The unit's portal ratings of the latest quarter that has any (``None`` without ratings)."""
    period = db.session.scalar(select(func.max(PortalRating.period)).where(PortalRating.unit_id == unit.id))
    if period is None:
        return None
    n, satisfied = db.session.execute(
        select(
            func.count(), func.coalesce(func.sum(case((PortalRating.level.in_(SATISFIED_LEVELS), 1), else_=0)), 0)
        ).where(PortalRating.unit_id == unit.id, PortalRating.period == period)
    ).one()
    return figure_of(period, int(n), int(satisfied))
