"""Fixtures for the collection tests: a loaded registry, kiosk devices and receipt tokens."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from sqlalchemy import select


@pytest.fixture()
def registry(app, db):
    from webapp.registry.loader import DATA_DIR
    from webapp.registry.service import load_everything

    load_everything(DATA_DIR)


@pytest.fixture()
def unit_by_code(db, registry):
    from webapp.models import Unit

    def find(code: str):
        return db.session.scalar(select(Unit).where(Unit.code == code))

    return find


@pytest.fixture()
def make_device(db, unit_by_code):
    """``make_device(unit_code="sl-ttpvhcc", counter="Quầy 1") -> (device, key)``."""
    from surveys.devices import create_device

    def make(unit_code: str = "sl-ttpvhcc", counter: str = "Quầy 1"):
        new = create_device(unit_by_code(unit_code), counter)
        db.session.commit()
        return new.device, new.key

    return make


@pytest.fixture()
def kiosk_body():
    """A valid kiosk submission body; pass overrides as keyword arguments."""

    def body(**overrides):
        document = {
            "client_id": str(uuid.uuid4()),
            "instrument": "counter-quick",
            "unit": "sl-ttpvhcc",
            "service": "land",
            "channel": "kiosk",
            "answers": {"overall": 3},
            "reasons": ["on_time", "staff_attitude"],
            "answered_at": datetime.now(UTC).isoformat(),
            "duration_seconds": 6,
        }
        document.update(overrides)
        return document

    return body
