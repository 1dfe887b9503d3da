"""``/admin/audit``: search the audit trail and export what was found as CSV.

The trail is append-only: this blueprint has no route that edits or deletes an event.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask import Response, render_template, stream_with_context
from sqlalchemy import Select, select

from webapp.admin.blueprint import admin
from webapp.admin.common import arg_date, arg_page, arg_text, paginate
from webapp.extensions import db
from webapp.models import AuditEvent
from webapp.periods import VIETNAM
from webapp.safe_text import csv_cell

CSV_COLUMNS = ("at", "actor", "user_id", "action", "object_type", "object_id", "before", "after", "detail")


@dataclass(frozen=True)
class AuditFilters:
    action: str = ""
    email: str = ""
    object_type: str = ""
    object_id: str = ""
    text: str = ""
    since: date | None = None
    until: date | None = None

    @classmethod
    def from_request(cls) -> AuditFilters:
        return cls(
            arg_text("action", 60),
            arg_text("email", 254),
            arg_text("object_type", 40),
            arg_text("object_id", 60),
            arg_text("q", 200),
            arg_date("since"),
            arg_date("until"),
        )

    def query(self) -> Select:
        """The matching events, newest first."""
        query = select(AuditEvent).order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        if self.action:
            query = query.where(AuditEvent.action == self.action)
        if self.email:
            query = query.where(AuditEvent.actor.icontains(self.email.lower(), autoescape=True))
        if self.object_type:
            query = query.where(AuditEvent.object_type == self.object_type)
        if self.object_id:
            query = query.where(AuditEvent.object_id == self.object_id)
        if self.text:
            query = query.where(AuditEvent.detail.icontains(self.text, autoescape=True))
        if self.since:
            query = query.where(AuditEvent.at >= datetime.combine(self.since, time.min, tzinfo=VIETNAM))
        if self.until and self.until < date.max:
            query = query.where(
                AuditEvent.at < datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=VIETNAM)
            )
        return query

    def args(self) -> dict[str, str]:
        values = {
            "action": self.action,
            "email": self.email,
            "object_type": self.object_type,
            "object_id": self.object_id,
            "q": self.text,
            "since": self.since.isoformat() if self.since else "",
            "until": self.until.isoformat() if self.until else "",
        }
        return {name: value for name, value in values.items() if value}


@admin.get("/audit")
def audit():
    filters = AuditFilters.from_request()
    actions = list(db.session.scalars(select(AuditEvent.action).distinct().order_by(AuditEvent.action)))
    bad_dates = [name for name in ("since", "until") if arg_text(name) and arg_date(name) is None]
    return render_template(
        "admin/audit.html",
        page=paginate(filters.query(), arg_page()),
        filters=filters,
        actions=actions,
        bad_dates=bad_dates,
        as_json=as_json,
    )


def as_json(value) -> str:
    """A before/after document as readable JSON (Vietnamese letters kept, keys sorted)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True)


def _cell(value) -> str:
    """A CSV cell by the one rule of every spreadsheet writer (no formula, no control character)."""
    return csv_cell(as_json(value) if isinstance(value, dict | list) else value)


def csv_lines(query: Select) -> Iterator[str]:
    """The CSV text of ``query``'s events, a chunk at a time, starting with a byte-order mark for spreadsheets."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + buffer.getvalue()
    for number, event in enumerate(db.session.scalars(query.execution_options(yield_per=500)), start=1):
        buffer.seek(0)
        buffer.truncate()
        writer.writerow(
            [event.at.isoformat(timespec="seconds"), *(_cell(getattr(event, name)) for name in CSV_COLUMNS[1:])]
        )
        yield buffer.getvalue()
        if number % 500 == 0:
            db.session.expunge_all()


@admin.get("/audit/export.csv")
def audit_csv():
    filters = AuditFilters.from_request()
    response = Response(stream_with_context(csv_lines(filters.query())), mimetype="text/csv")
    response.headers["Content-Disposition"] = 'attachment; filename="audit.csv"'
    return response
