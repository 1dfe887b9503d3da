"""Site-wide pages that belong to no single audience: the home page and the health check."""

from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import select, text

from public import charts, readers
from public.cache import cached_page
from public.summaries import fetch_headlines
from webapp.access import PUBLIC, declare_access
from webapp.extensions import db
from webapp.models import Unit

pages = declare_access(Blueprint("pages", __name__), PUBLIC)


def home_trends(headlines) -> dict:
    """Each indicator's province rate for every published period (quarters; years for coverage)."""
    snapshots = {kind: readers.latest_snapshots(kind) for kind in ("Q", "Y")}
    return {
        h.indicator.code: readers.trend(snapshots["Y" if h.indicator.kind == "coverage" else "Q"], h.indicator.code)
        for h in headlines
    }


def sparkline(rows, *, ident: str, target, title: str, desc: str):
    """The home page's small trend chart of one indicator (``public.charts.sparkline_svg``)."""
    points = [charts.TrendPoint(r.period, r.estimate.estimate if r.estimate else None) for r in rows]
    return charts.sparkline_svg(points, charts.ChartText(title, desc, "", ""), ident=ident, target=target)


@pages.get("/")
@cached_page()
def home():
    unit_count = db.session.scalar(select(db.func.count(Unit.id)))
    everything = fetch_headlines()
    # The figures the province is judged by come first; the figures comparable with the official
    # surveys (SIPAS-style index, Ministry of Health rates, shares of facts) have no target of their own.
    headlines = [h for h in everything if h.indicator.targets]
    # An earlier scale's series (the three-face counter ratings) has its own page, not a home card.
    comparable = [
        h for h in everything if not h.indicator.targets and not (h.indicator.definition or {}).get("series_of")
    ]
    return render_template(
        "home.html",
        headlines=headlines,
        comparable=comparable,
        unit_count=unit_count,
        trends=home_trends(headlines),
        sparkline=sparkline,
    )


@pages.get("/healthz")
def healthz():
    """200 when the database answers; 503 otherwise (load balancers take the server out)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any driver error means "not healthy"
        db.session.rollback()
        return jsonify(status="unavailable", database="down"), 503
    return jsonify(status="ok", database="ok")
