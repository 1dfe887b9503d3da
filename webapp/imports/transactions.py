"""Import transaction counts: the N of each weighting cell (DESIGN.md §6).

One row per period (quarter) × unit × service × respondent type. A file with any bad row
is refused whole; a valid file replaces every count of the quarters it contains, and the
replacement is audited with the totals before and after.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import delete, func, select

from webapp.audit import record_event
from webapp.extensions import db
from webapp.imports.tables import Problems, RowProblem, read_table
from webapp.models import Service, TransactionCount, Unit, unit_services
from webapp.models.inputs import COUNT_RESPONDENT_TYPES
from webapp.periods import Period

REQUIRED = ("period", "unit", "service", "count")
OPTIONAL = ("respondent_type",)
MAX_COUNT = 10_000_000


@dataclass(frozen=True)
class CountsImported:
    rows: int
    periods: tuple[str, ...]
    replaced: int

    def __str__(self) -> str:
        replaced = f", replacing {self.replaced} earlier rows" if self.replaced else ""
        return f"Imported {self.rows} transaction counts for {', '.join(self.periods)}{replaced}."


def import_transactions(path: Path, *, actor: str = "cli") -> CountsImported:
    """Validate every row of ``path``, then replace the counts of the quarters it covers."""
    units = {u.code: u for u in db.session.scalars(select(Unit))}
    services = {s.code: s for s in db.session.scalars(select(Service))}
    offered = {tuple(row) for row in db.session.execute(select(unit_services.c.unit_id, unit_services.c.service_id))}
    problems = Problems()
    rows: list[dict] = []
    seen: dict[tuple[str, int, int], set[str]] = defaultdict(set)
    for line, row in read_table(path, REQUIRED, OPTIONAL):
        problem_count = len(problems)
        period = unit = service = None
        try:
            period = Period.parse(row["period"])
            if period.kind != "Q":
                problems.append(
                    RowProblem(line, "period", f"counts are per quarter (e.g. {period.year}-Q1), not {period}")
                )
        except ValueError as error:
            problems.append(RowProblem(line, "period", str(error)))
        unit = units.get(row["unit"])
        if unit is None:
            problems.append(RowProblem(line, "unit", f"unknown unit code {row['unit']!r}"))
        service = services.get(row["service"])
        if service is None:
            problems.append(RowProblem(line, "service", f"unknown service code {row['service']!r}"))
        respondent_type = row.get("respondent_type") or "all"
        if respondent_type not in COUNT_RESPONDENT_TYPES:
            problems.append(RowProblem(line, "respondent_type", f"must be one of {', '.join(COUNT_RESPONDENT_TYPES)}"))
        count_text = row["count"].replace(" ", "")
        # isdecimal and the length first: int() refuses "²" and very long numbers with an exception.
        if not (count_text.isdecimal() and len(count_text) <= len(str(MAX_COUNT))) or int(count_text) > MAX_COUNT:
            problems.append(
                RowProblem(line, "count", f"{row['count']!r} is not a whole number between 0 and {MAX_COUNT:,}")
            )
        if len(problems) > problem_count:
            continue
        if period.kind == "Q" and not (
            unit.valid_from <= period.end and (unit.valid_to is None or unit.valid_to >= period.start)
        ):
            problems.append(RowProblem(line, "unit", f"unit {unit.code!r} did not exist in {period}"))
            continue
        if (unit.id, service.id) not in offered:
            problems.append(RowProblem(line, "service", f"unit {unit.code!r} does not offer service {service.code!r}"))
            continue
        cell = (period.label, unit.id, service.id)
        types = seen[cell]
        if respondent_type in types:
            problems.append(RowProblem(line, None, "this period, unit, service and respondent type appear twice"))
            continue
        if ("all" in types) != (respondent_type == "all") and types:
            problems.append(
                RowProblem(line, "respondent_type", "a cell is either split by respondent type or 'all', not both")
            )
            continue
        types.add(respondent_type)
        rows.append(
            {
                "period": period.label,
                "unit_id": unit.id,
                "service_id": service.id,
                "respondent_type": respondent_type,
                "count": int(count_text),
                "source": path.name,
            }
        )
    if not rows and not problems:
        problems.append(RowProblem(None, None, "the file has no data rows"))
    if problems:
        raise problems.rejected(str(path))

    periods = tuple(sorted({row["period"] for row in rows}))
    try:
        before = {
            period: db.session.scalar(
                select(func.coalesce(func.sum(TransactionCount.count), 0)).where(TransactionCount.period == period)
            )
            for period in periods
        }
        replaced = db.session.execute(delete(TransactionCount).where(TransactionCount.period.in_(periods))).rowcount
        db.session.add_all(TransactionCount(**row) for row in rows)
        after = defaultdict(int)
        for row in rows:
            after[row["period"]] += row["count"]
        record_event(
            "transactions.import",
            actor=actor,
            object_type="transaction_counts",
            object_id=",".join(periods),
            before={"totals": before, "rows": replaced},
            after={"totals": dict(after), "rows": len(rows)},
            detail=f"file {path.name}",
        )
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return CountsImported(len(rows), periods, replaced or 0)
