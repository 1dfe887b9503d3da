"""Kiosk tablets and counters: who may add a tablet where, approval by Sở Nội vụ, closing a counter.

Rules (shared by the agency and admin pages and by ``flask devices`` / ``flask counters``):

* A tablet goes only to an open counter of a unit that still exists (``valid_to`` not past,
  in Việt Nam's calendar) and that offers a service of the counter kiosk's sector (a hospital
  or school has no one-stop counter to rate).
* At most :data:`MAX_DEVICES_PER_COUNTER` tablets per counter and :data:`MAX_DEVICES_PER_UNIT`
  per unit may be in use or waiting for approval (revoked ones do not count): each tablet has
  its own rate limit, so an unlimited number would be an unlimited number of votes.
* A tablet added by an agency manager waits for an administrator's approval and rates nothing
  before (``find_active_device`` ignores it). One added by an administrator, or by the operator
  on the server through the CLI (``actor=None``), is approved at once.
"""

from __future__ import annotations

from sqlalchemy import func, select

from surveys import devices as device_store
from surveys.definitions import latest_instruments
from surveys.devices import NewDevice
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Counter, Device, Unit, User, utcnow
from webapp.periods import vietnam_today
from webapp.services import ServiceError, actor_name

MAX_DEVICES_PER_COUNTER = 2
MAX_DEVICES_PER_UNIT = 10
MAX_NAME = 100
#: The instrument the counter tablet asks; a unit must offer a service of its sector.
KIOSK_INSTRUMENT = "counter-quick"


def _approves(actor: User | None) -> bool:
    """Administrators and the server's operator (CLI, no user) approve what they add."""
    return actor is None or actor.role == "admin"


def kiosk_sector() -> str:

    return latest_instruments()[KIOSK_INSTRUMENT].sector


def check_unit_takes_tablets(unit: Unit) -> None:
    """Refuse a unit that no longer exists or has no service the kiosk can rate."""
    if unit.valid_to is not None and unit.valid_to < vietnam_today():
        raise ServiceError("unit_not_valid", unit=unit.code, valid_to=unit.valid_to.isoformat())
    sector = kiosk_sector()
    if not any(service.sector == sector for service in unit.services):
        raise ServiceError("unit_without_counter_services", unit=unit.code)


def _live_devices(*conditions) -> int:
    """Tablets in use or waiting for approval (not revoked) matching ``conditions``."""
    query = select(func.count()).select_from(Device).join(Counter).where(Device.revoked_at.is_(None), *conditions)
    return db.session.scalar(query) or 0


def create_device(unit: Unit, counter_name: str, label: str | None = None, *, actor: User | None) -> NewDevice:
    """Register a tablet at ``counter_name`` of ``unit`` (a new counter is created), under every rule above."""
    name = " ".join((counter_name or "").split())
    label = " ".join((label or "").split()) or None
    if not name:
        raise ServiceError("empty_counter")
    if len(name) > MAX_NAME:
        raise ServiceError("counter_too_long", max=MAX_NAME)
    if label is not None and len(label) > MAX_NAME:
        raise ServiceError("label_too_long", max=MAX_NAME)
    check_unit_takes_tablets(unit)
    counter = db.session.scalar(select(Counter).where(Counter.unit_id == unit.id, Counter.name == name))
    if counter is not None and not counter.active:
        raise ServiceError("counter_closed", counter=name)
    if counter is not None and _live_devices(Device.counter_id == counter.id) >= MAX_DEVICES_PER_COUNTER:
        raise ServiceError("counter_device_cap", counter=name, limit=MAX_DEVICES_PER_COUNTER)
    if _live_devices(Counter.unit_id == unit.id) >= MAX_DEVICES_PER_UNIT:
        raise ServiceError("unit_device_cap", limit=MAX_DEVICES_PER_UNIT)
    return device_store.create_device(
        unit,
        name,
        label,
        actor=actor_name(actor),
        approved=_approves(actor),
        approved_by_id=actor.id if actor is not None and _approves(actor) else None,
    )


def approve_device(device: Device, *, actor: User | None) -> bool:
    """Let a waiting tablet rate; ``False`` when it was approved already (nothing to do)."""
    if device.revoked_at is not None:
        raise ServiceError("device_revoked", device=device.id)
    if device.approved_at is not None:
        return False
    if not device.counter.active:
        raise ServiceError("counter_closed", counter=device.counter.name)
    check_unit_takes_tablets(device.counter.unit)
    now = utcnow()
    device.approved_at = now
    device.approved_by_id = actor.id if actor is not None else None
    device.contact_floor_at = now
    record_event(
        "device.approve",
        actor=actor_name(actor),
        object_type="device",
        object_id=device.id,
        before={"approved_at": None},
        after={"approved_at": now.isoformat()},
    )
    return True


def revoke_device(device: Device, *, actor: User | None) -> bool:
    """Refuse the tablet's key from now on; a waiting tablet is *rejected* (audited as such).

    ``False`` when it was revoked already.
    """
    if device.revoked_at is not None:
        return False
    if device.approved_at is None:
        device.revoked_at = utcnow()
        record_event(
            "device.reject",
            actor=actor_name(actor),
            object_type="device",
            object_id=device.id,
            before={"revoked_at": None},
            after={"revoked_at": device.revoked_at.isoformat()},
        )
    else:
        device_store.revoke_device(device, actor=actor_name(actor))
    return True


def close_counter(counter: Counter, *, actor: User | None) -> list[int]:
    """Close a counter: it takes no more tablets and every tablet there is revoked. Returns their ids."""
    if not counter.active:
        return []
    revoked = []
    for device in counter.devices:
        if revoke_device(device, actor=actor):
            revoked.append(device.id)
    counter.active = False
    record_event(
        "counter.close",
        actor=actor_name(actor),
        object_type="counter",
        object_id=counter.id,
        before={"active": True},
        after={"active": False, "revoked_devices": revoked},
    )
    return revoked
