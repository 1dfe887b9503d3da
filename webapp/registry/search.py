"""Finding units by name, accents ignored: one rule, applied in SQL.

Every row of ``units`` keeps two folded keys (see :func:`webapp.textfold.fold`), written whenever
a unit is inserted or updated, whatever the path (``webapp.models.registry`` computes them with
its ``unit_search_key`` and ``unit_name_key``):

* ``search_key``, both names and the code (``xa chieng den chieng den commune c03661``), which a
  search matches word by word with ``LIKE``, so that no search loads every unit into Python;
* ``name_key``, the Vietnamese name alone, by which results are ordered.

The public search page, the admin registry's filter and the agency and interview pickers all
search here; a picker limited to an account's subtree passes its ``select`` as ``base``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, case, exists, or_, select, true

from webapp.extensions import db
from webapp.models.registry import Unit, UnitSuccession
from webapp.models.types import codepoint_order
from webapp.textfold import fold

#: The admin registry's reorganisation filters: units merged into others, units formed from others.
REORGANISATION_FILTERS = ("replaced", "successor")


def unit_search_clause(query: str) -> ColumnElement[bool]:
    """Units whose names (either language) or code contain every word of ``query``, accents and
    case ignored; every unit when ``query`` has no word. ``%`` and ``_`` are plain characters."""
    words = fold(query).split()
    if not words:
        return true()
    return and_(*(Unit.search_key.contains(word, autoescape=True) for word in words))


def valid_on_clause(day: date, model: Any = Unit) -> ColumnElement[bool]:
    """Rows of ``model`` (a unit, or a service) that exist on ``day``, as their ``valid_on``."""
    return and_(model.valid_from <= day, or_(model.valid_to.is_(None), model.valid_to >= day))


def unit_order(today: date) -> list[ColumnElement[Any]]:
    """Units existing ``today`` first, then by folded Vietnamese name, then by code."""
    return [case((valid_on_clause(today), 0), else_=1), codepoint_order(Unit.name_key), Unit.code]


def search_units(
    query: str, *, base: Select[Any] | None = None, today: date | None = None, limit: int = 100
) -> list[Unit]:
    """At most ``limit`` units matching every word of ``query`` (see :func:`unit_search_clause`),
    those existing ``today`` first, then by name; none for a query without a word.

    ``base`` is a ``select(Unit)`` without an order (a scope, other filters) to search within.
    One statement, whatever the number of units.
    """
    if not fold(query).split():
        return []
    statement = (select(Unit) if base is None else base).where(unit_search_clause(query))
    statement = statement.order_by(*unit_order(today or date.today())).limit(limit)
    return list(db.session.scalars(statement))


def registry_units_query(query: str = "", *, kind: str = "", on: date | None = None, change: str = "") -> Select[Any]:
    """The admin registry's unit list: every filter given (words of ``query``, ``kind``,
    existing ``on`` a day, ``change`` one of :data:`REORGANISATION_FILTERS`), by folded name."""
    statement = select(Unit).where(unit_search_clause(query))
    if kind:
        statement = statement.where(Unit.kind == kind)
    if on is not None:
        statement = statement.where(valid_on_clause(on))
    if change == "replaced":
        statement = statement.where(exists().where(UnitSuccession.old_unit_id == Unit.id))
    elif change == "successor":
        statement = statement.where(exists().where(UnitSuccession.new_unit_id == Unit.id))
    return statement.order_by(codepoint_order(Unit.name_key), Unit.code)
