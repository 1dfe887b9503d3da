"""Small helpers shared by the admin views: parsing query arguments, paging, audit snapshots."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from math import ceil
from typing import Any

from flask import request
from sqlalchemy import func, select

from webapp.extensions import db
from webapp.models import Unit
from webapp.paging import Page

PAGE_SIZE = 50


def snapshot(obj: Any, fields: Iterable[str]) -> dict[str, Any]:
    """The values of ``fields`` of ``obj`` as JSON-friendly values, for an audit event."""
    return {name: _plain(getattr(obj, name)) for name in fields}


def _plain(value: Any) -> Any:
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def changed_fields(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Only the entries that differ, so that audit rows say what changed and nothing else."""
    keys = [key for key in after if before.get(key) != after[key]]
    return {key: before.get(key) for key in keys}, {key: after[key] for key in keys}


def arg_date(name: str) -> date | None:
    """The query argument ``name`` as a date (YYYY-MM-DD), or ``None`` when absent or malformed."""
    text = (request.args.get(name) or "").strip()
    try:
        return date.fromisoformat(text) if text else None
    except ValueError:
        return None


def arg_text(name: str, max_length: int = 100) -> str:
    return (request.args.get(name) or "").strip()[:max_length]


def arg_page() -> int:
    text = request.args.get("page", "1")
    return max(1, int(text)) if text.isascii() and text.isdigit() and len(text) < 7 else 1


def paginate(query, number: int, size: int = PAGE_SIZE) -> Page:
    """Run ``query`` (a ``select`` of one entity) for page ``number`` and count every row."""
    total = db.session.scalar(select(func.count()).select_from(query.order_by(None).subquery())) or 0
    number = min(number, max(1, ceil(total / size)))
    items = list(db.session.scalars(query.limit(size).offset((number - 1) * size)))
    return Page(items, number, total, size)


def page_of(rows: list, number: int, size: int = PAGE_SIZE) -> Page:
    """A page of an already-loaded list."""
    number = min(number, max(1, ceil(len(rows) / size)))
    return Page(rows[(number - 1) * size : number * size], number, len(rows), size)


def unit_options(selected: str | None) -> list[dict]:
    """Units valid today, by name, for the unit drop-down."""
    today = date.today()
    units = [
        u for u in db.session.scalars(select(Unit).order_by(Unit.name_vi)) if u.valid_on(today) or u.code == selected
    ]
    return [{"value": u.code, "text": f"{u.name_vi} ({u.code})", "selected": u.code == selected} for u in units]
