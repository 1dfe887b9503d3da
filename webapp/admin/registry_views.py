"""Registry pages: units (search, filters, the 2025 reorganisation), services, counters, devices.

The CSV files of ``webapp/registry/data/`` stay the source for bulk changes: ``flask --app
webapp registry load`` writes their values over edits made here, which the pages say.
"""

from __future__ import annotations

from collections import defaultdict

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import selectinload

from surveys import registry_cache
from webapp.access import editor_required
from webapp.admin.blueprint import admin
from webapp.admin.common import arg_date, arg_page, arg_text, changed_fields, page_of, paginate, snapshot
from webapp.admin.forms import ConfirmForm, CounterForm, ServiceForm, UnitForm
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import UNIT_KINDS, Counter, Device, Service, Unit, UnitSuccession
from webapp.registry.search import REORGANISATION_FILTERS, registry_units_query
from webapp.services import ServiceError, describe
from webapp.services import devices as device_service
from webapp.urls import safe_next

UNIT_FIELDS = ("name_vi", "name_en", "valid_from", "valid_to")


def succession_links() -> tuple[dict[int, list[Unit]], dict[int, list[Unit]]]:
    """``(predecessors by unit id, successors by unit id)`` of every reorganisation link."""
    predecessors: dict[int, list[Unit]] = defaultdict(list)
    successors: dict[int, list[Unit]] = defaultdict(list)
    links = db.session.scalars(
        select(UnitSuccession).options(selectinload(UnitSuccession.old_unit), selectinload(UnitSuccession.new_unit))
    )
    for link in links:
        predecessors[link.new_unit_id].append(link.old_unit)
        successors[link.old_unit_id].append(link.new_unit)
    return predecessors, successors


@admin.get("/units")
def units():
    query, kind, change = arg_text("q"), arg_text("kind"), arg_text("change")
    on = arg_date("on")
    kind = kind if kind in UNIT_KINDS else ""
    change = change if change in REORGANISATION_FILTERS else ""
    predecessors, successors = succession_links()
    bad_date = bool(arg_text("on")) and on is None
    return render_template(
        "admin/units.html",
        page=paginate(registry_units_query(query, kind=kind, on=on, change=change), arg_page()),
        query=query,
        kind=kind,
        on=on,
        change=change,
        kinds=UNIT_KINDS,
        predecessors=predecessors,
        successors=successors,
        bad_date=bad_date,
    )


def _unit(code: str) -> Unit:
    unit = db.session.scalar(select(Unit).where(Unit.code == code))
    if unit is None:
        abort(404)
    return unit


@admin.get("/units/<code>")
def unit_detail(code: str):
    unit = _unit(code)
    predecessors, successors = succession_links()
    counters = db.session.scalars(
        select(Counter).where(Counter.unit_id == unit.id).options(selectinload(Counter.devices)).order_by(Counter.name)
    ).all()
    return render_template(
        "admin/unit.html",
        unit=unit,
        predecessors=predecessors.get(unit.id, []),
        successors=successors.get(unit.id, []),
        counters=counters,
        counter_form=CounterForm(formdata=None),
        confirm=ConfirmForm(),
    )


@admin.route("/units/<code>/edit", methods=["GET", "POST"])
@editor_required
def unit_edit(code: str):
    unit = _unit(code)
    form = UnitForm(
        data={
            "name_vi": unit.name_vi,
            "name_en": unit.name_en,
            "valid_from": unit.valid_from.isoformat(),
            "valid_to": unit.valid_to.isoformat() if unit.valid_to else "",
        }
    )
    status = 200
    if form.validate_on_submit():
        before = snapshot(unit, UNIT_FIELDS)
        unit.name_vi, unit.name_en = form.name_vi.data.strip(), form.name_en.data.strip()
        unit.valid_from = form.valid_from.parsed
        unit.valid_to = getattr(form.valid_to, "parsed", None) if form.valid_to.data else None
        old, new = changed_fields(before, snapshot(unit, UNIT_FIELDS))
        if new:
            record_event("unit.update", object_type="unit", object_id=unit.code, before=old, after=new)
            db.session.commit()
            registry_cache.clear()
            flash(_l("The unit is saved."))
        else:
            flash(_l("Nothing was changed."))
        return redirect(url_for("admin.unit_detail", code=unit.code))
    if request.method == "POST":
        status = 400
    return render_template("admin/unit_edit.html", unit=unit, form=form), status


@admin.post("/units/<code>/counters")
@editor_required
def counter_add(code: str):
    unit = _unit(code)
    form = CounterForm()
    if not form.validate_on_submit():
        return _counter_problem(unit, form)
    name = form.name.data.strip()
    if db.session.scalar(select(Counter).where(Counter.unit_id == unit.id, Counter.name == name)) is not None:
        form.name.errors = [str(_l("This unit already has a counter with that name"))]
        return _counter_problem(unit, form)
    counter = Counter(unit=unit, name=name)
    db.session.add(counter)
    db.session.flush()
    record_event(
        "counter.create",
        object_type="counter",
        object_id=counter.id,
        after={"unit": unit.code, "name": name, "active": True},
    )
    db.session.commit()
    flash(_l("Counter “%(name)s” added.", name=name))
    return redirect(url_for("admin.unit_detail", code=unit.code))


def _counter_problem(unit: Unit, form: CounterForm):
    predecessors, successors = succession_links()
    counters = db.session.scalars(select(Counter).where(Counter.unit_id == unit.id).order_by(Counter.name)).all()
    return render_template(
        "admin/unit.html",
        unit=unit,
        predecessors=predecessors.get(unit.id, []),
        successors=successors.get(unit.id, []),
        counters=counters,
        counter_form=form,
        confirm=ConfirmForm(),
    ), 400


