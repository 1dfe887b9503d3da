"""Read-only JSON API ``/api/v1``: the registry as open data (DESIGN.md section 7).

List answers (``/units``, ``/estimates``) come in pages: ``?limit=`` (default 500, at most
5000) and ``?page=`` (from 1). The answer keeps its top-level list (``units``, ``estimates``)
and adds ``count`` (every matching row), ``page``, ``limit``, ``next`` and ``prev`` (URLs or
null), with the same links in a ``Link`` header. Every answer carries ``Last-Modified`` (the
publication or the last registry change) beside its ``ETag``, so clients revalidate cheaply.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from flask import Blueprint, abort, g, jsonify, request, url_for
from flask_babel import gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload

from public import readers
from public.openapi import openapi_document
from webapp.access import PUBLIC, declare_access
from webapp.extensions import db
from webapp.models import UNIT_KINDS, AuditEvent, Indicator, Unit, UnitSuccession
from webapp.models.publishing import DOMAIN_TYPES
from webapp.periods import Period

api = declare_access(Blueprint("api", __name__, url_prefix="/api/v1"), PUBLIC)

#: Rows per page when ``limit`` is not given, and the most a client may ask for.
DEFAULT_LIMIT = 500
MAX_LIMIT = 5000


def _bad_request(message: str, field: str):
    response = jsonify(error={"status": 400, "field": field, "message": message})
    response.status_code = 400
    abort(response)


def _positive_int(name: str, default: int, maximum: int | None = None) -> int:
    raw = request.args.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = 0
    if value < 1 or (maximum is not None and value > maximum):
        if maximum is None:
            _bad_request(_("Write a whole number from 1."), name)
        _bad_request(_("Write a whole number from 1 to %(maximum)s.", maximum=maximum), name)
    return value


@dataclass(frozen=True)
class Paging:
    """One page of a list answer: which rows to return and the links to its neighbours."""

    page: int
    limit: int
    total: int

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.limit

    def _url(self, page: int) -> str:
        args = request.args.to_dict(flat=False)
        args["page"] = [str(page)]
        return url_for(request.endpoint, **(request.view_args or {}), **args)

    @property
    def next(self) -> str | None:
        return self._url(self.page + 1) if self.offset + self.limit < self.total else None

    @property
    def prev(self) -> str | None:
        if self.page <= 1 or self.total == 0:
            return None
        last = max(1, -(-self.total // self.limit))
        return self._url(min(self.page - 1, last))

    def document(self) -> dict:
        """The paging keys of the JSON answer."""
        return {"count": self.total, "page": self.page, "limit": self.limit, "next": self.next, "prev": self.prev}

    def link_header(self) -> str | None:
        links = [f'<{url}>; rel="{rel}"' for rel, url in (("next", self.next), ("prev", self.prev)) if url]
        return ", ".join(links) or None


#: More pages than any list here will ever have.
MAX_PAGE = 1_000_000


def paging(total: int) -> Paging:
    """The page asked for by ``?page=`` and ``?limit=`` (400 when either is not a whole number in range)."""
    # The page number is bounded too: an offset beyond 64 bits makes the database fail, not answer.
    return Paging(_positive_int("page", 1, MAX_PAGE), _positive_int("limit", DEFAULT_LIMIT, MAX_LIMIT), total)


def paged(pages: Paging, key: str, items: list, **extra):
    """A JSON answer with one page of ``items`` under ``key``, the paging keys and the ``Link`` header."""
    response = jsonify(**extra, **{key: items}, **pages.document())
    link = pages.link_header()
    if link:
        response.headers["Link"] = link
    return response


def registry_changed_at() -> datetime | None:
    """When the registry (units, services, indicators) last changed: its latest audited load or edit."""
    return db.session.scalar(
        select(func.max(AuditEvent.at)).where(
            or_(AuditEvent.action.like("registry.%"), AuditEvent.action.like("unit.%"))
        )
    )


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
        "gso_code": unit.gso_code,  # the administrative unit code (Mã ĐVHC); the name is part of the contract
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
    pages = paging(db.session.scalar(select(func.count()).select_from(query.subquery())) or 0)
    rows = db.session.scalars(query.offset(pages.offset).limit(pages.limit)).all()
    g.last_modified = registry_changed_at()
    return paged(pages, "units", [unit_summary(unit) for unit in rows])


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
        {
            "code": s.code,
            "name_vi": s.name_vi,
            "name_en": s.name_en,
            "sector": s.sector,
            "kind": s.kind,
            "instrument": s.instrument_code,
        }
        for s in unit.services
    ]
    document["children"] = sorted(child.code for child in unit.children)
    document["successors"] = sorted(s.new_unit.code for s in successions if s.old_unit_id == unit.id)
    document["predecessors"] = sorted(s.old_unit.code for s in successions if s.new_unit_id == unit.id)
    g.last_modified = registry_changed_at()
    return jsonify(document)


@api.get("/openapi.json")
def openapi():
    """The OpenAPI 3.1 description of this API."""
    return jsonify(openapi_document())


def indicator_target(target) -> dict:
    """A milestone: ``source`` is ``{vi, en}``; ``source_vi``/``source_en`` repeat it (earlier contract)."""
    return {
        "year": target.year,
        "value": target.value,
        "comparison": target.comparison,
        "source": {"vi": target.source_vi, "en": target.source_en},
        "source_vi": target.source_vi,
        "source_en": target.source_en,
    }


def indicator_summary(indicator) -> dict:
    """An indicator as ``/indicators`` lists it: what it measures, the method it follows, its milestones."""
    definition = indicator.definition or {}
    return {
        "code": indicator.code,
        "name_vi": indicator.name_vi,
        "name_en": indicator.name_en,
        "description_vi": indicator.description_vi,
        "description_en": indicator.description_en,
        "kind": indicator.kind,
        "method": definition.get("method", "province"),
        "sector": indicator.sector,
        "plan_section": indicator.plan_section,
        "subset_of": definition.get("subset_of"),
        "min_n": indicator.min_n,
        "min_n_show": indicator.min_n_show,
        "targets": [indicator_target(t) for t in indicator.targets],
    }


@api.get("/indicators")
def indicators():
    """The indicators with the method each follows and their targets (milestones by year, with sources)."""
    rows = db.session.scalars(select(Indicator).order_by(Indicator.code).options(selectinload(Indicator.targets))).all()
    g.last_modified = registry_changed_at()
    return jsonify(indicators=[indicator_summary(i) for i in rows])


@api.get("/estimates")
def estimates():
    """Published estimates of a period (latest revision): ``indicator``, ``period``, ``unit``, ``domain_type``.
    Without ``period``: the period published most recently (:func:`public.readers.last_published`)."""
    period = request.args.get("period")
    if period is not None:
        try:
            period = Period.parse(period).label
        except ValueError:
            _bad_request(_("Write the period like 2026-Q3, 2026-H1 or 2026."), "period")
        snapshot = readers.find_snapshot(period)
    else:
        snapshot = readers.last_published()
    if snapshot is None:
        return paged(paging(0), "estimates", [], period=period, revision=None)
    domain_type = request.args.get("domain_type")
    if domain_type is not None and domain_type not in DOMAIN_TYPES:
        _bad_request(_("Unknown domain type. Use one of: %(kinds)s.", kinds=", ".join(DOMAIN_TYPES)), "domain_type")
    query = readers.estimates_query(
        snapshot,
        metric=request.args.get("indicator"),
        aspects=request.args.get("aspects") in ("1", "true"),
        unit=request.args.get("unit"),
        domain_type=domain_type,
    )
    pages = paging(readers.count_rows(query))
    rows = readers.ordered_estimates(query, offset=pages.offset, limit=pages.limit)
    g.last_modified = snapshot.published_at
    return paged(
        pages,
        "estimates",
        [readers.estimate_record(row, snapshot) for row in rows],
        period=snapshot.period,
        revision=snapshot.revision,
        published_at=snapshot.published_at.isoformat(),
        methodology_version=snapshot.methodology_version,
    )


@api.after_request
def open_data_headers(response):
    """Open data: any site may read the API (CORS), and clients may revalidate cheaply (ETag or
    Last-Modified → 304)."""
    if request.method in ("GET", "HEAD") and response.status_code == 200:
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified, Link"
        response.headers["Cache-Control"] = "public, max-age=60"
        response.add_etag()
        last_modified = g.get("last_modified")
        if last_modified is not None:
            response.last_modified = last_modified
        response.make_conditional(request)
    return response
