"""Transparency pages read from published snapshots: indicators and units.

- ``/indicators/<code>``: the latest province figure, its trend, breakdowns and a funnel plot
- ``/units/<unit_code>``: a unit's latest figures, aspects, trend and funnel position
- ``/units?q=``: search units by name, accents ignored

Every figure comes from the latest revision of published snapshots (``public.readers``);
charts are inline SVG (``public.charts``) with the same numbers in a table.
"""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, render_template, request
from sqlalchemy import select

from public import charts, readers
from webapp.access import PUBLIC, declare_access
from webapp.extensions import db
from webapp.i18n import number, percent
from webapp.models import Indicator, Unit

public_pages = declare_access(Blueprint("public_pages", __name__, template_folder="templates"), PUBLIC)

#: Aspects in the order the questionnaires ask them.
ASPECT_ORDER = (
    "access",
    "transparency",
    "procedure",
    "civil_servant",
    "staff",
    "facilities",
    "environment",
    "activities",
    "result",
    "results",
    "feedback",
)
#: Breakdown tables of the indicator page, in order.
BREAKDOWNS = ("sector", "district", "commune", "service", "channel", "respondent_type")


def trend_chart(
    rows: list[readers.TrendRow],
    *,
    ident: str,
    target: float | None,
    title: str,
    desc: str,
    x_label: str,
    y_label: str,
    target_label: str = "",
    empty: str = "",
):
    points = [
        charts.TrendPoint(r.period, r.estimate.estimate, r.estimate.ci_low, r.estimate.ci_high, r.estimate.target)
        if r.estimate
        else charts.TrendPoint(r.period, None)
        for r in rows
    ]
    text = charts.ChartText(
        title=title, desc=desc, x_label=x_label, y_label=y_label, target_label=target_label, empty=empty
    )
    return charts.trend_svg(points, text, ident=ident, target=target, fmt=lambda v: percent(v, 0))


def funnel_chart(
    rows,
    *,
    ident: str,
    reference: float | None,
    title: str,
    desc: str,
    x_label: str,
    y_label: str,
    reference_label: str = "",
    empty: str = "",
):
    points = []
    for row in rows:
        funnel = row.extra.get("funnel") or {}
        points.append(
            charts.FunnelPoint(
                row.domain,
                row.n_eff,
                row.estimate,
                funnel.get("lower95"),
                funnel.get("upper95"),
                funnel.get("lower998"),
                funnel.get("upper998"),
                funnel.get("position", "within"),
            )
        )
    text = charts.ChartText(
        title=title, desc=desc, x_label=x_label, y_label=y_label, reference_label=reference_label, empty=empty
    )
    return charts.funnel_svg(points, text, ident=ident, reference=reference, fmt=lambda v: percent(v, 0), fmt_n=number)


def _indicator(code: str) -> Indicator:
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == code))
    if indicator is None:
        abort(404)
    return indicator


@public_pages.get("/indicators/<code>")
def indicator_page(code: str):
    indicator = _indicator(code)
    snapshots = readers.snapshots_for(indicator)
    latest = snapshots[-1] if snapshots else None
    province = None
    breakdowns: dict[str, list] = {}
    funnel_rows: list = []
    if latest is not None:
        found = readers.rows_of(latest, code, "province")
        province = found[0] if found else None
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
    results = readers.search_units(query) if query else []
    return render_template("public/units.html", query=query, results=results, today=date.today())


@public_pages.get("/units/<unit_code>")
def unit_page(unit_code: str):
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        abort(404)
    predecessors, successors = readers.successions(unit)
    snapshots = readers.latest_snapshots("Q")
    latest, rows = None, []
    for snapshot in reversed(snapshots):
        rows = readers.unit_estimates(snapshot, unit.code)
        if rows:
            latest = snapshot
            break
    indicators = readers.indicators_by_code()
    main = [r for r in rows if "/" not in r.metric and r.metric in indicators]
    secondary: dict[str, dict[str, list]] = {}
    for row in rows:
        if "/" not in row.metric:
            continue
        host, _, kind = row.metric.partition("/")
        group = secondary.setdefault(host, {"aspects": [], "items": []})
        if kind.startswith("aspect:"):
            group["aspects"].append((kind.removeprefix("aspect:"), row))
        else:
            group["items"].append((kind, row))
    for group in secondary.values():
        group["aspects"].sort(
            key=lambda pair: ASPECT_ORDER.index(pair[0]) if pair[0] in ASPECT_ORDER else len(ASPECT_ORDER)
        )
        group["items"].sort(key=lambda pair: pair[0] != "item-level")
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
    )
