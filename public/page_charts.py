"""The charts of the public pages and the agency dashboard, drawn from published rows.

:mod:`public.charts` draws SVG from plain points; these builders turn published estimates into
those points, with the texts and number formats of the page's language.
"""

from __future__ import annotations

from flask_babel import gettext as _

from public import charts, readers
from webapp.i18n import number, percent


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
    score: bool = False,
):
    """The trend of rates; ``score``: of a mean score 1–5, drawn as (score − 1)/4 and labelled in points."""
    to_chart = (lambda v: None if v is None else (v - 1) / 4) if score else (lambda v: v)
    points = [
        charts.TrendPoint(
            r.period,
            to_chart(r.estimate.estimate),
            to_chart(r.estimate.ci_low),
            to_chart(r.estimate.ci_high),
            r.estimate.target,
        )
        if r.estimate
        else charts.TrendPoint(r.period, None)
        for r in rows
    ]
    text = charts.ChartText(
        title=title, desc=desc, x_label=x_label, y_label=y_label, target_label=target_label, empty=empty
    )
    fmt = (lambda v: _("%(score)s / 5", score=number(round(1 + 4 * v, 1)))) if score else (lambda v: percent(v, 0))
    return charts.trend_svg(points, text, ident=ident, target=target, fmt=fmt)


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
