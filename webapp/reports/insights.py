"""The report's "from scores to action" page (issue #16): key drivers, comment themes, action plans.

* **Drivers** — the snapshot's own :class:`~webapp.models.PublishedDriver` rows for the report's
  scope: the unit's model, or (a unit too small for one) its sector's, said so; the province's for a
  province report. Frozen with the snapshot, like every figure of the report.
* **Themes** — every comment received in the period by the unit and the units under it (or all),
  counted by theme with the complaints among them. Counts only: the report quotes no comment here.
* **Actions** — the plans of the unit and the units under it (or all), with their status on the
  day the report is made.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from public import readers
from surveys import themes as theme_rules
from webapp.insights import actions
from webapp.insights.themes import MIN_FOR_SHARE, period_counts
from webapp.models import PublishedSnapshot, Unit
from webapp.periods import Period
from webapp.portal.response_rates import subtree_ids
from webapp.publishing.compute import ASPECT_HOST
from webapp.reports import labels


@dataclass(frozen=True)
class DriverLine:
    rank: int | None
    aspect: str
    #: The aspect's published rate in the model's domain, and its interval.
    rate: float
    rate_low: float | None
    rate_high: float | None
    coefficient: float | None
    ci_low: float | None
    ci_high: float | None
    odds_ratio: float | None
    quadrant: str | None
    n: int


@dataclass(frozen=True)
class DriverGroup:
    indicator_code: str
    indicator: str
    #: ``unit``, ``sector`` (the unit's own sample is too small: its sector's model) or ``province``.
    scope: str
    lines: list[DriverLine]


@dataclass(frozen=True)
class ThemeLine:
    code: str
    theme: str
    mentions: int
    negative: int

    @property
    def share_negative(self) -> float | None:
        """The complaints' share, from :data:`MIN_FOR_SHARE` mentions on (as on the unit pages)."""
        return self.negative / self.mentions if self.mentions >= MIN_FOR_SHARE else None


@dataclass(frozen=True)
class ActionLine:
    unit: str
    subject: str
    said: str
    action: str
    responsible: str
    baseline_period: str
    due_on: date
    status: str
    overdue: bool
    outcome: str | None
    latest_note: str | None


@dataclass(frozen=True)
class Insights:
    drivers: list[DriverGroup]
    #: Comments of the period with at least one theme.
    themed_comments: int
    themes: list[ThemeLine]
    actions: list[ActionLine]

    @property
    def empty(self) -> bool:
        return not (self.drivers or self.themes or self.actions)


def _driver_group(
    snapshot: PublishedSnapshot, indicator_code: str, indicator: str, unit: Unit | None
) -> DriverGroup | None:
    if unit is None:
        tries = [("province", ("province", "sl"), ("province", "sl"))]
    else:
        tries = [
            ("unit", ("unit", unit.code), ("unit", unit.code)),
            ("sector", ("sector", unit.sector or ""), ("province", "sl")),
        ]
    for scope, (domain_type, domain), rate_domain in tries:
        drivers = readers.drivers_in(snapshot, indicator_code, domain_type, domain)
        if not drivers:
            continue
        rates = {
            row.metric.removeprefix(f"{indicator_code}/aspect:"): row
            for row in readers.secondary_rows(snapshot, indicator_code, *rate_domain)
            if "/aspect:" in row.metric
        }
        lines = []
        for d in drivers:
            rate = rates.get(d.aspect)
            lines.append(
                DriverLine(
                    d.rank,
                    labels.secondary_name(f"aspect:{d.aspect}"),
                    d.performance,
                    rate.ci_low if rate is not None else None,
                    rate.ci_high if rate is not None else None,
                    d.coefficient,
                    d.ci_low,
                    d.ci_high,
                    (d.extra or {}).get("odds_ratio"),
                    (d.extra or {}).get("quadrant"),
                    d.n,
                )
            )
        return DriverGroup(indicator_code, indicator, scope, lines)
    return None


def _drivers(snapshot: PublishedSnapshot, unit: Unit | None, locale: str) -> list[DriverGroup]:
    indicators = readers.indicators_by_code()
    if unit is not None:
        hosts = [ASPECT_HOST[unit.sector]] if unit.sector in ASPECT_HOST else []
    else:
        hosts = sorted(set(ASPECT_HOST.values()))
    groups = []
    for code in hosts:
        indicator = indicators.get(code)
        name = indicator.name(locale) if indicator is not None else code
        group = _driver_group(snapshot, code, name, unit)
        if group is not None:
            groups.append(group)
    return groups


def _themes(scope: list[int] | None, period: Period, locale: str) -> tuple[int, list[ThemeLine]]:
    totals, rows = period_counts(scope, [q.label for q in period.quarters])
    counts: dict[str, tuple[int, int]] = {}
    for _quarter, code, mentions, negative in rows:
        before = counts.get(code, (0, 0))
        counts[code] = (before[0] + int(mentions), before[1] + int(negative or 0))
    language = locale.split("_")[0]
    order = theme_rules.theme_codes()
    lines = [
        ThemeLine(code, theme_rules.theme(code).label_in(language), *counts[code]) for code in order if code in counts
    ]
    lines.sort(key=lambda line: (-line.negative, -line.mentions, order.index(line.code)))
    return sum(totals.values()), lines


def _actions(scope: list[int] | None, locale: str, today: date) -> list[ActionLine]:
    names = {}
    lines = []
    for plan in actions.plans_in(scope):
        note = plan.updates[-1].note if plan.updates else None
        if plan.unit_id not in names:
            names[plan.unit_id] = plan.unit.name(locale)
        lines.append(
            ActionLine(
                names[plan.unit_id],
                actions.subject_label(plan),
                plan.said,
                plan.action,
                plan.responsible,
                plan.baseline_period,
                plan.due_on,
                actions.status_name(plan.status),
                actions.is_overdue(plan, today),
                plan.outcome,
                note,
            )
        )
    return lines


def collect_insights(
    snapshot: PublishedSnapshot, unit: Unit | None, period: Period, locale: str, today: date
) -> Insights:
    """The report's drivers, themes and actions for ``unit`` (None: the province) in ``period``."""
    scope = subtree_ids(unit) if unit is not None else None
    themed, theme_lines = _themes(scope, period, locale)
    return Insights(_drivers(snapshot, unit, locale), themed, theme_lines, _actions(scope, locale, today))
