"""What a periodic report says, read from published snapshots only (never live estimates).

:func:`collect` gathers, for one unit or the province and one period, every published figure
the report shows beside the same figure of the previous period of the same length, and the
comment moderation counts of the period. The writers (:mod:`webapp.reports.docx_writer`,
:mod:`webapp.reports.xlsx_writer`) only lay these out.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import case, func, select

from public import readers
from webapp.extensions import db
from webapp.models import PublishedEstimate, PublishedSnapshot, Response, Service, Unit
from webapp.models.feedback import CommentReview
from webapp.periods import Period
from webapp.portal import response_rates
from webapp.reports import labels
from webapp.reports.insights import Insights, collect_insights
from webapp.textfold import fold

PROVINCE = "sl"
#: How many published comments a report quotes.
QUOTED_COMMENTS = 5


class ReportError(ValueError):
    """A report cannot be made; ``str(error)`` is the reason in the current locale."""

    def __init__(self, message, **params) -> None:
        super().__init__(str(message))
        self.message = message
        self.params = params

    def __str__(self) -> str:
        text = str(self.message)
        return text % self.params if self.params else text


@dataclass(frozen=True)
class Change:
    """Change from the previous period (a difference of proportions) with its 95% interval."""

    from_period: str
    difference: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class Figure:
    """One published rate as the report needs it; ``estimate`` is None when suppressed."""

    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    target: float | None
    status: str
    n_eff: float | None = None
    deff: float | None = None
    change: Change | None = None
    transactions: int | None = None
    response_rate: float | None = None
    weighted: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def suppressed(self) -> bool:
        return self.status == "insufficient" or self.estimate is None

    @property
    def score(self) -> bool:
        """A mean score 1–5 (the Ministry of Health's mean), not a share."""
        return self.extra.get("scale") == "score"

    @property
    def census(self) -> bool:
        """A count over every unit (the coverage indicator): no sampling interval."""
        return "units_active" in self.extra

    @classmethod
    def of(cls, row: PublishedEstimate) -> Figure:
        extra = dict(row.extra or {})
        change = extra.get("change") or None
        return cls(
            n=int(row.n),
            estimate=row.estimate,
            ci_low=row.ci_low,
            ci_high=row.ci_high,
            target=row.target,
            status=row.status,
            n_eff=row.n_eff,
            deff=row.deff,
            change=Change(change["from_period"], change["difference"], change["ci_low"], change["ci_high"])
            if change and change.get("difference") is not None and change.get("ci_low") is not None
            else None,
            transactions=extra.get("transactions"),
            response_rate=extra.get("response_rate"),
            weighted=extra.get("weighted"),
            extra=extra,
        )


@dataclass(frozen=True)
class Line:
    """A row of a report table: one metric in one domain, now and in the previous period."""

    metric: str
    label: str
    current: Figure | None
    previous: Figure | None
    #: The domain's code (a service, sector or commune code) in breakdowns; "" otherwise.
    domain: str = ""
    #: The indicator the row belongs to, in breakdowns and aspect tables.
    indicator: str = ""
    note: str = ""


@dataclass(frozen=True)
class Breakdown:
    """A table of one kind of domain (``service``, ``sector``, ``district`` or ``commune``)."""

    kind: str
    title: str
    domain_header: str
    lines: list[Line]
    note: str = ""


@dataclass(frozen=True)
class AspectGroup:
    """The aspect (and item-level) rates of one indicator's long questionnaire."""

    indicator_code: str
    indicator: str
    lines: list[Line]


@dataclass(frozen=True)
class PublishedComment:
    answered_on: date
    service: str
    text: str
    reply: str | None


@dataclass(frozen=True)
class CommentSummary:
    pending: int
    published: int
    hidden: int
    quoted: list[PublishedComment]

    @property
    def total(self) -> int:
        return self.pending + self.published + self.hidden


@dataclass(frozen=True)
class ReportData:
    """Everything a report shows."""

    locale: str
    period: Period
    previous_period: Period
    snapshot: PublishedSnapshot
    previous_snapshot: PublishedSnapshot | None
    unit: Unit | None
    scope_name: str
    indicators: list[Line]
    aspects: list[AspectGroup]
    breakdowns: list[Breakdown]
    comments: CommentSummary
    generated_at: datetime
    #: Survey links issued, delivered and answered per unit and service in the period
    #: (:class:`webapp.portal.response_rates.ResponseRateRow`; the unit's subtree, or every unit).
    link_rates: list = field(default_factory=list)
    #: Key drivers, comment themes and action plans (:mod:`webapp.reports.insights`).
    insights: Insights | None = None

    @property
    def scope_code(self) -> str:
        return self.unit.code if self.unit is not None else PROVINCE


def parse_period(label: str) -> Period:
    try:
        return Period.parse(label)
    except ValueError:
        raise ReportError(_l("Write the period like 2026-Q3, 2026-H1 or 2026.")) from None


def find_unit(code: str | None, period: Period) -> Unit | None:
    """The unit of ``code`` (None or ``sl``: the province); it must exist during ``period``."""
    if code is None or code.strip().lower() in ("", PROVINCE):
        return None
    unit = db.session.scalar(select(Unit).where(Unit.code == code.strip().lower()))
    if unit is None:
        raise ReportError(_l("There is no unit with the code %(code)s."), code=code.strip()[:40])
    if not (unit.valid_from <= period.end and (unit.valid_to is None or unit.valid_to >= period.start)):
        raise ReportError(_l("%(unit)s did not exist during %(period)s."), unit=unit.code, period=period.label)
    return unit


def _scope_rows(snapshot: PublishedSnapshot | None, unit: Unit | None) -> dict[str, PublishedEstimate]:
    """Metric → published row of the unit (or the province) in ``snapshot``."""
    if snapshot is None:
        return {}
    domain_type, domain = ("unit", unit.code) if unit is not None else ("province", PROVINCE)
    return {row.metric: row for row in readers.domain_estimates(snapshot, domain_type, domain)}


def _figure(row: PublishedEstimate | None) -> Figure | None:
    return Figure.of(row) if row is not None else None


def _indicator_lines(current, previous, indicators, locale: str, period: Period) -> list[Line]:
    lines = []
    for code, indicator in indicators.items():
        if code not in current and code not in previous:
            continue
        figure = _figure(current.get(code))
        note = ""
        if indicator.kind == "coverage" and figure is not None and figure.census:
            note = _(
                "%(surveyed)s of %(active)s units surveyed in %(period)s.",
                surveyed=figure.extra.get("units_surveyed", 0),
                active=figure.extra["units_active"],
                period=period.label,
            )
        lines.append(Line(code, indicator.name(locale), figure, _figure(previous.get(code)), note=note))
    return lines


def _aspect_groups(current, previous, indicators, locale: str) -> list[AspectGroup]:
    hosts: dict[str, list[str]] = {}
    for metric in sorted(set(current) | set(previous)):
        host, slash, kind = metric.partition("/")
        if slash:
            hosts.setdefault(host, []).append(kind)
    groups = []
    for host in (code for code in indicators if code in hosts):
        kinds = sorted(hosts[host], key=labels.secondary_order)
        lines = [
            Line(
                f"{host}/{kind}",
                labels.secondary_name(kind),
                _figure(current.get(f"{host}/{kind}")),
                _figure(previous.get(f"{host}/{kind}")),
                domain=kind,
                indicator=indicators[host].name(locale),
            )
            for kind in kinds
        ]
        groups.append(AspectGroup(host, indicators[host].name(locale), lines))
    return groups


def _breakdown_lines(
    snapshot,
    previous_snapshot,
    domain_type: str,
    metrics,
    names: dict[str, str],
    indicators,
    locale: str,
    only: set[str] | None = None,
) -> list[Line]:
    """Rows of ``domain_type`` for each main indicator, ordered by indicator then domain name."""
    lines = []
    for metric in metrics:
        before = (
            {row.domain: row for row in readers.rows_of(previous_snapshot, metric, domain_type)}
            if previous_snapshot is not None
            else {}
        )
        rows = [row for row in readers.rows_of(snapshot, metric, domain_type) if only is None or row.domain in only]
        rows.sort(key=lambda row: fold(names.get(row.domain, row.domain)))
        lines += [
            Line(
                metric,
                names.get(row.domain, row.domain),
                Figure.of(row),
                _figure(before.get(row.domain)),
                domain=row.domain,
                indicator=indicators[metric].name(locale),
            )
            for row in rows
        ]
    return lines


def _breakdowns(
    snapshot, previous_snapshot, unit: Unit | None, indicators, locale: str, period: Period
) -> list[Breakdown]:
    metrics = [code for code, indicator in indicators.items() if indicator.kind == "satisfaction"]
    if unit is not None:
        offered = {service.code: service.name(locale) for service in unit.services}
        lines = _breakdown_lines(
            snapshot, previous_snapshot, "service", metrics, offered, indicators, locale, set(offered)
        )
        return [
            Breakdown(
                "service",
                _("Services of this unit across the province"),
                _("Service group"),
                lines,
                note=_(
                    "Published figures give no rate of one unit for one service: each row is the rate of the "
                    "service across every unit of the province that offers it, for comparison."
                ),
            )
        ]
    breakdowns = []
    sector_names = {code: labels.sector_name(code) for code in ("admin", "health", "education")}
    breakdowns.append(
        Breakdown(
            "sector",
            _("By sector"),
            _("Sector"),
            _breakdown_lines(snapshot, previous_snapshot, "sector", metrics, sector_names, indicators, locale),
        )
    )
    area = "district" if period.end <= readers.LAST_DISTRICT_QUARTER.end else "commune"
    area_rows = [row.domain for metric in metrics for row in readers.rows_of(snapshot, metric, area)]
    area_names = {code: u.name(locale) for code, u in readers.units_by_code(area_rows).items()}
    title, header = (
        (_("By district"), _("District")) if area == "district" else (_("By commune or ward"), _("Commune or ward"))
    )
    breakdowns.append(
        Breakdown(
            area,
            title,
            header,
            _breakdown_lines(snapshot, previous_snapshot, area, metrics, area_names, indicators, locale),
        )
    )
    service_names = {s.code: s.name(locale) for s in db.session.scalars(select(Service))}
    breakdowns.append(
        Breakdown(
            "service",
            _("By service group"),
            _("Service group"),
            _breakdown_lines(snapshot, previous_snapshot, "service", metrics, service_names, indicators, locale),
        )
    )
    return breakdowns


def comment_summary(unit: Unit | None, period: Period, locale: str) -> CommentSummary:
    """Comments received in ``period`` (of the unit, or all): pending, published, hidden, and a few published ones.

    A comment with no review row is pending; only published comments are quoted, with the
    moderator's edited text when there is one and the agency's reply.
    """
    quarters = [q.label for q in period.quarters]
    scope = [Response.period.in_(quarters), Response.comment.is_not(None), Response.comment != ""]
    if unit is not None:
        scope.append(Response.unit_id == unit.id)
    status = func.coalesce(CommentReview.status, "pending")
    counts = dict(
        db.session.execute(
            select(status, func.count())
            .select_from(Response)
            .outerjoin(CommentReview, CommentReview.response_id == Response.id)
            .where(*scope)
            .group_by(status)
        ).all()
    )
    rows = db.session.execute(
        select(Response.answered_at, Response.comment, CommentReview.edited_text, CommentReview.reply, Service)
        .join(CommentReview, CommentReview.response_id == Response.id)
        .join(Service, Service.id == Response.service_id)
        .where(*scope, CommentReview.status == "published")
        .order_by(case((CommentReview.reply.is_(None), 1), else_=0), Response.answered_at.desc(), Response.id.desc())
        .limit(QUOTED_COMMENTS)
    ).all()
    quoted = [
        PublishedComment(labels.vietnam_date(answered_at), service.name(locale), edited or comment, reply)
        for answered_at, comment, edited, reply, service in rows
    ]
    return CommentSummary(counts.get("pending", 0), counts.get("published", 0), counts.get("hidden", 0), quoted)


def collect(unit_code: str | None, period_label: str, locale: str, now: datetime) -> ReportData:
    """Every figure of the report; raises :class:`ReportError` for an unknown unit or unpublished period."""
    period = parse_period(period_label)
    unit = find_unit(unit_code, period)
    snapshot = readers.find_snapshot(period.label)
    if snapshot is None:
        raise ReportError(_l("%(period)s has not been published yet."), period=period.label)
    previous_period = period.previous()
    previous_snapshot = readers.find_snapshot(previous_period.label)
    indicators = readers.indicators_by_code()
    current = _scope_rows(snapshot, unit)
    previous = _scope_rows(previous_snapshot, unit)
    return ReportData(
        locale=locale,
        period=period,
        previous_period=previous_period,
        snapshot=snapshot,
        previous_snapshot=previous_snapshot,
        unit=unit,
        scope_name=unit.name(locale) if unit is not None else labels.province_name(),
        indicators=_indicator_lines(current, previous, indicators, locale, period),
        aspects=_aspect_groups(current, previous, indicators, locale),
        breakdowns=_breakdowns(snapshot, previous_snapshot, unit, indicators, locale, period),
        comments=comment_summary(unit, period, locale),
        generated_at=now,
        link_rates=response_rates.period_response_rates(
            response_rates.subtree_ids(unit) if unit is not None else None, period
        ),
        insights=collect_insights(snapshot, unit, period, locale, labels.vietnam_date(now)),
    )
