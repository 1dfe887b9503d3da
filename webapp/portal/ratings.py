"""``import portal-ratings``: per-dossier ratings exported from the national public service portal.

The file layout (documented in ``docs/portal-ratings.md``, sample in ``webapp/demo/portal_sample.csv``)::

    dossier_number, unit, service, rated_on, rating

* ``dossier_number``: the portal's dossier number (mã hồ sơ). Only a keyed hash is stored
  (HMAC-SHA-256 with the app secret and the purpose ``portal-dossier``); it is never written to the
  database, a log, an audit event or a problem report.
* ``unit``: our unit code (``sl-ttpvhcc``) or the unit's administrative code (mã ĐVHC, ``gso_code``).
* ``service``: our service group code, or empty when the export does not say.
* ``rated_on``: the day the dossier was rated, ``2026-09-10`` or ``10/09/2026``.
* ``rating``: ``1``/``2``/``3`` or the portal's words (see :data:`LEVEL_WORDS`).

A file with any bad row is refused whole, with every problem by line (as the other imports). A
valid file adds the dossiers not stored yet; a dossier stored before with the same unit, service,
quarter and rating is counted as already imported, so importing the same file again changes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from webapp.audit import record_event
from webapp.extensions import db
from webapp.imports.tables import ImportRejected, Problems, RowProblem, read_table
from webapp.models import Service, Unit, unit_services, utcnow
from webapp.models.portal import PortalImport, PortalRating
from webapp.periods import Period, vietnam_today
from webapp.textfold import fold  # accent-insensitive, as the unit search compares names

REQUIRED = ("dossier_number", "unit", "rated_on", "rating")
OPTIONAL = ("service",)
#: Purpose string of the dossier number's keyed hash (never shared with another use of the secret).
DIGEST_PURPOSE = "portal-dossier"
#: The national portal went live on 9 December 2019; an earlier rating date is a typing error.
PORTAL_OPENED = date(2019, 12, 9)
MAX_DOSSIER_LENGTH = 100

#: The portal's levels (an assumption, see docs/portal-ratings.md): 1 not satisfied, 2 satisfied,
#: 3 very satisfied. Words are compared without accents or case.
LEVEL_WORDS = {
    "khong hai long": 1,
    "hai long": 2,
    "rat hai long": 3,
    "dissatisfied": 1,
    "not satisfied": 1,
    "satisfied": 2,
    "very satisfied": 3,
}
#: Levels the portal counts as satisfied.
SATISFIED_LEVELS = (2, 3)

_DMY = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")
_ISO = re.compile(r"^(\d{4})-(\d{2})-(\d{2})(?:[ T].*)?$")


@dataclass(frozen=True)
class PortalImported:
    batch_id: int | None
    added: int
    already: int
    periods: tuple[str, ...]

    def __str__(self) -> str:
        if not self.added:
            return f"Nothing new: all {self.already} ratings of the file were imported before."
        already = f"; {self.already} rows were imported before and left as they were" if self.already else ""
        return (
            f"Imported {self.added} national portal ratings for {', '.join(self.periods)} "
            f"(batch {self.batch_id}){already}."
        )


def normalise_dossier(number: str) -> str:
    """The dossier number as compared: upper case, no spaces."""
    return "".join(number.split()).upper()


def dossier_digest(number: str) -> str:
    """HMAC-SHA-256 of the normalised dossier number with a key derived from the app secret."""
    key = hmac.new(current_app.config["SECRET_KEY"].encode(), DIGEST_PURPOSE.encode(), hashlib.sha256).digest()
    return hmac.new(key, normalise_dossier(number).encode(), hashlib.sha256).hexdigest()


def parse_level(text: str) -> int | None:
    cleaned = text.strip()
    if cleaned in ("1", "2", "3"):
        return int(cleaned)
    return LEVEL_WORDS.get(fold(cleaned))


def parse_date(text: str) -> date | None:
    cleaned = text.strip()
    try:
        if match := _ISO.match(cleaned):
            return date(int(match[1]), int(match[2]), int(match[3]))
        if match := _DMY.match(cleaned):
            return date(int(match[3]), int(match[2]), int(match[1]))
    except ValueError:
        return None
    return None


class _Units:
    """Finds a unit by our code or by its administrative code (mã ĐVHC), as it was on a day."""

    def __init__(self) -> None:
        self.by_code: dict[str, Unit] = {}
        self.by_admin_code: dict[str, list[Unit]] = {}
        for unit in db.session.scalars(select(Unit)):
            self.by_code[unit.code] = unit
            if unit.gso_code:
                self.by_admin_code.setdefault(unit.gso_code.strip(), []).append(unit)

    def find(self, text: str, day: date | None) -> tuple[Unit | None, str | None]:
        unit = self.by_code.get(text.strip().lower())
        if unit is not None:
            return unit, None
        candidates = self.by_admin_code.get(text.strip(), [])
        if day is not None:
            candidates = [u for u in candidates if u.valid_on(day)]
        if len(candidates) == 1:
            return candidates[0], None
        if len(candidates) > 1:
            return None, f"the administrative code {text!r} names {len(candidates)} units; use our unit code"
        return None, f"unknown unit code {text!r}"


def _existing(digests: list[str]) -> dict[str, tuple[int, int | None, str, int, int]]:
    """Stored ratings of ``digests``: digest → (unit id, service id, period, level, batch id)."""
    found = {}
    for start in range(0, len(digests), 500):
        chunk = digests[start : start + 500]
        for row in db.session.execute(
            select(
                PortalRating.dossier_digest,
                PortalRating.unit_id,
                PortalRating.service_id,
                PortalRating.period,
                PortalRating.level,
                PortalRating.batch_id,
            ).where(PortalRating.dossier_digest.in_(chunk))
        ):
            found[row[0]] = tuple(row[1:])
    return found


def import_portal_ratings(path: Path, *, actor: str = "cli", today: date | None = None) -> PortalImported:
    """Validate every row of ``path``, then store the dossiers not stored yet (one batch)."""
    today = today or vietnam_today()
    units = _Units()
    services = {s.code: s for s in db.session.scalars(select(Service))}
    offered = {tuple(row) for row in db.session.execute(select(unit_services.c.unit_id, unit_services.c.service_id))}
    problems = Problems()
    rows: list[dict] = []
    first_line: dict[str, int] = {}
    for line, row in read_table(path, REQUIRED, OPTIONAL):
        count = len(problems)
        number = row["dossier_number"]
        # The number itself is never echoed in a problem: reports end up in terminals and tickets.
        if not number.strip():
            problems.append(RowProblem(line, "dossier_number", "empty"))
        elif len(number) > MAX_DOSSIER_LENGTH or not number.isprintable():
            problems.append(
                RowProblem(
                    line, "dossier_number", f"not a dossier number (at most {MAX_DOSSIER_LENGTH} printable characters)"
                )
            )
        day = parse_date(row["rated_on"])
        if day is None:
            problems.append(
                RowProblem(line, "rated_on", f"{row['rated_on'][:40]!r} is not a date (write 2026-09-10 or 10/09/2026)")
            )
        elif day > today:
            problems.append(RowProblem(line, "rated_on", f"{day.isoformat()} is in the future"))
        elif day < PORTAL_OPENED:
            problems.append(
                RowProblem(
                    line,
                    "rated_on",
                    f"{day.isoformat()} is before the national portal opened ({PORTAL_OPENED.isoformat()})",
                )
            )
        level = parse_level(row["rating"])
        if level is None:
            problems.append(
                RowProblem(
                    line,
                    "rating",
                    f"{row['rating'][:40]!r} is not a rating: use 1, 2 or 3 (Không hài lòng, Hài lòng, Rất hài lòng)",
                )
            )
        unit, unit_problem = units.find(row["unit"][:40], day)
        if unit_problem:
            problems.append(RowProblem(line, "unit", unit_problem))
        service_code = (row.get("service") or "").strip().lower()
        service = None
        if service_code:
            service = services.get(service_code)
            if service is None:
                problems.append(RowProblem(line, "service", f"unknown service code {service_code[:40]!r}"))
        if len(problems) > count:
            continue
        if not unit.valid_on(day):
            problems.append(RowProblem(line, "unit", f"unit {unit.code!r} did not exist on {day.isoformat()}"))
            continue
        if service is not None and (unit.id, service.id) not in offered:
            problems.append(RowProblem(line, "service", f"unit {unit.code!r} does not offer service {service.code!r}"))
            continue
        digest = dossier_digest(number)
        if digest in first_line:
            problems.append(RowProblem(line, "dossier_number", f"the same dossier is on line {first_line[digest]}"))
            continue
        first_line[digest] = line
        rows.append(
            {
                "line": line,
                "dossier_digest": digest,
                "unit_id": unit.id,
                "service_id": service.id if service else None,
                "period": Period.quarter_of(day).label,
                "level": level,
            }
        )
    if not rows and not problems:
        problems.append(RowProblem(None, None, "the file has no data rows"))
    if problems:
        raise problems.rejected(str(path))

    stored = _existing([row["dossier_digest"] for row in rows])
    new_rows, already = [], 0
    for row in rows:
        before = stored.get(row["dossier_digest"])
        if before is None:
            new_rows.append(row)
        elif before[:4] == (row["unit_id"], row["service_id"], row["period"], row["level"]):
            already += 1
        else:
            problems.append(
                RowProblem(
                    row["line"],
                    "dossier_number",
                    f"this dossier was imported before (batch {before[4]}) with another unit, "
                    "service, quarter or rating; a portal rating is imported once",
                )
            )
    if problems:
        raise problems.rejected(str(path))
    if not new_rows:
        return PortalImported(None, 0, already, ())

    periods = tuple(sorted({row["period"] for row in new_rows}))
    try:
        batch = PortalImport(
            file_name=path.name[:200],
            file_sha256=hashlib.sha256(path.read_bytes()).hexdigest(),
            imported_at=utcnow(),
            actor=actor[:200],
            rows_added=len(new_rows),
            rows_already=already,
        )
        db.session.add(batch)
        db.session.flush()
        now = utcnow()
        db.session.add_all(
            PortalRating(
                dossier_digest=row["dossier_digest"],
                unit_id=row["unit_id"],
                service_id=row["service_id"],
                period=row["period"],
                level=row["level"],
                imported_at=now,
                batch_id=batch.id,
            )
            for row in new_rows
        )
        record_event(
            "portal_ratings.import",
            actor=actor,
            object_type="portal_import",
            object_id=batch.id,
            after={"rows_added": len(new_rows), "rows_already": already, "periods": list(periods)},
            detail=f"file {path.name[:200]}",
        )
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        raise ImportRejected(
            str(path),
            [
                RowProblem(
                    None,
                    None,
                    "another import stored some of these dossiers at the "
                    "same time; nothing was written, run the import again",
                )
            ],
        ) from None
    except Exception:
        db.session.rollback()
        raise
    return PortalImported(batch.id, len(new_rows), already, periods)
