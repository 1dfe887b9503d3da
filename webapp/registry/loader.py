"""Read, validate and load the registry data files (``webapp/registry/data``).

Reading is separate from loading: every file is parsed and checked first, and a problem
raises :class:`RegistryError` naming the file and line before anything is written. Loading
is an upsert by code, so loading the same files twice changes nothing.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from webapp.models import SECTORS, UNIT_KINDS, Service, Unit, UnitSuccession
from webapp.models.registry import CODE_PATTERN, SERVICE_KINDS

DATA_DIR = Path(__file__).resolve().parent / "data"
UNIT_COLUMNS = (
    "code",
    "name_vi",
    "name_en",
    "kind",
    "sector",
    "parent_code",
    "valid_from",
    "valid_to",
    "gso_code",
    "illustrative",
)
SERVICE_COLUMNS = (
    "code",
    "name_vi",
    "name_en",
    "sector",
    "kind",
    "instrument",
    "valid_from",
    "valid_to",
    "successor",
    "national_field_code",
)
#: Columns every service row must fill.
SERVICE_REQUIRED = ("code", "name_vi", "name_en", "sector", "kind", "instrument")
OFFERING_COLUMNS = ("applies_to", "service_code")
MAPPING_COLUMNS = ("old_code", "new_code", "share_note")
#: Date used for units that existed before the period the product covers.
EARLIEST = date(2008, 1, 1)
_code = re.compile(CODE_PATTERN)


class RegistryError(ValueError):
    """A registry file is malformed; the message names the file and the line."""

    def __init__(self, file: Path | str, line: int | None, message: str):
        self.file = str(file)
        self.line = line
        where = f"{Path(self.file).name}, line {line}" if line else Path(self.file).name
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class UnitRow:
    code: str
    name_vi: str
    name_en: str
    kind: str
    sector: str
    parent_code: str | None
    valid_from: date
    valid_to: date | None
    gso_code: str | None
    illustrative: bool


@dataclass(frozen=True)
class ServiceRow:
    code: str
    name_vi: str
    name_en: str
    sector: str
    kind: str
    instrument: str
    valid_from: date = EARLIEST
    valid_to: date | None = None
    #: Code of the group that takes over this one's procedures when it ends.
    successor: str | None = None
    #: Field (lĩnh vực) code of the national database of administrative procedures, where known.
    national_field_code: str | None = None


def _span(valid_from: date, valid_to: date | None) -> str:
    """``2008-01-01 to 2025-02-28``, or ``from 2025-07-01`` while it lasts."""
    return f"{valid_from} to {valid_to}" if valid_to else f"from {valid_from}"


def _overlap(first: UnitRow | ServiceRow, second: UnitRow | ServiceRow) -> bool:
    """Whether the two rows exist together on at least one day."""
    return first.valid_from <= (second.valid_to or date.max) and second.valid_from <= (first.valid_to or date.max)


@dataclass
class RegistryData:
    """Everything in the data files, validated and in load order."""

    units: list[UnitRow] = field(default_factory=list)
    services: list[ServiceRow] = field(default_factory=list)
    #: ``(unit code, service code)`` pairs, with ``kind:`` rules already expanded.
    offerings: set[tuple[str, str]] = field(default_factory=set)
    #: ``(old unit code, new unit code, note)``.
    successions: list[tuple[str, str, str | None]] = field(default_factory=list)


@dataclass
class LoadReport:
    created: dict[str, int] = field(default_factory=dict)
    updated: dict[str, int] = field(default_factory=dict)

    def count(self, bucket: dict[str, int], what: str) -> None:
        bucket[what] = bucket.get(what, 0) + 1

    @property
    def changed(self) -> bool:
        return bool(self.created or self.updated)


def _rows(path: Path, columns: tuple[str, ...]) -> Iterator[tuple[int, dict[str, str]]]:
    """Yield ``(line number, row)`` for each data row of a CSV file with exactly ``columns``."""
    if not path.exists():
        raise RegistryError(path, None, "file not found")
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.DictReader(handle)
            header = tuple(name.strip() for name in (reader.fieldnames or ()))
            missing = [c for c in columns if c not in header]
            if missing:
                raise RegistryError(path, 1, f"missing column(s): {', '.join(missing)}")
            for row in reader:
                if None in row:
                    raise RegistryError(path, reader.line_num, "more values than columns")
                yield reader.line_num, {k.strip(): (v or "").strip() for k, v in row.items()}
    except UnicodeDecodeError as error:
        raise RegistryError(path, None, f"not UTF-8 text ({error.reason})") from None


def _date(path: Path, line: int, column: str, value: str, default: date | None) -> date | None:
    if not value:
        return default
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise RegistryError(path, line, f"{column} {value!r} is not a date (YYYY-MM-DD)") from None


def _require(path: Path, line: int, row: dict[str, str], *columns: str) -> None:
    for column in columns:
        if not row[column]:
            raise RegistryError(path, line, f"{column} is empty")


def _read_units(path: Path) -> tuple[list[UnitRow], dict[str, int]]:
    """The units, and the line of each unit that begins before its parent (checked against the
    parent's predecessors once the 2025 mapping is read: see :func:`_check_early_starts`)."""
    units: dict[str, UnitRow] = {}
    early: dict[str, int] = {}
    for line, row in _rows(path, UNIT_COLUMNS):
        _require(path, line, row, "code", "name_vi", "name_en", "kind", "sector")
        code = row["code"]
        if not _code.match(code):
            raise RegistryError(path, line, f"code {code!r} must be lowercase letters, digits and hyphens")
        if code in units:
            raise RegistryError(path, line, f"code {code!r} appears twice")
        if row["kind"] not in UNIT_KINDS:
            raise RegistryError(path, line, f"kind {row['kind']!r} is not one of {', '.join(UNIT_KINDS)}")
        if row["sector"] not in SECTORS:
            raise RegistryError(path, line, f"sector {row['sector']!r} is not one of {', '.join(SECTORS)}")
        parent_code = row["parent_code"] or None
        if parent_code is None and row["kind"] != "province":
            raise RegistryError(path, line, "parent_code is empty (only the province has no parent)")
        if parent_code is not None and parent_code not in units:
            raise RegistryError(path, line, f"parent_code {parent_code!r} is not a unit listed above this line")
        valid_from = _date(path, line, "valid_from", row["valid_from"], EARLIEST)
        valid_to = _date(path, line, "valid_to", row["valid_to"], None)
        if valid_to is not None and valid_to < valid_from:
            raise RegistryError(path, line, "valid_to is before valid_from")
        if parent_code is not None:
            parent = units[parent_code]
            ends_after_parent = parent.valid_to is not None and (valid_to is None or valid_to > parent.valid_to)
            if ends_after_parent:
                raise RegistryError(path, line, f"validity lies outside that of its parent {parent_code!r}")
            if valid_from < parent.valid_from:
                early[code] = line
        if row["illustrative"] not in {"0", "1", ""}:
            raise RegistryError(path, line, "illustrative must be 0 or 1")
        units[code] = UnitRow(
            code=code,
            name_vi=row["name_vi"],
            name_en=row["name_en"],
            kind=row["kind"],
            sector=row["sector"],
            parent_code=parent_code,
            valid_from=valid_from,
            valid_to=valid_to,
            gso_code=row["gso_code"] or None,
            illustrative=row["illustrative"] == "1",
        )
    return list(units.values()), early


def _check_early_starts(
    path: Path, units: list[UnitRow], early: dict[str, int], successions: list[tuple[str, str, str | None]]
) -> None:
    """A unit may begin before its parent only when the parent's predecessors existed then.

    A school that existed long before the commune of 2025 it now belongs to keeps its start
    date: its earlier years lie in the area of that commune's predecessors.
    """
    by_code = {u.code: u for u in units}
    predecessors: dict[str, list[str]] = {}
    for old, new, _ in successions:
        predecessors.setdefault(new, []).append(old)

    def earliest(code: str, seen: frozenset[str] = frozenset()) -> date:
        older = [earliest(old, seen | {code}) for old in predecessors.get(code, ()) if old not in seen]
        return min([by_code[code].valid_from, *older])

    for code, line in early.items():
        unit = by_code[code]
        if unit.valid_from < earliest(unit.parent_code):
            raise RegistryError(
                path, line, f"validity lies outside that of its parent {unit.parent_code!r} and its predecessors"
            )


def _read_services(path: Path) -> list[ServiceRow]:
    services: dict[str, ServiceRow] = {}
    lines: dict[str, int] = {}
    for line, row in _rows(path, SERVICE_COLUMNS):
        _require(path, line, row, *SERVICE_REQUIRED)
        if not _code.match(row["code"]):
            raise RegistryError(path, line, f"code {row['code']!r} must be lowercase letters, digits and hyphens")
        if row["code"] in services:
            raise RegistryError(path, line, f"code {row['code']!r} appears twice")
        if row["sector"] not in SECTORS:
            raise RegistryError(path, line, f"sector {row['sector']!r} is not one of {', '.join(SECTORS)}")
        if row["kind"] not in SERVICE_KINDS:
            raise RegistryError(path, line, f"kind {row['kind']!r} is not one of {', '.join(SERVICE_KINDS)}")
        valid_from = _date(path, line, "valid_from", row["valid_from"], EARLIEST)
        valid_to = _date(path, line, "valid_to", row["valid_to"], None)
        if valid_to is not None and valid_to < valid_from:
            raise RegistryError(path, line, "valid_to is before valid_from")
        if row["successor"] and valid_to is None:
            raise RegistryError(path, line, "a service with a successor needs a valid_to")
        services[row["code"]] = ServiceRow(
            **{c: row[c] for c in SERVICE_REQUIRED},
            valid_from=valid_from,
            valid_to=valid_to,
            successor=row["successor"] or None,
            national_field_code=row["national_field_code"] or None,
        )
        lines[row["code"]] = line
    for service in services.values():
        if service.successor is None:
            continue
        line = lines[service.code]
        successor = services.get(service.successor)
        if successor is None:
            raise RegistryError(path, line, f"successor {service.successor!r} is not in services.csv")
        day_after = service.valid_to + timedelta(days=1)
        if not (successor.valid_from <= day_after and (successor.valid_to is None or day_after <= successor.valid_to)):
            raise RegistryError(
                path,
                line,
                f"successor {successor.code!r} must exist on {day_after}, the day after {service.code!r} ends",
            )
        if successor.sector != service.sector:
            raise RegistryError(path, line, f"successor {successor.code!r} is of another sector")
    return list(services.values())


def _read_offerings(path: Path, units: list[UnitRow], services: list[ServiceRow]) -> set[tuple[str, str]]:
    """The ``(unit, service)`` pairs. A unit offers a service only while both exist: a ``kind:``
    rule reaches the units of that kind that exist while the service does, and a ``unit:`` row
    whose unit and service never exist together is refused."""
    services_by_code = {s.code: s for s in services}
    units_by_code = {u.code: u for u in units}
    offerings: set[tuple[str, str]] = set()
    for line, row in _rows(path, OFFERING_COLUMNS):
        _require(path, line, row, *OFFERING_COLUMNS)
        service = services_by_code.get(row["service_code"])
        if service is None:
            raise RegistryError(path, line, f"service_code {row['service_code']!r} is not in services.csv")
        scope, _, value = row["applies_to"].partition(":")
        if scope == "kind":
            if value not in UNIT_KINDS:
                raise RegistryError(path, line, f"kind {value!r} is not one of {', '.join(UNIT_KINDS)}")
            offerings.update((u.code, service.code) for u in units if u.kind == value and _overlap(u, service))
        elif scope == "unit":
            unit = units_by_code.get(value)
            if unit is None:
                raise RegistryError(path, line, f"unit {value!r} is not in units.csv")
            if not _overlap(unit, service):
                raise RegistryError(
                    path,
                    line,
                    f"unit {unit.code!r} ({_span(unit.valid_from, unit.valid_to)}) cannot offer {service.code!r} "
                    f"({_span(service.valid_from, service.valid_to)}): a unit offers a service only while both exist",
                )
            offerings.add((unit.code, service.code))
        else:
            raise RegistryError(path, line, "applies_to must be 'kind:<kind>' or 'unit:<code>'")
    return offerings


def _read_successions(path: Path, units: list[UnitRow]) -> list[tuple[str, str, str | None]]:
    by_code = {u.code: u for u in units}
    seen: set[tuple[str, str]] = set()
    successions = []
    for line, row in _rows(path, MAPPING_COLUMNS):
        _require(path, line, row, "old_code", "new_code")
        old, new = by_code.get(row["old_code"]), by_code.get(row["new_code"])
        if old is None:
            raise RegistryError(path, line, f"old_code {row['old_code']!r} is not in units.csv")
        if new is None:
            raise RegistryError(path, line, f"new_code {row['new_code']!r} is not in units.csv")
        if old.valid_to is None or new.valid_from <= old.valid_to:
            raise RegistryError(path, line, f"{old.code!r} must end before {new.code!r} begins")
        if (old.code, new.code) in seen:
            raise RegistryError(path, line, "this pair appears twice")
        seen.add((old.code, new.code))
        successions.append((old.code, new.code, row["share_note"] or None))
    return successions


def read_registry(directory: Path = DATA_DIR) -> RegistryData:
    """Parse and validate every file named in ``manifest.yaml``; write nothing."""
    manifest_path = directory / "manifest.yaml"
    try:
        manifest = yaml.safe_load(manifest_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise RegistryError(manifest_path, None, "file not found") from None
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        raise RegistryError(manifest_path, mark.line + 1 if mark else None, "not valid YAML") from None
    files = {entry.get("file"): entry for entry in (manifest or {}).get("files", []) if isinstance(entry, dict)}
    for required in ("units.csv", "services.csv", "offerings.csv", "mapping_2025.csv"):
        if required not in files:
            raise RegistryError(manifest_path, None, f"{required} is not listed under files")
        if not files[required].get("source"):
            raise RegistryError(manifest_path, None, f"{required} has no source")
    data = RegistryData()
    data.units, early = _read_units(directory / "units.csv")
    data.services = _read_services(directory / "services.csv")
    data.offerings = _read_offerings(directory / "offerings.csv", data.units, data.services)
    data.successions = _read_successions(directory / "mapping_2025.csv", data.units)
    _check_early_starts(directory / "units.csv", data.units, early, data.successions)
    return data


def _apply(obj, values: dict, report: LoadReport, what: str) -> None:
    changed = False
    for name, value in values.items():
        if getattr(obj, name) != value:
            setattr(obj, name, value)
            changed = True
    if changed:
        report.count(report.updated, what)


def load_registry(session: Session, data: RegistryData) -> LoadReport:
    """Upsert ``data`` into the database (the caller commits). Rows not in the files are kept."""
    report = LoadReport()
    new_units: set[str] = set()
    existing_units = {u.code: u for u in session.scalars(select(Unit).options(selectinload(Unit.services)))}
    for row in data.units:
        parent = existing_units[row.parent_code] if row.parent_code else None
        values = {
            "name_vi": row.name_vi,
            "name_en": row.name_en,
            "kind": row.kind,
            "sector": row.sector,
            "parent": parent,
            "path": (parent.path if parent else "/") + row.code + "/",
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "gso_code": row.gso_code,
            "illustrative": row.illustrative,
        }
        unit = existing_units.get(row.code)
        if unit is None:
            unit = Unit(code=row.code, services=[], **values)
            new_units.add(row.code)
            session.add(unit)
            existing_units[row.code] = unit
            report.count(report.created, "units")
        else:
            _apply(unit, values, report, "units")

    existing_services = {s.code: s for s in session.scalars(select(Service))}
    new_services: set[str] = set()
    for row in data.services:
        values = {
            "name_vi": row.name_vi,
            "name_en": row.name_en,
            "sector": row.sector,
            "kind": row.kind,
            "instrument_code": row.instrument,
            "valid_from": row.valid_from,
            "valid_to": row.valid_to,
            "national_field_code": row.national_field_code,
        }
        service = existing_services.get(row.code)
        if service is None:
            service = Service(code=row.code, **values)
            session.add(service)
            existing_services[row.code] = service
            new_services.add(row.code)
            report.count(report.created, "services")
        else:
            _apply(service, values, report, "services")
    # Successors once every service exists (a successor may be listed after the group it replaces).
    for row in data.services:
        successor = existing_services[row.successor] if row.successor else None
        service = existing_services[row.code]
        if service.successor is not successor:
            service.successor = successor
            if row.code not in new_services:
                report.count(report.updated, "services")

    wanted: dict[str, set[str]] = {}
    for unit_code, service_code in data.offerings:
        wanted.setdefault(unit_code, set()).add(service_code)
    for row in data.units:
        code, unit = row.code, existing_units[row.code]
        # New units' collections are known to be empty: reading them would lazy-load each one.
        current = set() if code in new_units else {s.code for s in unit.services}
        target = wanted.get(code, set())
        if current != target:
            unit.services = sorted((existing_services[c] for c in target), key=lambda s: s.code)
            report.count(report.updated if current else report.created, "offerings")

    existing_links = {(s.old_unit.code, s.new_unit.code): s for s in session.scalars(select(UnitSuccession))}
    for old_code, new_code, note in data.successions:
        link = existing_links.get((old_code, new_code))
        if link is None:
            session.add(UnitSuccession(old_unit=existing_units[old_code], new_unit=existing_units[new_code], note=note))
            report.count(report.created, "successions")
        elif link.note != note:
            link.note = note
            report.count(report.updated, "successions")
    session.flush()
    return report
