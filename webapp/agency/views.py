"""The agency area's home (``/agency/``: the user's unit and a unit picker) and a unit's dashboard."""

from __future__ import annotations

from datetime import date

from flask import render_template, request
from flask_login import current_user
from sqlalchemy import func, select

from public import readers
from public.page_charts import funnel_chart, trend_chart
from webapp.access import EDITOR_ROLES, scope_root, scoped_units_query, unit_or_404
from webapp.agency import moderation, overview
from webapp.agency.blueprint import agency
from webapp.extensions import db
from webapp.insights import actions as insights_actions
from webapp.insights import drivers as insights_drivers
from webapp.insights import themes as insights_themes
from webapp.models import Service, Unit
from webapp.registry.search import search_units

#: Units listed by the picker at most.
PICKER_LIMIT = 50


@agency.app_template_global()
def agency_can_edit() -> bool:
    """Whether the signed-in user may change things in the agency area (viewers only read)."""
    return current_user.is_authenticated and current_user.role in EDITOR_ROLES


def scope_size() -> int:
    """How many units the current user may see."""
    query = scoped_units_query().with_only_columns(func.count())
    return db.session.scalar(query) or 0


def pick_units(query: str, today: date | None = None) -> list[Unit]:
    """Units of the user's scope matching every word of ``query`` (accents ignored); without a
    query, the units directly under the scope's root (the top units for an administrator)."""
    today = today or date.today()
    if query.strip():
        return search_units(query, base=scoped_units_query(), today=today, limit=PICKER_LIMIT)
    root = scope_root()
    if root is None:
        found = db.session.scalars(select(Unit).where(Unit.parent_id.is_(None))).all()
        found += (
            db.session.scalars(select(Unit).where(Unit.parent_id.in_([u.id for u in found]))).all() if found else []
        )
    else:
        found = [root, *overview.subunits(root, today)]
    return sorted(found, key=lambda u: (u.path.count("/"), not u.valid_on(today), u.name_key))[:PICKER_LIMIT]


@agency.get("/")
def dashboard():
    """The user's own unit with its pending comments, and a picker when the scope has other units."""
    root = scope_root()
    query = (request.args.get("q") or "").strip()[:100]
    many = root is None or scope_size() > 1
    return render_template(
        "agency/dashboard.html",
        unit=root,
        pending=moderation.pending_count(root) if root is not None else 0,
        many=many,
        query=query,
        results=pick_units(query) if many else [],
        today=date.today(),
    )


@agency.get("/units/<code>")
def unit_dashboard(code: str):
    """A unit's published figures beside its provisional live figures, breakdowns and flags."""
    unit = unit_or_404(code)
    data = overview.build_overview(unit)
    charted = {
        metric
        for metric, rows in data.trends.items()
        if len(rows) > 1 and any(r.estimate is not None and r.estimate.estimate is not None for r in rows)
    }
    return render_template(
        "agency/unit.html",
        unit=unit,
        data=data,
        charted=charted,
        counters=overview.counter_names(unit),
        service_names={str(a.service.id): a.service for a in data.activity} | _service_names(data),
        pending=moderation.pending_count(unit),
        indicators=readers.indicators_by_code(),
        trend_chart=trend_chart,
        funnel_chart=funnel_chart,
        today=date.today(),
        drivers=insights_drivers.agency_section(unit),
        themes=insights_themes.agency_section(unit),
        actions=insights_actions.agency_section(unit),
    )


def _service_names(data: overview.Overview) -> dict[str, Service]:
    ids = {
        int(r.key)
        for b in data.breakdowns
        if b.kind == "service"
        for r in b.rates
        if r.key.isascii() and r.key.isdigit()
    }
    if not ids:
        return {}
    return {str(s.id): s for s in db.session.scalars(select(Service).where(Service.id.in_(ids)))}
