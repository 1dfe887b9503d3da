"""The registry: units of the province, the services they offer, counters and kiosk devices."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from webapp.extensions import db
from webapp.models.types import UTCDateTime, one_of, utcnow
from webapp.textfold import fold

UNIT_KINDS = (
    "province",
    "department",
    "agency",
    "district",
    "commune",
    "ward",
    "township",
    "hospital",
    "health_centre",
    "health_station",
    "school",
    "service_centre",
)
SECTORS = ("admin", "health", "education")
SERVICE_KINDS = ("procedure_group", "health_service", "education_level")
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"


def unit_search_key(name_vi: str, name_en: str, code: str) -> str:
    """What the unit search matches (``Unit.search_key``): both names folded, then the code."""
    return " ".join((fold(name_vi or ""), fold(name_en or ""), code or ""))


def unit_name_key(name_vi: str) -> str:
    """What unit search results are ordered by (``Unit.name_key``): the Vietnamese name folded."""
    return fold(name_vi or "")


def _key_of(context: Any, key: str) -> str:
    """A folded search key of the row a Core ``insert()`` writes (ORM writes: :func:`_keep_search_keys`)."""
    row = context.get_current_parameters()
    if key == "name":
        return unit_name_key(row.get("name_vi", ""))
    return unit_search_key(row.get("name_vi", ""), row.get("name_en", ""), row.get("code", ""))


unit_services = Table(
    "unit_services",
    db.metadata,
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("service_id", ForeignKey("services.id", ondelete="CASCADE"), primary_key=True),
)


class Unit(db.Model):
    """An organisation in the province's tree: the province, a department, a commune, a hospital…"""

    __tablename__ = "units"
    __table_args__ = (
        CheckConstraint(one_of("kind", UNIT_KINDS), name="kind"),
        CheckConstraint(one_of("sector", SECTORS), name="sector"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Stable public code used in URLs (``/units/<code>``); lowercase ASCII.
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20))
    #: Which satisfaction indicator family the unit's services belong to.
    sector: Mapped[str] = mapped_column(String(20))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    #: Materialised path of codes (``/sl/d116/c03646/``) for subtree queries.
    path: Mapped[str] = mapped_column(String(400), index=True)
    valid_from: Mapped[date] = mapped_column(Date)
    #: Last day the unit existed; ``None`` while it still exists.
    valid_to: Mapped[date | None] = mapped_column(Date)
    #: Administrative unit code (mã đơn vị hành chính, Decision 19/2025/QĐ-TTg list for the units of
    #: 2025), where the unit has one. The column keeps the name it had when the list was the GSO's.
    gso_code: Mapped[str | None] = mapped_column(String(10))
    #: True when the row is made up for the demo rather than taken from a source.
    illustrative: Mapped[bool] = mapped_column(Boolean, default=False)
    #: Both names folded (no accents, lower case) and the code: what the unit search matches
    #: (``webapp.registry.search``). Written on every insert and update, never by hand.
    search_key: Mapped[str] = mapped_column(Text, default=lambda context: _key_of(context, "search"))
    #: The Vietnamese name folded: the order of search results.
    name_key: Mapped[str] = mapped_column(Text, index=True, default=lambda context: _key_of(context, "name"))

    parent: Mapped[Unit | None] = relationship(remote_side=[id], back_populates="children")
    children: Mapped[list[Unit]] = relationship(back_populates="parent")
    services: Mapped[list[Service]] = relationship(
        secondary=unit_services, back_populates="units", order_by="Service.code"
    )

    def name(self, locale: str) -> str:
        """The unit's name in ``locale`` (Vietnamese unless English is asked for)."""
        return self.name_en if locale == "en" else self.name_vi

    def valid_on(self, day: date) -> bool:
        """Whether the unit existed on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)

    def services_on(self, day: date) -> list[Service]:
        """The services the unit offers on ``day``: a group that has ended is no longer rated or receipted."""
        return [service for service in self.services if service.valid_on(day)]

    def __repr__(self) -> str:
        return f"<Unit {self.code}>"


@event.listens_for(Unit, "before_insert")
@event.listens_for(Unit, "before_update")
def _keep_search_keys(mapper: Any, connection: Any, target: Unit) -> None:
    """Fold the names again whenever the ORM writes a unit (the registry loader, admin edits)."""
    target.search_key = unit_search_key(target.name_vi, target.name_en, target.code)
    target.name_key = unit_name_key(target.name_vi)


class UnitSuccession(db.Model):
    """One link of a reorganisation: an old unit whose area went (wholly or partly) to a new one."""

    __tablename__ = "unit_successions"
    __table_args__ = (CheckConstraint("old_unit_id <> new_unit_id", name="distinct_units"),)

    old_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    new_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="CASCADE"), primary_key=True)
    #: Free text from the source, e.g. "part of the area".
    note: Mapped[str | None] = mapped_column(Text)

    old_unit: Mapped[Unit] = relationship(foreign_keys=[old_unit_id])
    new_unit: Mapped[Unit] = relationship(foreign_keys=[new_unit_id])


class Service(db.Model):
    """A group of administrative procedures or a public service (outpatient care, a school level).

    A group ends (``valid_to``) when its field moves to another department; ``successor`` is the
    group that takes it over. A unit offers a service only while both exist.
    """

    __tablename__ = "services"
    __table_args__ = (
        CheckConstraint(one_of("sector", SECTORS), name="sector"),
        CheckConstraint(one_of("kind", SERVICE_KINDS), name="kind"),
        CheckConstraint("valid_to IS NULL OR valid_to >= valid_from", name="validity"),
        CheckConstraint("successor_id IS NULL OR successor_id <> id", name="not_own_successor"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name_vi: Mapped[str] = mapped_column(String(200))
    name_en: Mapped[str] = mapped_column(String(200))
    sector: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    #: The questionnaire citizens answer about this service.
    instrument_code: Mapped[str] = mapped_column(String(40))
    valid_from: Mapped[date] = mapped_column(Date, default=date(2008, 1, 1), server_default="2008-01-01")
    #: Last day the group existed; ``None`` while it still exists.
    valid_to: Mapped[date | None] = mapped_column(Date)
    #: The group that took over this one's procedures when it ended.
    successor_id: Mapped[int | None] = mapped_column(ForeignKey("services.id", ondelete="SET NULL"))
    #: Code of the field (lĩnh vực) in the national database of administrative procedures, where known.
    national_field_code: Mapped[str | None] = mapped_column(String(20))

    units: Mapped[list[Unit]] = relationship(secondary=unit_services, back_populates="services")
    successor: Mapped[Service | None] = relationship(remote_side=[id])

    def name(self, locale: str) -> str:
        return self.name_en if locale == "en" else self.name_vi

    def valid_on(self, day: date) -> bool:
        """Whether the service existed on ``day``."""
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


class Counter(db.Model):
    """A one-stop desk of a unit where citizens hand in dossiers."""

    __tablename__ = "counters"
    __table_args__ = (UniqueConstraint("unit_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id", ondelete="RESTRICT"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    unit: Mapped[Unit] = relationship()
    devices: Mapped[list[Device]] = relationship(back_populates="counter")


class Device(db.Model):
    """A kiosk tablet at a counter. Only a hash of its secret key is stored."""

    __tablename__ = "devices"
    __table_args__ = (Index("ix_devices_active", "revoked_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    counter_id: Mapped[int] = mapped_column(ForeignKey("counters.id", ondelete="RESTRICT"), index=True)
    #: SHA-256 of the device key; the key itself is shown once, when the device is created.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str | None] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When an administrator of Sở Nội vụ approved the device; a device rates nothing before.
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    #: The earliest answer time this device may claim: its last contact before the current
    #: sync (or its approval). Queued offline ratings older than this are flagged ``backdated``.
    contact_floor_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: When the current sync began (the first contact after a silence): a queue is drained soon
    #: after, so a device that stays in contact cannot keep an old floor.
    sync_started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    counter: Mapped[Counter] = relationship(back_populates="devices")

    @property
    def approved(self) -> bool:
        return self.approved_at is not None

    @property
    def active(self) -> bool:
        return self.revoked_at is None and self.approved_at is not None
