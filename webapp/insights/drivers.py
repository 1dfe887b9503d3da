"""Key drivers on the unit pages (issue #16): the priority matrix and its table.

For the unit's sector indicator with aspects (``compute.ASPECT_HOST``), the latest published
quarter that has driver rows (:class:`webapp.models.PublishedDriver`, written at publishing by
:mod:`webapp.publishing.drivers`) for the unit itself — or, when the unit is too small for a model
of its own, for its sector, said so on the page. Each aspect: its published rate with the
interval of that published estimate (performance), its importance (log odds ratio, 95% interval,
odds ratio), the model's n and the rank. Public and agency pages show the same published rows;
they change only with a new snapshot, which the public page cache already varies on.
"""

from __future__ import annotations

from dataclasses import dataclass

from flask_babel import gettext as _
from markupsafe import Markup

from public import charts, readers
from webapp.models import PublishedDriver, PublishedEstimate, PublishedSnapshot
from webapp.publishing.compute import ASPECT_HOST
from webapp.reports.labels import secondary_name


@dataclass(frozen=True)
class DriverRow:
    aspect: str
    rank: int | None
    #: The aspect's published rate (PublishedEstimate) in the domain its rate is published for.
    rate: PublishedEstimate | None
    driver: PublishedDriver


@dataclass(frozen=True)
class DriversSection:
    period: str
    indicator: str
    #: ``unit`` (the unit's own model) or ``sector`` (too few responses: the sector's model).
    scope: str
    sector: str
    target: float | None
    n: int
    rows: list[DriverRow]
    chart: Markup


def _latest_rows(
    indicator: str, domain_type: str, domain: str
) -> tuple[PublishedSnapshot, list[PublishedDriver]] | None:
    """The latest quarter (latest revision) with driver rows for the domain, and those rows."""
    for snapshot in reversed(readers.latest_snapshots("Q")):
        rows = readers.drivers_in(snapshot, indicator, domain_type, domain)
        if rows:
            return snapshot, rows
    return None


def _section(unit) -> DriversSection | None:

    indicator = ASPECT_HOST.get(unit.sector or "")
    if indicator is None:
        return None
    found, scope = _latest_rows(indicator, "unit", unit.code), "unit"
    if found is None:
        found, scope = _latest_rows(indicator, "sector", unit.sector), "sector"
    if found is None:
        return None
    snapshot, drivers = found
    rate_domain = ("unit", unit.code) if scope == "unit" else ("province", "sl")
    rates = {
        row.metric.removeprefix(f"{indicator}/aspect:"): row
        for row in readers.secondary_rows(snapshot, indicator, *rate_domain)
        if "/aspect:" in row.metric
    }
    # The target of the indicator, which its aspect rates carry too.
    target = next((r.target for r in rates.values() if r.target is not None), None)
    drivers.sort(key=lambda d: (d.rank is None, d.rank or 0, d.aspect))
    rows = [DriverRow(d.aspect, d.rank, rates.get(d.aspect), d) for d in drivers]
    estimable = [d.coefficient for d in drivers if d.coefficient is not None]
    split = sum(estimable) / len(estimable) if estimable else None
    points = [
        charts.PriorityPoint(secondary_name(f"aspect:{d.aspect}"), d.performance, d.coefficient, d.rank)
        for d in drivers
        if d.coefficient is not None
    ]
    text = charts.ChartText(
        title=_("Priority matrix, %(period)s", period=snapshot.period),
        desc=_(
            "Each numbered point is an aspect (its rank in the table below): across, its published satisfaction "
            "rate; up, how strongly satisfaction with it goes with overall satisfaction (log odds ratio). The "
            "dashed line is the target, the dotted line the average importance. Association, not cause."
        ),
        x_label=_("Satisfied with the aspect (%)"),
        y_label=_("Importance (log odds ratio)"),
        target_label=_("Target %(target)s", target=f"{target * 100:.0f}%") if target is not None else "",
        empty=_("No aspect could be estimated."),
    )
    quadrants = (_("Fix first"), _("Keep up"), _("Lower priority"), _("Possible overkill"))
    chart = charts.priority_svg(points, text, quadrants, ident=f"priority-{indicator}", target=target, split=split)
    return DriversSection(snapshot.period, indicator, scope, unit.sector, target, drivers[0].n, rows, chart)


def public_section(unit):
    """What the public unit page shows (drivers), or None."""
    return _section(unit)


def agency_section(unit):
    """What the agency's unit dashboard shows (drivers), or None."""
    return _section(unit)
