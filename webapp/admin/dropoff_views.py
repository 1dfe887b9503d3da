"""Where people stop in the online survey: ``/admin/dropoff`` (issue #14).

Administrators only (the admin area's rule). The counts come from anonymous per-day counters
(:class:`webapp.models.collection.DropoffCount`) that the online survey adds to when a session
first reaches a page and when it sends its answers: no session id, address or answer is kept,
so the page shows shares of sessions, never anyone's path.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from flask import render_template
from sqlalchemy import func, select

from surveys.stored import definition_of
from webapp.admin.blueprint import admin
from webapp.extensions import db
from webapp.i18n import current_language
from webapp.models import Instrument
from webapp.models.collection import SUBMITTED_PAGE, DropoffCount


@dataclass(frozen=True)
class PageRow:
    """One page of a questionnaire version: how many sessions reached it, as a share of page 1."""

    page: int
    title: str
    sessions: int
    share: float | None


@dataclass(frozen=True)
class VersionDropoff:
    """The drop-off of one questionnaire version over the days counted."""

    instrument: Instrument
    pages: list[PageRow]
    sent: int
    sent_share: float | None
    first_day: date
    last_day: date


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def _section_titles(row: Instrument, language: str) -> dict[str, str]:
    return {section.code: section.title.get(language) for section in definition_of(row).sections}


def dropoff_report(language: str) -> list[VersionDropoff]:
    """Per questionnaire version with counts: sessions per page and sent, summed over all days."""
    totals = db.session.execute(
        select(
            DropoffCount.instrument_id,
            DropoffCount.page,
            func.max(DropoffCount.section),
            func.sum(DropoffCount.sessions),
            func.min(DropoffCount.day),
            func.max(DropoffCount.day),
        ).group_by(DropoffCount.instrument_id, DropoffCount.page)
    ).all()
    by_instrument: dict[int, list] = {}
    for row in totals:
        by_instrument.setdefault(row[0], []).append(row)
    report = []
    for instrument in db.session.scalars(
        select(Instrument).where(Instrument.id.in_(by_instrument)).order_by(Instrument.code, Instrument.version)
    ):
        rows = by_instrument[instrument.id]
        titles = _section_titles(instrument, language)
        counts = {page: int(sessions) for _id, page, _section, sessions, _first, _last in rows}
        opened = counts.get(1, 0)
        pages = [
            PageRow(page, titles.get(section, section or ""), int(sessions), _share(int(sessions), opened))
            for _id, page, section, sessions, _first, _last in sorted(rows, key=lambda r: r[1])
            if page != SUBMITTED_PAGE
        ]
        sent = counts.get(SUBMITTED_PAGE, 0)
        report.append(
            VersionDropoff(
                instrument=instrument,
                pages=pages,
                sent=sent,
                sent_share=_share(sent, opened),
                first_day=min(r[4] for r in rows),
                last_day=max(r[5] for r in rows),
            )
        )
    return report


@admin.get("/dropoff")
def dropoff():
    """Per questionnaire version, the share of sessions reaching each page and sending their answers."""
    return render_template("admin/dropoff.html", report=dropoff_report(current_language()))
