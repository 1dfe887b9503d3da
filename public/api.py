"""Read-only JSON API ``/api/v1``: the registry as open data (DESIGN.md section 7)."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from webapp.access import PUBLIC, declare_access
from webapp.extensions import db
from webapp.models import UNIT_KINDS, Unit, UnitSuccession

api = declare_access(Blueprint("api", __name__, url_prefix="/api/v1"), PUBLIC)


def _bad_request(message: str, field: str):
    response = jsonify(error={"status": 400, "field": field, "message": message})
    response.status_code = 400
    abort(response)


def unit_summary(unit: Unit) -> dict:
    """The public fields of a unit."""
    return {
        "code": unit.code,
        "name_vi": unit.name_vi,
        "name_en": unit.name_en,
        "kind": unit.kind,
        "sector": unit.sector,
        "parent": unit.parent.code if unit.parent else None,
        "valid_from": unit.valid_from.isoformat(),
        "valid_to": unit.valid_to.isoformat() if unit.valid_to else None,
        "gso_code": unit.gso_code,
        "illustrative": unit.illustrative,
    }


@api.get("/units")
def units():
    """Every unit of the registry, optionally only those of a ``kind`` or valid on a day (``valid_on``)."""
    query = select(Unit).options(selectinload(Unit.parent)).order_by(Unit.path)
    kind = request.args.get("kind")
    if kind is not None:
        if kind not in UNIT_KINDS:
            _bad_request(_("Unknown kind. Use one of: %(kinds)s.", kinds=", ".join(UNIT_KINDS)), "kind")
        query = query.where(Unit.kind == kind)
    valid_on = request.args.get("valid_on")
    if valid_on is not None:
        try:
            day = date.fromisoformat(valid_on)
        except ValueError:
            _bad_request(_("Write the date as YYYY-MM-DD."), "valid_on")
        query = query.where(Unit.valid_from <= day, (Unit.valid_to.is_(None)) | (Unit.valid_to >= day))
    rows = db.session.scalars(query).all()
    return jsonify(units=[unit_summary(unit) for unit in rows], count=len(rows))


@api.get("/units/<code>")
def unit_detail(code: str):
    """One unit with the services it offers, its children and its predecessors/successors."""
    unit = db.session.scalar(
        select(Unit).where(Unit.code == code).options(selectinload(Unit.services), selectinload(Unit.children))
    )
    if unit is None:
        abort(404)
    successions = db.session.scalars(
        select(UnitSuccession).where((UnitSuccession.old_unit_id == unit.id) | (UnitSuccession.new_unit_id == unit.id))
    ).all()
    document = unit_summary(unit)
    document["services"] = [
        {"code": s.code, "name_vi": s.name_vi, "name_en": s.name_en, "sector": s.sector, "kind": s.kind, "instrument": s.instrument_code}
        for s in unit.services
    ]
    document["children"] = sorted(child.code for child in unit.children)
    document["successors"] = sorted(s.new_unit.code for s in successions if s.old_unit_id == unit.id)
    document["predecessors"] = sorted(s.old_unit.code for s in successions if s.new_unit_id == unit.id)
    return jsonify(document)


@api.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    from public.openapi import openapi_document

    return jsonify(openapi_document())