def _counter(counter_id: int) -> Counter:
    counter = db.session.get(Counter, counter_id)
    if counter is None:
        abort(404)
    return counter


@admin.route("/counters/<int:counter_id>/edit", methods=["GET", "POST"])
@editor_required
def counter_edit(counter_id: int):
    counter = _counter(counter_id)
    form = CounterForm(data={"name": counter.name})
    status = 200
    if form.validate_on_submit():
        name = form.name.data.strip()
        clash = db.session.scalar(
            select(Counter).where(Counter.unit_id == counter.unit_id, Counter.name == name, Counter.id != counter.id)
        )
        if clash is not None:
            form.name.errors = [str(_l("This unit already has a counter with that name"))]
            status = 400
        else:
            if name != counter.name:
                record_event(
                    "counter.rename",
                    object_type="counter",
                    object_id=counter.id,
                    before={"name": counter.name},
                    after={"name": name},
                )
                counter.name = name
                db.session.commit()
                flash(_l("The counter is renamed."))
            return redirect(url_for("admin.unit_detail", code=counter.unit.code))
    elif request.method == "POST":
        status = 400
    return render_template("admin/counter_edit.html", counter=counter, form=form), status


@admin.post("/counters/<int:counter_id>/close")
@editor_required
def counter_close(counter_id: int):
    """Close a counter: it takes no more ratings, and its tablets' keys are revoked."""
    counter = _counter(counter_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if counter.active:
        device_service.close_counter(counter, actor=current_user)
        db.session.commit()
        flash(_l("Counter “%(name)s” is closed; its tablets can no longer send ratings.", name=counter.name))
    return redirect(url_for("admin.unit_detail", code=counter.unit.code))


@admin.get("/services")
def services():
    rows = db.session.scalars(select(Service).order_by(Service.sector, Service.code)).all()
    return render_template("admin/services.html", services=rows)


@admin.route("/services/<code>/edit", methods=["GET", "POST"])
@editor_required
def service_edit(code: str):
    service = db.session.scalar(select(Service).where(Service.code == code))
    if service is None:
        abort(404)
    form = ServiceForm(data={"name_vi": service.name_vi, "name_en": service.name_en})
    status = 200
    if form.validate_on_submit():
        before = snapshot(service, ("name_vi", "name_en"))
        service.name_vi, service.name_en = form.name_vi.data.strip(), form.name_en.data.strip()
        old, new = changed_fields(before, snapshot(service, ("name_vi", "name_en")))
        if new:
            record_event("service.update", object_type="service", object_id=service.code, before=old, after=new)
            db.session.commit()
            flash(_l("The service is saved."))
        return redirect(url_for("admin.services"))
    if request.method == "POST":
        status = 400
    return render_template("admin/service_edit.html", service=service, form=form), status


@admin.get("/devices")
def devices():
    state = arg_text("state")
    unit_code = arg_text("unit", 40)
    query = (
        select(Device)
        .join(Counter)
        .join(Unit)
        .options(selectinload(Device.counter).selectinload(Counter.unit))
        .order_by(Unit.code, Counter.name, Device.id)
    )
    if state == "active":
        query = query.where(Device.revoked_at.is_(None), Device.approved_at.is_not(None))
    elif state == "pending":
        query = query.where(Device.revoked_at.is_(None), Device.approved_at.is_(None))
    elif state == "revoked":
        query = query.where(Device.revoked_at.is_not(None))
    else:
        state = ""
    if unit_code:
        query = query.where(Unit.code == unit_code)
    rows = list(db.session.scalars(query))
    pending = db.session.scalar(
        select(func.count()).select_from(Device).where(Device.revoked_at.is_(None), Device.approved_at.is_(None))
    )
    return render_template(
        "admin/devices.html",
        page=page_of(rows, arg_page()),
        state=state,
        unit_code=unit_code,
        confirm=ConfirmForm(),
        pending=pending,
        max_counter_devices=device_service.MAX_DEVICES_PER_COUNTER,
        max_unit_devices=device_service.MAX_DEVICES_PER_UNIT,
    )


def _device_for_post(device_id: int) -> Device:
    """The device of a POST that carries a valid CSRF token (404 / 400 otherwise)."""
    device = db.session.get(Device, device_id)
    if device is None:
        abort(404)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    return device


def _back():
    back = safe_next(request.form.get("back"))
    return redirect(back if back and back.startswith("/admin/") else url_for("admin.devices"))


def _revoke(device_id: int, done: str):
    """Revoke (or, for a tablet still waiting, reject) the device; flash ``done`` unless it was already."""
    device = _device_for_post(device_id)
    if device_service.revoke_device(device, actor=current_user):
        db.session.commit()
        flash(done % {"id": device.id})
    return _back()


@admin.post("/devices/<int:device_id>/revoke")
@editor_required
def device_revoke(device_id: int):
    return _revoke(device_id, _l("Tablet %(id)s is revoked: its key no longer works."))


@admin.post("/devices/<int:device_id>/approve")
@editor_required
def device_approve(device_id: int):
    """Let a tablet an agency added take ratings (it is checked again: open counter, unit still valid)."""
    device = _device_for_post(device_id)
    try:
        changed = device_service.approve_device(device, actor=current_user)
    except ServiceError as error:
        db.session.rollback()
        flash(describe(error))
        return _back()
    if changed:
        db.session.commit()
        flash(_l("Tablet %(id)s is approved: it takes ratings from now on.", id=device.id))
    return _back()


@admin.post("/devices/<int:device_id>/reject")
@editor_required
def device_reject(device_id: int):
    """Refuse a tablet waiting for approval: its key never works."""
    return _revoke(device_id, _l("Tablet %(id)s is rejected: its key does not work."))
