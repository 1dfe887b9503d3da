"""Words and numbers of the reports in the current locale (set by :func:`flask_babel.force_locale`)."""

from __future__ import annotations

from datetime import date, datetime

from flask import g, has_app_context
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from sqlalchemy import select

from surveys.definitions import criterion_items
from surveys.stored import definition_of
from webapp.extensions import db
from webapp.i18n import percent
from webapp.models import Instrument
from webapp.periods import VIETNAM, Period

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
#: The aspects' rates in that order, then the two whole-questionnaire rates.
SECONDARY_ORDER = (*(f"aspect:{code}" for code in ASPECT_ORDER), "item-level", "all-items")
ROMAN = {1: "I", 2: "II", 3: "III", 4: "IV"}


def aspect_rank(code: str) -> int:
    """Where aspect ``code`` comes in :data:`ASPECT_ORDER` (unknown ones last)."""
    return ASPECT_ORDER.index(code) if code in ASPECT_ORDER else len(ASPECT_ORDER)


def language() -> str:
    return str(get_locale() or "vi")


def status_word(status: str) -> str:
    """The status against the target in words (never a colour alone)."""
    return {
        "met": _("Target met"),
        "below": _("Below target"),
        "inconclusive": _("Not yet clear"),
        "no_target": _("No target set"),
    }.get(status, _("Not enough data"))


def _criteria() -> dict[str, object]:
    """``criterion code → its question`` (a ``LocalizedText``), in the order the newest
    questionnaires ask them; kept for the request (the instrument versions never change)."""

    if has_app_context() and "criteria" in g:
        return g.criteria
    found: dict[str, object] = {}
    for row in db.session.scalars(select(Instrument).order_by(Instrument.code, Instrument.version.desc())):
        for item in criterion_items(definition_of(row)):
            found.setdefault(item.code, item.text)
    if has_app_context():
        g.criteria = found
    return found


def secondary_order(kind: str) -> int:
    """Aspects in questionnaire order, the whole-questionnaire rates, then the criteria as asked."""
    if kind in SECONDARY_ORDER:
        return SECONDARY_ORDER.index(kind)
    criteria = list(_criteria()) if kind.startswith("item:") else []
    code = kind.removeprefix("item:")
    return len(SECONDARY_ORDER) + (criteria.index(code) if code in criteria else len(criteria))


def secondary_name(kind: str) -> str:
    """The name of an aspect (``aspect:access``), of a whole-questionnaire rate (``item-level``) or the
    question of a criterion measured by matrix sampling (``item:<code>``)."""
    if kind.startswith("item:"):
        text = _criteria().get(kind.removeprefix("item:"))
        return text.get(language()) if text is not None else kind.removeprefix("item:")
    names = {
        "aspect:access": _("Access to the service"),
        "aspect:procedure": _("The procedure"),
        "aspect:civil_servant": _("Civil servants"),
        "aspect:result": _("The result"),
        "aspect:feedback": _("Handling of feedback and complaints"),
        "aspect:transparency": _("Transparency of information and procedures"),
        "aspect:facilities": _("Facilities"),
        "aspect:staff": _("Attitude and skills of staff"),
        "aspect:results": _("Results of the service"),
        "aspect:environment": _("Learning environment"),
        "aspect:activities": _("Teaching and activities"),
        "item-level": _("All answers to the questions (item level)"),
        "all-items": _("Satisfied with every question"),
    }
    return names.get(kind, kind.removeprefix("aspect:"))


def sector_name(code: str) -> str:
    return {"admin": _("Administrative procedures"), "health": _("Health care"), "education": _("Education")}.get(
        code, code
    )


def province_name() -> str:
    return _("Sơn La province")


def period_name(period: Period) -> str:
    """``quý III năm 2026`` / ``quarter III of 2026``, ``6 tháng đầu năm 2026``…"""
    if period.kind == "Q":
        return _("quarter %(number)s of %(year)s", number=ROMAN[period.number], year=period.year)
    if period.kind == "H":
        if period.number == 1:
            return _("the first half of %(year)s", year=period.year)
        return _("the second half of %(year)s", year=period.year)
    return _("the year %(year)s", year=period.year)


def rate(value: float | None, score: bool = False) -> str:
    """A share as a percentage with one decimal, in the locale's way (``85,3%``); a mean score as ``4,12 / 5``."""
    if value is None:
        return ""
    return _("%(score)s / 5", score=format_decimal(value, format="0.00")) if score else percent(value, 1)


def target(value: float) -> str:
    """A target as people write it: ``90%``, or ``92,5%`` when it is not a whole percentage."""
    return percent(value, 0 if abs(value * 100 - round(value * 100)) < 1e-9 else 1)


def interval(low: float | None, high: float | None, score: bool = False) -> str:
    if low is None or high is None:
        return ""
    if score:
        return f"{format_decimal(low, format='0.00')} – {format_decimal(high, format='0.00')}"
    return f"{percent(low, 1)} – {percent(high, 1)}"


def count(value: int | float | None) -> str:
    return format_decimal(value, format="#,##0") if value is not None else ""


def points(value: float) -> str:
    """A difference of proportions in percentage points with its sign: ``+5,5``."""
    return format_decimal(value * 100, format="+#,##0.0;-#,##0.0")


def change_text(difference: float, low: float, high: float) -> str:
    verdict = _("A clear rise.") if low > 0 else _("A clear fall.") if high < 0 else _("No clear change.")
    return (
        _(
            "%(difference)s points (%(low)s to %(high)s)",
            difference=points(difference),
            low=points(low),
            high=points(high),
        )
        + " "
        + verdict
    )


def vietnam_date(moment: datetime | date) -> date:
    if isinstance(moment, datetime):
        if moment.tzinfo is None:
            return moment.date()
        return moment.astimezone(VIETNAM).date()
    return moment


def short_date(day: date) -> str:
    """``05/02/2026`` in Vietnamese, ``5 Feb 2026`` in English."""
    if language() == "en":
        return f"{day.day} {day.strftime('%b')} {day.year}"
    return day.strftime("%d/%m/%Y")


def place_and_date(day: date) -> str:
    """The place-and-date line of an administrative document (Decree 30/2020/NĐ-CP).

    Days below 10 and months below 3 get a leading zero in Vietnamese, as the decree asks.
    """
    if language() == "en":
        return f"Sơn La, {day.day} {day.strftime('%B')} {day.year}"
    month = f"{day.month:02d}" if day.month < 3 else str(day.month)
    return f"Sơn La, ngày {day.day:02d} tháng {month} năm {day.year}"


def quadrant_name(code: str | None) -> str:
    """The priority-matrix quadrant of a key driver (issue #16), as the unit pages name it."""
    names = {
        "fix_first": _("Fix first"),
        "keep_up": _("Keep up"),
        "lower_priority": _("Lower priority"),
        "possible_overkill": _("Possible overkill"),
    }
    return names.get(code or "", "")


def decimal(value: float | None) -> str:
    """A coefficient or a ratio with two decimals in the locale's way (``0,85``); empty when missing."""
    return format_decimal(value, format="0.00") if value is not None else ""


def decimal_interval(low: float | None, high: float | None) -> str:
    return f"{decimal(low)} – {decimal(high)}" if low is not None and high is not None else ""
