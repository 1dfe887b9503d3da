"""The registry as each worker process sees it when validating submissions.

A submission needs its unit, service, whether the unit offers the service, and the active
instrument version: four lookups that would otherwise cost a database round trip each on
every rating. The registry changes a few times a year, so each process keeps a copy for
``TTL`` seconds (and drops it at once when the registry is loaded in the same process).
Rows are never deleted from the registry, so a copy can only miss something new for at
most ``TTL`` seconds.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date
from threading import Lock

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Instrument, Service, Unit
from webapp.models.registry import unit_services

TTL = 60.0


@dataclass(frozen=True)
class UnitEntry:
    id: int
    code: str
    kind: str
    valid_from: date
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class ServiceEntry:
    id: int
    code: str
    sector: str
    instrument_code: str
    valid_from: date
    valid_to: date | None

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class InstrumentEntry:
    id: int
    code: str
    version: int
    content_hash: str
    snapshot: dict
    active: bool


@dataclass(frozen=True)
class RegistryView:
    units: dict[str, UnitEntry]
    services: dict[str, ServiceEntry]
    offered: frozenset[tuple[int, int]]
    instruments: dict[tuple[str, int], InstrumentEntry]
    active: dict[str, InstrumentEntry]
    loaded_at: float


_views: dict[str, RegistryView] = {}
_lock = Lock()


def clear() -> None:
    """Forget every copy (after a registry load, or when tests empty the database)."""
    with _lock:
        _views.clear()


def registry_view() -> RegistryView:
    """This process's copy of the registry for the current database (reloaded after ``TTL``)."""
    key = str(db.engine.url)
    view = _views.get(key)
    if view is not None and time.monotonic() - view.loaded_at < TTL:
        return view
    units = {
        u.code: UnitEntry(u.id, u.code, u.kind, u.valid_from, u.valid_to) for u in db.session.scalars(select(Unit))
    }
    services = {
        s.code: ServiceEntry(s.id, s.code, s.sector, s.instrument_code, s.valid_from, s.valid_to)
        for s in db.session.scalars(select(Service))
    }
    offered = frozenset(
        tuple(row) for row in db.session.execute(select(unit_services.c.unit_id, unit_services.c.service_id))
    )
    instruments = {
        (i.code, i.version): InstrumentEntry(i.id, i.code, i.version, i.content_hash, i.snapshot, i.active)
        for i in db.session.scalars(select(Instrument))
    }
    active = {entry.code: entry for entry in instruments.values() if entry.active}
    view = RegistryView(units, services, offered, instruments, active, time.monotonic())
    if units:  # never keep an empty copy: the registry is being set up
        with _lock:
            _views[key] = view
    return view
