"""What changed between two published revisions of a period, estimate by estimate.

Reads both snapshots' rows whole (a few thousand per period): fine for the province's size;
a very large registry would want this done in SQL with a full outer join instead.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from sqlalchemy import select

from webapp.extensions import db
from webapp.models import PublishedEstimate

#: The published figures compared; ``extra`` (funnel limits, response rates…) is not.
COMPARED = ("n", "estimate", "ci_low", "ci_high", "status", "target")


@dataclass(frozen=True)
class Figures:
    n: int
    estimate: float | None
    ci_low: float | None
    ci_high: float | None
    status: str
    target: float | None


@dataclass(frozen=True)
class EstimateChange:
    metric: str
    domain_type: str
    domain: str
    old: Figures | None
    new: Figures | None

    @property
    def kind(self) -> str:
        """``added``, ``removed`` or ``changed``."""
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        return "changed"


@dataclass(frozen=True)
class SnapshotDiff:
    changes: list[EstimateChange]
    unchanged: int

    def count(self, kind: str) -> int:
        return sum(1 for change in self.changes if change.kind == kind)


def _rows(snapshot_id: int) -> dict[tuple[str, str, str], Figures]:
    query = select(
        PublishedEstimate.metric,
        PublishedEstimate.domain_type,
        PublishedEstimate.domain,
        *(getattr(PublishedEstimate, name) for name in COMPARED),
    ).where(PublishedEstimate.snapshot_id == snapshot_id)
    return {(metric, kind, domain): Figures(*values) for metric, kind, domain, *values in db.session.execute(query)}


def _same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)
    return a == b


def same_figures(old: Figures, new: Figures) -> bool:
    return all(_same(getattr(old, name), getattr(new, name)) for name in COMPARED)


def diff_snapshots(old_id: int, new_id: int) -> SnapshotDiff:
    """Estimates added, removed or changed from snapshot ``old_id`` to ``new_id``, in a stable order."""
    old, new = _rows(old_id), _rows(new_id)
    changes, unchanged = [], 0
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before is not None and after is not None and same_figures(before, after):
            unchanged += 1
            continue
        changes.append(EstimateChange(*key, before, after))
    return SnapshotDiff(changes, unchanged)
