"""Population margins for raking: census totals by gender, ethnicity group and residence.

A file has the columns ``variable, category, total`` (one row per category; every variable
must add up to the same population). Loading a dataset replaces that dataset whole and is
audited. The shipped ``census-2019`` dataset is loaded with the registry.
"""

from __future__ import annotations

import math
from collections import defaultdict
from pathlib import Path

from sqlalchemy import delete, select

from webapp.audit import record_event
from webapp.extensions import db
from webapp.imports.tables import Problems, RowProblem, read_table
from webapp.models import PopulationMargin
from webapp.models.collection import AREAS, ETHNICITY_GROUPS, GENDERS
from webapp.models.inputs import MARGIN_VARIABLES

CATEGORIES = {"gender": GENDERS, "ethnicity_group": ETHNICITY_GROUPS, "residence_area": AREAS}
#: Margins of one dataset may differ by rounding in the source tables, never by more.
TOTAL_TOLERANCE = 0.001
#: Above any population a margin can describe (Viet Nam has about 100 million people).
MAX_TOTAL = 1_000_000_000


def read_margins(path: Path) -> list[tuple[str, str, float]]:
    """Validate a margins file; raise :class:`ImportRejected` with a row-by-row report."""
    problems = Problems()
    rows: list[tuple[str, str, float]] = []
    seen: set[tuple[str, str]] = set()
    for line, row in read_table(path, ("variable", "category", "total")):
        variable, category = row["variable"], row["category"]
        if variable not in CATEGORIES or variable not in MARGIN_VARIABLES:
            problems.append(RowProblem(line, "variable", f"use one of {', '.join(CATEGORIES)}"))
            continue
        if category not in CATEGORIES[variable]:
            problems.append(RowProblem(line, "category", f"use one of {', '.join(CATEGORIES[variable])}"))
            continue
        try:
            total = float(row["total"].replace(" ", ""))
        except ValueError:
            problems.append(RowProblem(line, "total", f"{row['total']!r} is not a number"))
            continue
        if not math.isfinite(total) or total > MAX_TOTAL:
            # inf, nan and 1e309 read as floats; a raking weight built on them is not a number.
            problems.append(RowProblem(line, "total", f"must be a number from 0 to {MAX_TOTAL:,}"))
            continue
        if total < 0:
            problems.append(RowProblem(line, "total", "must be 0 or more"))
            continue
        if (variable, category) in seen:
            problems.append(RowProblem(line, None, f"{variable} = {category} appears twice"))
            continue
        seen.add((variable, category))
        rows.append((variable, category, total))
    sums: dict[str, float] = defaultdict(float)
    for variable, _, total in rows:
        sums[variable] += total
    if sums and not problems:
        reference = max(sums.values())
        for variable, total in sums.items():
            if abs(total - reference) > TOTAL_TOLERANCE * reference:
                problems.append(
                    RowProblem(
                        None,
                        "total",
                        f"{variable} adds up to {total:,.0f}, not {reference:,.0f}: margins must describe one population",
                    )
                )
    if not rows and not problems:
        problems.append(RowProblem(None, None, "the file has no data rows"))
    if problems:
        raise problems.rejected(str(path))
    return rows


def load_margins(path: Path, dataset: str, source: str | None = None, actor: str = "cli") -> int:
    """Replace ``dataset`` by the margins in ``path`` (the caller commits); return rows written,
    or 0 when the stored dataset is already identical."""
    rows = read_margins(path)
    stored = {
        (m.variable, m.category): m.total
        for m in db.session.scalars(select(PopulationMargin).where(PopulationMargin.dataset == dataset))
    }
    if stored == {(v, c): t for v, c, t in rows}:
        return 0
    db.session.execute(delete(PopulationMargin).where(PopulationMargin.dataset == dataset))
    db.session.add_all(
        PopulationMargin(dataset=dataset, variable=v, category=c, total=t, source=(source or path.name)[:300])
        for v, c, t in rows
    )
    record_event(
        "margins.load",
        actor=actor,
        object_type="population_margins",
        object_id=dataset,
        before={"rows": len(stored)} if stored else None,
        after={"rows": len(rows)},
        detail=path.name,
    )
    return len(rows)
