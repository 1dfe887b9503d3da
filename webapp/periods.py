"""Reporting periods: quarters (``2026-Q3``), half-years (``2026-H1``) and years (``2026``).

Responses and transaction counts are stored by quarter; a half-year or a year is the union
of its quarters. Quarters follow the calendar in Vietnam time (UTC+7), as agencies report.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

VIETNAM = ZoneInfo("Asia/Ho_Chi_Minh")


def vietnam_today() -> date:
    """Today's date in Vietnam (the registry's validity dates are Vietnamese calendar days)."""
    return datetime.now(VIETNAM).date()


_PATTERN = re.compile(r"^(?P<year>\d{4})(?:-(?P<kind>[QH])(?P<number>\d))?$")


#: Periods ending on the same day: the quarter first, then the half-year, then the year.
_KIND_ORDER = {"Q": 0, "H": 1, "Y": 2}


@dataclass(frozen=True, order=True)
class Period:
    """A reporting period. ``kind`` is ``Q``, ``H`` or ``Y``; ``number`` is 1–4, 1–2 or 1."""

    year: int
    kind: str
    number: int

    @classmethod
    def parse(cls, label: str) -> Period:
        """``Period.parse("2026-Q3")``; raises ``ValueError`` with a readable message."""
        match = _PATTERN.match(label.strip()) if isinstance(label, str) else None
        if not match:
            raise ValueError(f"period {label!r} is not written like 2026-Q3, 2026-H1 or 2026")
        year = int(match["year"])
        kind = match["kind"] or "Y"
        number = int(match["number"] or 1)
        if not 2000 <= year <= 2100:
            raise ValueError(f"period {label!r}: year out of range")
        if (kind == "Q" and not 1 <= number <= 4) or (kind == "H" and not 1 <= number <= 2):
            raise ValueError(f"period {label!r}: there is no such quarter or half-year")
        return cls(year, kind, number)

    @classmethod
    def quarter_of(cls, moment: datetime | date) -> Period:
        """The quarter containing ``moment`` (an aware datetime is read in Vietnam time)."""
        if isinstance(moment, datetime):
            moment = moment.astimezone(VIETNAM).date()
        return cls(moment.year, "Q", (moment.month - 1) // 3 + 1)

    @property
    def label(self) -> str:
        return str(self.year) if self.kind == "Y" else f"{self.year}-{self.kind}{self.number}"

    def __str__(self) -> str:
        return self.label

    @property
    def quarters(self) -> tuple[Period, ...]:
        """The quarters that make up the period."""
        if self.kind == "Q":
            return (self,)
        first = 1 if self.kind == "Y" else 2 * self.number - 1
        count = 4 if self.kind == "Y" else 2
        return tuple(Period(self.year, "Q", q) for q in range(first, first + count))

    @property
    def start(self) -> date:
        first = self.quarters[0]
        return date(self.year, 3 * first.number - 2, 1)

    @property
    def end(self) -> date:
        """The last day of the period."""
        last = self.quarters[-1]
        if last.number == 4:
            return date(self.year, 12, 31)
        return date(self.year, 3 * last.number + 1, 1) - timedelta(days=1)

    def chronological(self) -> tuple[date, int]:
        """Sort key of periods of every kind: by their last day; of periods ending on the same day,
        the quarter first, then the half-year, then the year."""
        return (self.end, _KIND_ORDER[self.kind])

    def containing(self) -> tuple[Period, ...]:
        """This period and every longer one it is part of: a quarter, its half-year and its year."""
        if self.kind == "Y":
            return (self,)
        year = Period(self.year, "Y", 1)
        if self.kind == "H":
            return (self, year)
        return (self, Period(self.year, "H", (self.number + 1) // 2), year)

    def previous(self) -> Period:
        """The period of the same length just before this one."""
        if self.kind == "Y":
            return Period(self.year - 1, "Y", 1)
        size = 4 if self.kind == "Q" else 2
        if self.number > 1:
            return Period(self.year, self.kind, self.number - 1)
        return Period(self.year - 1, self.kind, size)

    def next(self) -> Period:
        size = {"Q": 4, "H": 2, "Y": 1}[self.kind]
        if self.number < size:
            return Period(self.year, self.kind, self.number + 1)
        return Period(self.year + 1, self.kind, 1)


def quarter_range(first: Period, last: Period) -> list[Period]:
    """Every quarter from ``first`` to ``last`` inclusive."""
    quarters, current = [], first
    while current <= last:
        quarters.append(current)
        current = current.next()
    return quarters


def current_quarter(now: datetime | None = None) -> Period:
    return Period.quarter_of(now or datetime.now(VIETNAM))
