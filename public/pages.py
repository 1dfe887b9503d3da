"""Transparency pages read from published snapshots: indicators and units.

- ``/indicators/<code>``: the latest province figure, its trend, breakdowns and a funnel plot
- ``/units/<unit_code>``: a unit's latest figures, aspects, trend and funnel position
- ``/units?q=``: search units by name, accents ignored
- ``/units/<unit_code>/badge.svg`` and ``/units/<unit_code>/widget``: the unit's latest figure
  for other sites (an image, and a tiny HTML card for an iframe)

Every figure comes from the latest revision of published snapshots (``public.readers``);
charts are inline SVG (``public.charts``) with the same numbers in a table.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from sqlalchemy import select

from public import comments, embeds, readers
from public.cache import cached_page, comments_version
from public.page_charts import funnel_chart, trend_chart
from webapp.access import PUBLIC, declare_access
from webapp.extensions import db
from webapp.i18n import current_language, localized
from webapp.insights import actions as insights_actions
from webapp.insights import drivers as insights_drivers
from webapp.insights import themes as insights_themes
from webapp.models import Indicator, Unit
from webapp.portal.figures import MIN_N as PORTAL_MIN_N
from webapp.portal.figures import latest_portal_figure
from webapp.registry.search import search_units
from webapp.reports.labels import aspect_rank, secondary_order
from webapp.security import embeddable

public_pages = declare_access(Blueprint("public_pages", __name__, template_folder="templates"), PUBLIC)

#: Breakdown tables of the indicator page, in order.
BREAKDOWNS = ("sector", "district", "commune", "service", "channel", "respondent_type")


def _indicator(code: str) -> Indicator:
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == code))
    if indicator is None:
        abort(404)
    return indicator


@public_pages.get("/indicators/<code>")
@cached_page()
def indicator_page(code: str):
    indicator = _indicator(code)
    snapshots = readers.snapshots_for(indicator)
    latest = snapshots[-1] if snapshots else None
    province = None
    breakdowns: dict[str, list] = {}
    funnel_rows: list = []
    secondary: dict[str, list] = {}
    if latest is not None:
        found = readers.rows_of(latest, code, "province")
        province = found[0] if found else None
        secondary = secondary_groups(readers.secondary_rows(latest, code, "province", "sl")).get(code, {})
        for domain_type in BREAKDOWNS:
            rows = readers.rows_of(latest, code, domain_type)
            if rows:
                breakdowns[domain_type] = rows
        funnel_rows = sorted(
            (r for r in readers.rows_of(latest, code, "unit") if r.estimate is not None and r.extra.get("funnel")),
            key=lambda r: r.n_eff or 0,
        )
    unit_codes = [r.domain for t in ("district", "commune") for r in breakdowns.get(t, [])] + [
        r.domain for r in funnel_rows
    ]
    return render_template(
        "public/indicator.html",
        indicator=indicator,
        latest=latest,
        province=province,
        breakdowns=breakdowns,
        secondary=secondary,
        trend_rows=readers.trend(snapshots, code),
        funnel_rows=funnel_rows,
        units=readers.units_by_code(unit_codes),
        services=readers.services_by_code(r.domain for r in breakdowns.get("service", [])),
        trend_chart=trend_chart,
        funnel_chart=funnel_chart,
    )


@public_pages.get("/units")
def units():
    query = (request.args.get("q") or "").strip()[:100]
    results = search_units(query) if query else []
    return render_template("public/units.html", query=query, results=results, today=date.today())


def _unit_or_404(unit_code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        abort(404)
    return unit


def _embed_snippets(unit: Unit) -> dict:
    base = current_app.config["PUBLIC_BASE_URL"]
    lang = current_language()
    return embeds.embed_snippets(
        base,
        url_for("public_pages.unit_badge", unit_code=unit.code, lang=lang),
        url_for("public_pages.unit_widget", unit_code=unit.code, lang=lang),
        url_for("public_pages.unit_page", unit_code=unit.code),
        _("Satisfaction with %(unit)s – Sơn La Satisfaction Index", unit=localized(unit)),
    )


def secondary_groups(rows) -> dict[str, dict[str, list]]:
    """Per host indicator, its ``<host>/…`` rows: ``aspects`` (aspect code, row) in questionnaire
    order, ``items`` (the whole-questionnaire rates) and ``criteria`` (``item:<code>``, row) as asked."""
    secondary: dict[str, dict[str, list]] = {}
    for row in rows:
        if "/" not in row.metric:
            continue
        host, _, kind = row.metric.partition("/")
        group = secondary.setdefault(host, {"aspects": [], "items": [], "criteria": []})
        if kind.startswith("aspect:"):
            group["aspects"].append((kind.removeprefix("aspect:"), row))
        elif kind.startswith("item:"):
            group["criteria"].append((kind, row))
        else:
            group["items"].append((kind, row))
    for group in secondary.values():
        group["aspects"].sort(key=lambda pair: aspect_rank(pair[0]))
        group["items"].sort(key=lambda pair: pair[0] != "item-level")
        group["criteria"].sort(key=lambda pair: secondary_order(pair[0]))
    return secondary


@public_pages.get("/units/<unit_code>")
@cached_page(vary=comments_version)
def unit_page(unit_code: str):
    unit = _unit_or_404(unit_code)
    predecessors, successors = readers.successions(unit)
    snapshots = readers.latest_snapshots("Q")
    index, rows = readers.latest_unit_estimates(snapshots, unit.code)
    latest = snapshots[index] if index is not None else None
    indicators = readers.indicators_by_code()
    main = [r for r in rows if "/" not in r.metric and r.metric in indicators]
    secondary = secondary_groups(rows)
    trends = {r.metric: readers.trend(snapshots, r.metric, "unit", unit.code) for r in main}
    # A chart only where at least one period has a published rate.
    charted = {
        metric for metric, found in trends.items() if any(t.estimate and t.estimate.estimate is not None for t in found)
    }
    return render_template(
        "public/unit.html",
        unit=unit,
        predecessors=predecessors,
        successors=successors,
        latest=latest,
        main=main,
        secondary=secondary,
        trends=trends,
        charted=charted,
        indicators=indicators,
        today=date.today(),
        trend_chart=trend_chart,
        comments=comments.published_comments(unit, request.args.get("page", 1, type=int)),
        snippets=_embed_snippets(unit),
        portal=latest_portal_figure(unit),
        portal_min_n=PORTAL_MIN_N,
        drivers=insights_drivers.public_section(unit),
        themes=insights_themes.public_section(unit),
        actions=insights_actions.public_section(unit),
    )


def _figure(unit_code: str) -> embeds.UnitFigure:
    unit = _unit_or_404(unit_code)
    indicator = request.args.get("indicator")
    if indicator is not None and indicator not in readers.indicators_by_code():
        abort(404)
    return embeds.unit_figure(unit, indicator)


#: Badges and widgets are fetched by other sites' visitors: let caches keep them a few minutes.
EMBED_CACHE_CONTROL = "public, max-age=300"


@public_pages.get("/units/<unit_code>/badge.svg")
@embeddable
def unit_badge(unit_code: str):
    """An SVG image of the unit's latest figure, for other sites (``?lang=vi|en``, ``?indicator=``)."""
    response = Response(embeds.badge_svg(_figure(unit_code)), mimetype="image/svg+xml")
    response.headers["Cache-Control"] = EMBED_CACHE_CONTROL
    response.headers["Vary"] = "Cookie, Accept-Language"
    response.add_etag()
    return response.make_conditional(request)


@public_pages.get("/units/<unit_code>/widget")
@embeddable
def unit_widget(unit_code: str):
    """A tiny HTML card of the unit's latest figure for an iframe; no JavaScript."""
    figure = _figure(unit_code)
    response = current_app.make_response(
        render_template("public/widget.html", figure=figure, status_words=embeds.status_words)
    )
    response.headers["Cache-Control"] = EMBED_CACHE_CONTROL
    response.headers["Vary"] = "Cookie, Accept-Language"
    return response
