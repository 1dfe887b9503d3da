"""Exact response rates of the survey links: issued, delivered and answered per unit and service.

For a period (a quarter, or a half-year or year as its quarters together) and a set of units:

* **issued**: receipt tokens (survey links) issued in the period (``ReceiptToken.issued_at``, Việt Nam
  dates), printed at a counter or asked for by the one-stop system; ``one_stop`` says how many of
  them came through the one-stop integration (the rows of the ``dossiers`` table, once it exists);
* **delivered**: messages carrying a link that the delivery providers accepted in the period
  (``webapp.delivery.status_counts`` → ``sent``); ``None`` when nothing was delivered anywhere;
* **answered**: tokens used (a completed survey) in the period, whenever they were issued;
* **answered_of_issued**: of the tokens issued in the period, those answered by now; the response
  rate is ``answered_of_issued / issued`` (its n is ``issued``). A rate over links answered in the
  period would count answers to links issued the quarter before and could pass 100%.

These are counts of links, not survey estimates: no weighting, no interval, nothing suppressed —
a staff view of the unit's own collection, never published.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from sqlalchemy import and_, func, select

from webapp import delivery
from webapp.extensions import db
from webapp.models import ReceiptToken, Service, Unit
from webapp.periods import VIETNAM, Period


@dataclass(frozen=True)
class ResponseRateRow:
    unit: Unit
    service: Service
    issued: int
    answered: int
    answered_of_issued: int
    delivered: int | None = None
    one_stop: int | None = None

    @property
    def n(self) -> int:
        return self.issued

    @property
    def rate(self) -> float | None:
        return self.answered_of_issued / self.issued if self.issued else None


def _bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """Aware datetimes of the start of ``start`` and the start of the day after ``end``, Việt Nam time."""
    return (
        datetime.combine(start, time(0), tzinfo=VIETNAM),
        datetime.combine(end + timedelta(days=1), time(0), tzinfo=VIETNAM),
    )


def _grouped(query) -> dict[tuple[int, int], int]:
    return {(unit_id, service_id): int(count) for unit_id, service_id, count in db.session.execute(query)}


def _one_stop_counts(unit_filter, low: datetime, high: datetime) -> dict[tuple[int, int], int] | None:
    """Tokens of the period issued through the one-stop integration, or ``None`` before that table exists."""
    table = db.metadata.tables.get("dossiers")
    if table is None or "receipt_token_id" not in table.c:
        return None
    return _grouped(
        select(ReceiptToken.unit_id, ReceiptToken.service_id, func.count())
        .join(table, table.c.receipt_token_id == ReceiptToken.id)
        .where(ReceiptToken.issued_at >= low, ReceiptToken.issued_at < high, *unit_filter)
        .group_by(ReceiptToken.unit_id, ReceiptToken.service_id)
    )


def _delivered(unit_ids: list[int] | None, start: date, end: date) -> dict[tuple[int, int], int] | None:

    counts = delivery.status_counts(unit_ids, start, end)
    if not counts:
        return None
    return {key: int(statuses.get("sent", 0)) for key, statuses in counts.items()}


def response_rates(unit_ids: Iterable[int] | None, start: date, end: date) -> list[ResponseRateRow]:
    """One row per unit and service with a link issued, delivered or answered from ``start`` to ``end``
    (Việt Nam dates, inclusive), for the units ``unit_ids`` (``None``: every unit); sorted by unit path
    then service code."""
    ids = None if unit_ids is None else sorted(set(unit_ids))
    if ids is not None and not ids:
        return []
    low, high = _bounds(start, end)
    unit_filter = [] if ids is None else [ReceiptToken.unit_id.in_(ids)]
    keys = (ReceiptToken.unit_id, ReceiptToken.service_id)
    issued = _grouped(
        select(*keys, func.count())
        .where(ReceiptToken.issued_at >= low, ReceiptToken.issued_at < high, *unit_filter)
        .group_by(*keys)
    )
    answered = _grouped(
        select(*keys, func.count())
        .where(ReceiptToken.used_at >= low, ReceiptToken.used_at < high, *unit_filter)
        .group_by(*keys)
    )
    answered_of_issued = _grouped(
        select(*keys, func.count())
        .where(
            and_(ReceiptToken.issued_at >= low, ReceiptToken.issued_at < high, ReceiptToken.used_at.is_not(None)),
            *unit_filter,
        )
        .group_by(*keys)
    )
    one_stop = _one_stop_counts(unit_filter, low, high)
    delivered = _delivered(ids, start, end)
    if delivered is not None and ids is not None:
        wanted = set(ids)
        delivered = {key: value for key, value in delivered.items() if key[0] in wanted}
    cells = set(issued) | set(answered) | set(delivered or {})
    if not cells:
        return []
    units = {u.id: u for u in db.session.scalars(select(Unit).where(Unit.id.in_({k[0] for k in cells})))}
    services = {s.id: s for s in db.session.scalars(select(Service).where(Service.id.in_({k[1] for k in cells})))}
    rows = [
        ResponseRateRow(
            unit=units[unit_id],
            service=services[service_id],
            issued=issued.get((unit_id, service_id), 0),
            answered=answered.get((unit_id, service_id), 0),
            answered_of_issued=answered_of_issued.get((unit_id, service_id), 0),
            delivered=None if delivered is None else delivered.get((unit_id, service_id), 0),
            one_stop=None if one_stop is None else one_stop.get((unit_id, service_id), 0),
        )
        for unit_id, service_id in cells
        if unit_id in units and service_id in services
    ]
    return sorted(rows, key=lambda r: (r.unit.path, r.service.code))


def period_response_rates(unit_ids: Iterable[int] | None, period: Period) -> list[ResponseRateRow]:
    """:func:`response_rates` over the days of ``period``."""
    return response_rates(unit_ids, period.start, period.end)


def subtree_ids(unit: Unit) -> list[int]:
    """The ids of ``unit`` and every unit under it (the scope a dashboard of ``unit`` may show)."""
    return list(db.session.scalars(select(Unit.id).where(Unit.path.startswith(unit.path, autoescape=True))))
