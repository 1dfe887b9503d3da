"""Kiosk devices: registered per counter, known to the server only by a hash of their key."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Counter, Device, Unit, utcnow

#: Device keys are 32 URL-safe characters (192 bits): unguessable, short enough for a URL.
KEY_BYTES = 24


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode("utf-8", "surrogatepass")).hexdigest()


@dataclass(frozen=True)
class NewDevice:
    device: Device
    #: Shown once; only its hash is stored.
    key: str


def create_device(
    unit: Unit,
    counter_name: str,
    label: str | None = None,
    actor: str = "cli",
    *,
    approved: bool = True,
    approved_by_id: int | None = None,
) -> NewDevice:
    """Store a kiosk tablet at ``counter_name`` of ``unit`` (the counter is created if new).

    This is the storage step only: it checks no rule. Pages and commands go through
    ``webapp.services.devices.create_device``, which refuses closed counters, abolished units
    and tablets beyond the caps, and leaves an agency manager's tablet waiting for approval
    (``approved=False``). Tests and the demo seed call this directly for an approved tablet.
    """
    counter = db.session.scalar(select(Counter).where(Counter.unit_id == unit.id, Counter.name == counter_name))
    if counter is None:
        counter = Counter(unit=unit, name=counter_name)
        db.session.add(counter)
    key = secrets.token_urlsafe(KEY_BYTES)
    now = utcnow()
    device = Device(
        counter=counter,
        key_hash=hash_key(key),
        label=label,
        approved_at=now if approved else None,
        approved_by_id=approved_by_id if approved else None,
        contact_floor_at=now,
    )
    db.session.add(device)
    db.session.flush()
    record_event(
        "device.create",
        actor=actor,
        object_type="device",
        object_id=device.id,
        after={"unit": unit.code, "counter": counter_name, "label": label, "approved": approved},
    )
    return NewDevice(device, key)


def _device_with_key(key: str | None) -> Device | None:
    """The device with this key, whatever its state (``None`` for an unknown or malformed key)."""
    if not key or len(key) > 100:
        return None
    return db.session.scalar(
        select(Device)
        .where(Device.key_hash == hash_key(key))
        .options(joinedload(Device.counter).joinedload(Counter.unit))
    )


def find_active_device(key: str | None) -> Device | None:
    """The device with this key, unless the key is unknown, the device revoked or not yet approved."""
    device = _device_with_key(key)
    return device if device is not None and device.active else None


def awaiting_approval(key: str | None) -> bool:
    """Whether ``key`` belongs to a tablet not yet approved nor rejected (the kiosk says so)."""
    device = _device_with_key(key)
    return device is not None and device.revoked_at is None and device.approved_at is None


def revoke_device(device: Device, actor: str = "cli") -> None:
    """Refuse the device's key from now on (ratings it already sent stay)."""
    if device.revoked_at is None:
        device.revoked_at = utcnow()
        record_event(
            "device.revoke",
            actor=actor,
            object_type="device",
            object_id=device.id,
            before={"revoked_at": None},
            after={"revoked_at": device.revoked_at.isoformat()},
        )
