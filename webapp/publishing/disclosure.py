"""Disclosure control: the stage of publishing between computing and freezing (issue #13, finding 1).

What is protected. Each published row is a *cell* (period, metric, domain type, domain). A
cell *hidden* by primary suppression (fewer than ``min_n_show`` responses) protects its count
``n``, its ``transactions`` and its rate; a *count-only* cell (status ``insufficient``) protects
its rate. A rate is protected through the cell's weighted satisfied total (rate × weight total,
and the weight total is about the published transactions), so the audit works on three
*families* of values: ``n``, ``transactions`` and ``total``.

What an attacker can use. Exact linear relations between cells of one family:

- time: half-year = its two quarters, year = its two half-years (same metric and domain);
- hierarchy within a period: province = Σ sectors = Σ services = Σ channels = Σ respondent
  types = Σ modes = Σ languages = Σ units; sector = Σ its units; district (periods ending on or before 2025-06-30) or
  commune (later) = Σ the units in it. Both unit trees are covered because a unit's year cell
  links its quarters (district tree in 2025-H1) to its commune (2025 year).

Only the current revision of each period is public, so the tables an attacker sees are the
current snapshots of the periods of the same year, plus the release being built.

Audit. For each family the public values are known and every other value is an unknown; a
protected value is *recoverable* iff it is determined by the system of relations: with ``A``
the relations' coefficients on the unknowns of one connected component, an unknown ``x_j`` is
determined iff ``e_j`` lies in the row space of ``A``, i.e. iff a row of the reduced echelon
form of ``A`` is exactly ``e_j`` (sparse exact elimination modulo a 61-bit prime). Before
that, a relation holding a free unknown (not public, not protected — e.g. a cell of a period not
yet published) that no other relation holds is dropped, repeatedly: it cannot tell anything.
Values themselves never matter, only what is known.

Complementary suppression (greedy, to a fixed point). Every row whose rate is not published
loses its ``transactions`` and ``response_rate`` (and ``funnel`` / ``change``). Then, while the
audit recovers a protected value that the frozen tables alone do not reveal, each such value
(all of them in one round) gets one more member of the release being built protected, in a
relation that leaks it — one whose unknowns the audit all fixes, else one used by the combination
that fixes it: the public member with the smallest ``n`` that no relation pins down by itself;
a leak that survives ``ESCALATE_AFTER`` rounds gets every such member protected. For the
``total`` family only its rate is withheld (count-only), for ``n`` the cell is hidden, for ``transactions`` only its transactions are
dropped. Frozen snapshots never change. The loop ends when the audit finds nothing; whatever
is still recoverable then makes :func:`webapp.publishing.publish.publish_period` refuse.

Only primary values are protected: a cell hidden (or a rate withheld) *to protect another* may
itself be recoverable; the audit then checks that the primary values stay out of reach. What
the frozen tables reveal even if the release showed nothing of its own (e.g. a year published
before its last quarter: that quarter = year − half-year − other quarter) is not held against
the release — the release cannot mend it — but the CLI audit reports it. Publish half-years and
years after their quarters (``publish --all-ended`` does).

The registry is public: a unit that did not exist during a period has no responses in it.

A snapshot records the keys (never the values) of its hidden cells in its non-public
``summary["disclosure"]``, so a later audit tells a hidden cell from an empty one; for
snapshots made before this stage, an absent cell is taken as possibly hidden. It also records
which cells were withheld only to protect others.
"""

from __future__ import annotations

import csv
import tempfile
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import select

from public import readers
from webapp.extensions import db
from webapp.models import Indicator, PublishedEstimate, PublishedSnapshot, Unit
from webapp.periods import Period

#: Value families an attacker can add and subtract.
FAMILIES = ("n", "transactions", "total")
#: Domain types that partition a metric's responses in a period (besides units).
PARTITION_TYPES = ("sector", "service", "channel", "respondent_type", "mode", "language", "unit")
#: Domain types without transaction counts (how and in which language people answered is not counted at the counter).
NO_TRANSACTIONS = ("channel", "respondent_type", "mode", "language")
#: Fields of a row that follow from its rate.
RATE_FIELDS = ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff")
#: Extras dropped with the rate: transactions and response rate give the weight total.
RATE_EXTRAS = ("transactions", "response_rate", "funnel", "change")
#: Rounds of complementary suppression before giving up (each protects at least one cell).
MAX_ROUNDS = 200
#: Rounds a leak may survive its single complements before every release member of its leaking
#: relations is protected (so the greedy cannot get stuck on useless picks).
ESCALATE_AFTER = 2

Key = tuple[str, str, str]  # metric, domain type, domain
#: Solved components (their structure → determined columns): rounds and releases share most of them.
_COMPONENTS: dict[tuple, frozenset[int]] = {}
Var = tuple[str, str, str, str]  # period, metric, domain type, domain


@dataclass
class CellState:
    """What a table publishes about one cell."""

    n: int
    rate: bool
    transactions: bool


@dataclass
class Table:
    """One period's public table: its cells, and the cells known to be hidden."""

    period: Period
    cells: dict[Key, CellState]
    hidden: set[Key]
    #: Whether an absent cell that is not in ``hidden`` is known to be empty.
    complete: bool
    release: bool = False
    #: Hidden only to protect others (complementary): their own values need no protection.
    complementary: set[Key] = field(default_factory=set)
    #: Rates withheld only to protect others.
    rate_withheld: set[Key] = field(default_factory=set)
    #: A release as if it showed nothing: its counts unknown, its count-only rates protected.
    masked: bool = False


@dataclass(frozen=True)
class Finding:
    """A protected value an attacker can recover."""

    family: str
    cell: Var
    method: str

    def __str__(self) -> str:
        period, metric, domain_type, domain = self.cell
        return f"{period} {metric} {domain_type}={domain}: {self.family} recoverable ({self.method})"


@dataclass
class Report:
    findings: list[Finding] = field(default_factory=list)
    complementary_cells: set[Key] = field(default_factory=set)
    rate_withheld_cells: set[Key] = field(default_factory=set)

    @property
    def complementary(self) -> int:
        return len(self.complementary_cells)

    @property
    def rate_withheld(self) -> int:
        return len(self.rate_withheld_cells)

    @property
    def ok(self) -> bool:
        return not self.findings


def _domain_type_exists(period: Period, domain_type: str) -> bool:
    from webapp.publishing.compute import LAST_DAY_OF_DISTRICTS  # cycle: compute imports this module

    if domain_type == "district":
        return period.end <= LAST_DAY_OF_DISTRICTS
    if domain_type == "commune":
        return period.end > LAST_DAY_OF_DISTRICTS
    return True


def year_periods(year: int) -> list[Period]:
    return [Period(year, "Q", q) for q in range(1, 5)] + [Period(year, "H", h) for h in (1, 2)] + [Period(year, "Y", 1)]


def frozen_table(snapshot: PublishedSnapshot) -> Table:
    """The public view of a stored snapshot (what the API and the downloads show)."""
    cells: dict[Key, CellState] = {}
    rows = db.session.execute(
        select(
            PublishedEstimate.metric,
            PublishedEstimate.domain_type,
            PublishedEstimate.domain,
            PublishedEstimate.n,
            PublishedEstimate.estimate,
            PublishedEstimate.status,
            PublishedEstimate.extra,
        ).where(PublishedEstimate.snapshot_id == snapshot.id)
    )
    for metric, domain_type, domain, n, estimate, status, extra in rows:
        rate = estimate is not None and status != "insufficient"
        # The downloads blank a count-only row's rate but the API shows its extras: count what either shows.
        cells[(metric, domain_type, domain)] = CellState(int(n), rate, (extra or {}).get("transactions") is not None)
    info = (snapshot.summary or {}).get("disclosure")
    hidden = {tuple(k) for k in info["hidden"]} if info else set()
    return Table(
        Period.parse(snapshot.period),
        cells,
        hidden,
        complete=info is not None,
        complementary={tuple(k) for k in (info or {}).get("complementary_cells", ())},
        rate_withheld={tuple(k) for k in (info or {}).get("rate_withheld_cells", ())},
    )


def release_table(period: Period, records, report: Report) -> Table:
    """The public view of a release: its shown records."""
    cells = {}
    hidden = set()
    for r in records:
        key = (r.metric, r.domain_type, r.domain)
        if r.hidden:
            hidden.add(key)
        else:
            cells[key] = CellState(r.n, r.estimate is not None, r.extra.get("transactions") is not None)
    return Table(
        period,
        cells,
        hidden,
        complete=True,
        release=True,
        complementary=set(report.complementary_cells),
        rate_withheld=set(report.rate_withheld_cells),
    )


class _Universe:
    """The public tables of one year and the relations between their cells."""

    def __init__(self, year: int, tables: dict[str, Table], satisfaction: set[str]):
        self.year = year
        self.tables = tables
        self.satisfaction = satisfaction
        self.keys: set[Key] = set()
        for table in tables.values():
            self.keys.update(table.cells)
            self.keys.update(table.hidden)
        self.keys = {k for k in self.keys if k[0].split("/")[0] in satisfaction}
        units = list(db.session.scalars(select(Unit)))
        self.unit_sector = {u.code: u.sector for u in units}
        self.unit_validity = {u.code: (u.valid_from, u.valid_to) for u in units}
        self.subsets = {code: found for code, found in _subsets().items() if code in satisfaction}
        self.bounds = {p.label: (p.start, p.end) for p in year_periods(year)}
        self._unit_infos: dict[str, dict] = {}
        self.relations = self._relations()
        self.containing: dict[Var, list[int]] = defaultdict(list)
        for i, (_, members) in enumerate(self.relations):
            for var in members:
                self.containing[var].append(i)

    def infos(self, period: Period) -> dict:
        from webapp.publishing.compute import _unit_infos  # cycle: compute imports this module

        if period.label not in self._unit_infos:
            self._unit_infos[period.label] = {u.code: u for u in _unit_infos(period).values()}
        return self._unit_infos[period.label]

    def _relations(self) -> list[tuple[str, list[Var]]]:
        """(description, [parent, child, child…]): parent = Σ children."""
        relations: list[tuple[str, list[Var]]] = []
        q = [Period(self.year, "Q", i) for i in range(1, 5)]
        h = [Period(self.year, "H", i) for i in (1, 2)]
        y = Period(self.year, "Y", 1)
        splits = [(h[0], q[:2]), (h[1], q[2:]), (y, h)]
        for metric, domain_type, domain in sorted(self.keys):
            for parent, children in splits:
                if all(_domain_type_exists(p, domain_type) for p in (parent, *children)):
                    relations.append(
                        (
                            f"{parent.label} = {' + '.join(c.label for c in children)}",
                            [(p.label, metric, domain_type, domain) for p in (parent, *children)],
                        )
                    )
        by_metric_type: dict[tuple[str, str], list[str]] = defaultdict(list)
        for metric, domain_type, domain in sorted(self.keys):
            by_metric_type[(metric, domain_type)].append(domain)
        metrics = sorted({k[0] for k in self.keys})
        for label, table in self.tables.items():
            period = table.period
            infos = self.infos(period)
            tree = "district" if _domain_type_exists(period, "district") else "commune"
            for metric in metrics:
                units = by_metric_type.get((metric, "unit"), [])
                for domain_type in PARTITION_TYPES:
                    children = by_metric_type.get((metric, domain_type), [])
                    if children:
                        relations.append(
                            (
                                f"{label}: province = Σ {domain_type}",
                                [(label, metric, "province", "sl")]
                                + [(label, metric, domain_type, d) for d in children],
                            )
                        )
                parents: dict[tuple[str, str], list[str]] = defaultdict(list)
                has_tree = (metric, tree) in by_metric_type
                for unit in units:
                    info = infos.get(unit)
                    if has_tree and info is not None and getattr(info, tree):
                        parents[(tree, getattr(info, tree))].append(unit)
                    if unit in self.unit_sector and (metric, "sector") in by_metric_type:
                        parents[("sector", self.unit_sector[unit])].append(unit)
                for (parent_type, parent), members in sorted(parents.items()):
                    relations.append(
                        (
                            f"{label}: {parent_type} {parent} = Σ its units",
                            [(label, metric, parent_type, parent)] + [(label, metric, "unit", u) for u in members],
                        )
                    )
            relations += self._subset_relations(label)
        return relations

    def _subset_relations(self, label: str) -> list[tuple[str, list[Var]]]:
        """A sub-indicator is a sub-table of its parent: its province cell is the sum of the parent's
        cells of its services (same responses), so what it shows is checked against the parent's
        service cells — and the parent's other services, the complement, against it."""
        relations = []
        for code, (parent, services) in sorted(self.subsets.items()):
            if (code, "province", "sl") in self.keys:
                relations.append(
                    (
                        f"{label}: {code} = Σ {parent} services {', '.join(services)}",
                        [(label, code, "province", "sl")] + [(label, parent, "service", s) for s in services],
                    )
                )
        return relations

    def status(self, var: Var, family: str) -> str:
        """``known``, ``protected``, ``free`` (unknown, not protected) or ``zero`` (known empty)."""
        label, metric, domain_type, domain = var
        if domain_type in ("unit", "district", "commune") and domain in self.unit_validity:
            # The registry is public: a unit that did not exist in the period has no responses in it.
            valid_from, valid_to = self.unit_validity[domain]
            bounds = self.bounds.get(label)
            if bounds is not None and (valid_from > bounds[1] or (valid_to is not None and valid_to < bounds[0])):
                return "zero"
        table = self.tables.get(label)
        if table is None:
            return "free"
        key = (metric, domain_type, domain)
        cell = table.cells.get(key)
        if cell is not None:
            if table.masked:
                return "protected" if family == "total" else "free"
            if family == "n":
                return "known"
            if family == "total":
                return "known" if cell.rate else ("free" if key in table.rate_withheld else "protected")
            return "known" if cell.transactions else "free"
        if key in table.complementary:
            return "free"
        if key in table.hidden or not table.complete:
            return "protected"
        return "zero"

    def applies(self, var: Var, family: str) -> bool:
        if family != "transactions":
            return True
        return "/" not in var[1] and var[2] not in NO_TRANSACTIONS


def _determined(relations: list[list[tuple[Var, int]]], unknowns: list[Var], wanted: set[Var]) -> set[Var]:
    """The unknowns fixed by the relations (each a list of unknowns with coefficients ±1);
    components without a ``wanted`` unknown are skipped."""
    index = {v: i for i, v in enumerate(unknowns)}
    parent = list(range(len(unknowns)))

    def find(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for members in relations:
        first = find(index[members[0][0]])
        for var, _ in members[1:]:
            other = find(index[var])
            if other != first:
                parent[other] = first
    components: dict[int, list[int]] = defaultdict(list)
    for i in range(len(unknowns)):
        components[find(i)].append(i)
    rows_of: dict[int, list[int]] = defaultdict(list)
    for r, members in enumerate(relations):
        rows_of[find(index[members[0][0]])].append(r)
    determined: set[Var] = set()
    for root, columns in components.items():
        rows = rows_of.get(root)
        if not rows or not any(unknowns[c] in wanted for c in columns):
            continue
        position = {c: j for j, c in enumerate(columns)}
        structure = tuple(sorted(tuple(sorted((position[index[v]], k) for v, k in relations[r])) for r in rows))
        cache_key = (len(columns), structure)
        fixed = _COMPONENTS.get(cache_key)
        if fixed is None:
            fixed = _pivot_only_columns(structure)
            if len(_COMPONENTS) > 50_000:
                _COMPONENTS.clear()
            _COMPONENTS[cache_key] = fixed
        determined.update(unknowns[columns[j]] for j in fixed)
    return determined


def _prune(rows: list[list[tuple[Var, int]]], descriptions: list[str], unknown: dict[Var, str]):
    """Drop, until none is left, every relation holding a free unknown that no other relation holds:
    that unknown absorbs it, so it tells nothing (exact; it keeps the components small)."""
    alive = [True] * len(rows)
    holders: dict[Var, set[int]] = defaultdict(set)
    for r, members in enumerate(rows):
        for var, _ in members:
            holders[var].add(r)
    queue = [v for v, held in holders.items() if len(held) == 1 and unknown[v] == "free"]
    while queue:
        var = queue.pop()
        if len(holders[var]) != 1:
            continue
        (r,) = holders[var]
        alive[r] = False
        for other, _ in rows[r]:
            holders[other].discard(r)
            if len(holders[other]) == 1 and unknown[other] == "free":
                queue.append(other)
    return [m for m, a in zip(rows, alive, strict=True) if a], [
        d for d, a in zip(descriptions, alive, strict=True) if a
    ]


#: A prime for exact elimination: ranks of these small ±1 matrices over GF(P) are their ranks over Q.
_P = 2**61 - 1


def _pivot_only_columns(rows: Iterable[Iterable[tuple[int, int]]]) -> frozenset[int]:
    """Columns ``j`` whose unit vector lies in the row space: the rows of the reduced echelon form
    that are exactly ``e_j``. Sparse Gaussian elimination, exact (modulo a large prime)."""
    pivots: dict[int, dict[int, int]] = {}
    for members in rows:
        row: dict[int, int] = {}
        for j, k in members:
            row[j] = (row.get(j, 0) + k) % _P
        row = {j: v for j, v in row.items() if v}
        while row:
            lead = min(row)
            pivot = pivots.get(lead)
            if pivot is None:
                inverse = pow(row[lead], _P - 2, _P)
                pivots[lead] = {j: v * inverse % _P for j, v in row.items()}
                break
            factor = row[lead]
            for j, v in pivot.items():
                value = (row.get(j, 0) - factor * v) % _P
                if value:
                    row[j] = value
                else:
                    row.pop(j, None)
    for lead in sorted(pivots, reverse=True):
        row = pivots[lead]
        for j in sorted(k for k in row if k != lead and k in pivots):
            factor = row.get(j)
            if not factor:
                continue
            for k, v in pivots[j].items():
                value = (row.get(k, 0) - factor * v) % _P
                if value:
                    row[k] = value
                else:
                    row.pop(k, None)
    return frozenset(lead for lead, row in pivots.items() if len(row) == 1)


def recoverable(universe: _Universe, only: str | None = None) -> list[Finding]:
    """Every protected value of the universe that its relations determine."""
    return _audit(universe, only)[0]


def _audit(universe: _Universe, only: str | None = None) -> tuple[list[Finding], dict[str, set[Var]]]:
    """:func:`recoverable`, and for each family the unknowns the relations fix (the greedy needs
    them to find the relations a leak goes through)."""
    findings = []
    fixed_by_family: dict[str, set[Var]] = {}
    for family in FAMILIES:
        rows: list[list[tuple[Var, int]]] = []
        descriptions: list[str] = []
        unknown: dict[Var, str] = {}
        for description, members in universe.relations:
            if not all(universe.applies(v, family) for v in members):
                continue
            kept = []
            for i, var in enumerate(members):
                state = universe.status(var, family)
                if state in ("protected", "free"):
                    unknown[var] = state
                    kept.append((var, 1 if i == 0 else -1))
            if kept:
                rows.append(kept)
                descriptions.append(description)
        rows, descriptions = _prune(rows, descriptions, unknown)
        if not rows:
            continue
        unknowns = sorted({v for members in rows for v, _ in members})
        fixed = _determined(rows, unknowns, {v for v in unknowns if unknown[v] == "protected"})
        fixed_by_family[family] = fixed
        wanted = {v for v in fixed if unknown[v] == "protected" and (only is None or v[0] == only)}
        rows_of: dict[Var, list[int]] = defaultdict(list)
        for r, members in enumerate(rows):
            for v, _ in members:
                if v in wanted:
                    rows_of[v].append(r)
        for var in sorted(wanted):
            via = [descriptions[r] for r in rows_of[var] if all(v in fixed for v, _ in rows[r])]
            method = f"by differencing: {via[0]}" if via else "by combining several relations"
            findings.append(Finding(family, var, method))
    return findings, fixed_by_family


#: Indicators published from responses, with domains (coverage is a census of units).
ESTIMATED_KINDS = ("satisfaction", "share", "index")


def _satisfaction_codes() -> set[str]:
    """Codes of the indicators whose cells the audit covers (satisfaction, share and index)."""
    return set(db.session.scalars(select(Indicator.code).where(Indicator.kind.in_(ESTIMATED_KINDS))))


def _subsets() -> dict[str, tuple[str, tuple[str, ...]]]:
    """Sub-indicator → (its parent, the services it keeps): ``subset_of`` in the definitions."""
    out = {}
    for code, definition in db.session.execute(select(Indicator.code, Indicator.definition)):
        subset = (definition or {}).get("subset_of")
        if subset:
            out[code] = (subset["indicator"], tuple(subset["services"]))
    return out


def _frozen_tables(year: int, exclude: str | None = None) -> dict[str, Table]:
    tables = {}
    for period in year_periods(year):
        if period.label == exclude:
            continue
        snapshot = readers.find_snapshot(period.label)
        if snapshot is not None:
            tables[period.label] = frozen_table(snapshot)
    return tables


def _masked_table(period: Period, records: list) -> Table:
    """The release as if it showed nothing of its own: every cell of it unknown, those it hides for
    their own sake protected. What the frozen tables reveal beside it, a release can neither cause nor
    mend: it is reported by the audit of the frozen periods, not held against the release."""
    keys = {(r.metric, r.domain_type, r.domain) for r in records}
    primary = {(r.metric, r.domain_type, r.domain) for r in records if r.hidden}
    # Count-only cells: their rates stay protected (their counts count as unknown here).
    count_only = {
        (r.metric, r.domain_type, r.domain): CellState(r.n, False, False)
        for r in records
        if not r.hidden and r.estimate is None
    }
    return Table(
        period,
        count_only,
        keys - set(count_only),
        complete=True,
        release=True,
        complementary=keys - primary - set(count_only),
        masked=True,
    )


def withhold_rate(record) -> None:
    """Publish only the count of ``record``: its rate and everything that follows from it go."""
    for name in RATE_FIELDS:
        setattr(record, name, None)
    record.status = "insufficient"
    for name in RATE_EXTRAS:
        record.extra.pop(name, None)


def control(period: Period, records: list, min_n_show: dict[str, int]) -> Report:
    """Primary and complementary suppression of ``records`` (the release of ``period``), in place."""
    for record in records:
        if record.n < min_n_show[record.metric.split("/")[0]]:
            record.hidden = True
        if record.estimate is None:
            withhold_rate(record)
    frozen = _frozen_tables(period.year, exclude=period.label)
    # The masked release has the same cells as the release, hence the same relations: one universe
    # serves the baseline and every round, only the release's table changes.
    universe = _Universe(period.year, {**frozen, period.label: _masked_table(period, records)}, _satisfaction_codes())
    baseline = {(f.family, f.cell) for f in recoverable(universe)}
    by_key = {(r.metric, r.domain_type, r.domain): r for r in records}
    report = Report()
    attempts: dict[tuple[str, Var], int] = defaultdict(int)
    for round_ in range(MAX_ROUNDS + 1):
        # Hiding moves a cell from shown to hidden: the cells, hence the relations, stay the same.
        universe.tables[period.label] = release_table(period, records, report)
        found, fixed = _audit(universe)
        leaks = [f for f in found if (f.family, f.cell) not in baseline]
        # The last audit is the one publishing acts on.
        report.findings = leaks
        if not leaks or round_ == MAX_ROUNDS:
            break
        # Every leak of the round gets its complement (not one leak per round): fewer audits.
        picks: dict[Key, set[str]] = defaultdict(set)
        for leak in leaks:
            attempts[(leak.family, leak.cell)] += 1
            for key in _complements(
                universe,
                leak,
                fixed.get(leak.family, set()),
                period.label,
                by_key,
                everything=attempts[(leak.family, leak.cell)] > ESCALATE_AFTER,
            ):
                picks[key].add(leak.family)
        if not picks:
            break
        for key, families in picks.items():
            record = by_key[key]
            if "n" in families:
                record.hidden = True
                report.complementary_cells.add(key)
                continue
            if "total" in families:
                withhold_rate(record)
                report.rate_withheld_cells.add(key)
            if "transactions" in families:
                record.extra.pop("transactions", None)
                record.extra.pop("response_rate", None)
    _drop_orphan_funnels(records)
    return report


def _complements(
    universe: _Universe, leak: Finding, fixed: set[Var], label: str, by_key: dict, everything: bool = False
) -> list[Key]:
    """The release cells to protect for ``leak``.

    First the *leaking relations*: those holding the leaked value whose unknowns the audit all fixes
    (``year = H1 + H2`` with H2 known, ``commune = Σ its units`` with one unit hidden…), followed
    through their fixed unknowns to the nearest ones with a shown release member; without one (a
    leak through a combination of several relations), the relations that combination uses. Among
    their shown release members the one with the smallest ``n`` that no other relation pins down
    by itself (a year cell whose half-years are both public is not protected by hiding it); with
    ``everything`` (the leak survived earlier rounds), every one of them. A combination always
    uses a shown release member: one that uses none would give the value away beside the masked
    release too, and such values (the baseline) are never leaks (were it otherwise, the leak would
    stay and publishing refuse)."""
    members = _leaking_members(universe, leak, fixed, label) or _certificate_members(universe, leak, label)
    if everything:
        return sorted(members)
    ranked = sorted(members, key=lambda key: (_pinned(universe, (label, *key), leak.family), by_key[key].n, key))
    return ranked[:1]


def _unseen_relations(universe: _Universe, var: Var, family: str, seen: set[int]):
    """The relations holding ``var`` that ``family`` has and that are not in ``seen`` (added to it),
    each as ``(index, members, unknown members)``: the step of the walks from a leak."""
    for i in universe.containing.get(var, ()):
        if i in seen:
            continue
        seen.add(i)
        _, relation = universe.relations[i]
        if all(universe.applies(v, family) for v in relation):
            yield i, relation, [m for m in relation if universe.status(m, family) in ("protected", "free")]


def _leaking_members(universe: _Universe, leak: Finding, fixed: set[Var], label: str) -> set[Key]:
    """Shown release members of the nearest leaking relations (see :func:`_complements`)."""
    seen_vars = {leak.cell}
    seen_relations: set[int] = set()
    frontier = [leak.cell]
    while frontier:
        found: set[Key] = set()
        following = []
        for var in frontier:
            for _, relation, unknowns in _unseen_relations(universe, var, leak.family, seen_relations):
                if not all(member in fixed for member in unknowns):
                    continue
                found.update(
                    member[1:]
                    for member in relation
                    if member[0] == label and universe.status(member, leak.family) == "known"
                )
                for member in unknowns:
                    if member not in seen_vars:
                        seen_vars.add(member)
                        following.append(member)
        if found:
            return found
        frontier = following
    return set()


def _certificate_members(universe: _Universe, leak: Finding, label: str) -> set[Key]:
    """Shown release members of the relations a combination giving the leaked value away uses
    (the relations with a non-zero weight in ``e_j = yᵀA``), found by elimination that keeps track
    of which relations each row combines."""
    family = leak.family
    rows: list[tuple[int, list[tuple[Var, int]]]] = []
    seen_vars, seen_relations, frontier = {leak.cell}, set(), [leak.cell]
    while frontier:
        var = frontier.pop()
        for i, relation, unknowns in _unseen_relations(universe, var, family, seen_relations):
            # The parent (first member) = Σ the children.
            rows.append((i, [(member, 1 if member == relation[0] else -1) for member in unknowns]))
            for member in unknowns:
                if member not in seen_vars:
                    seen_vars.add(member)
                    frontier.append(member)
    column = {v: j for j, v in enumerate(sorted(seen_vars))}
    pivots: dict[int, tuple[dict[int, int], dict[int, int]]] = {}

    def reduce(row: dict[int, int], combo: dict[int, int]) -> None:
        while row:
            lead = min(row)
            if lead not in pivots:
                return
            pivot, pivot_combo = pivots[lead]
            factor = row[lead]
            for target, source in ((row, pivot), (combo, pivot_combo)):
                for j, v in source.items():
                    value = (target.get(j, 0) - factor * v) % _P
                    if value:
                        target[j] = value
                    else:
                        target.pop(j, None)

    for i, kept in rows:
        row: dict[int, int] = {}
        for var, k in kept:
            row[column[var]] = (row.get(column[var], 0) + k) % _P
        row = {j: v for j, v in row.items() if v}
        combo = {i: 1}
        reduce(row, combo)
        if row:
            lead = min(row)
            inverse = pow(row[lead], _P - 2, _P)
            pivots[lead] = (
                {j: v * inverse % _P for j, v in row.items()},
                {j: v * inverse % _P for j, v in combo.items()},
            )
    target, combo = {column[leak.cell]: 1}, {}
    reduce(target, combo)
    if target:
        return set()
    # target − Σ factor·pivot = 0: the relations used are those left in the (negated) combination.
    return {
        member[1:]
        for i in combo
        for member in universe.relations[i][1]
        if member[0] == label and universe.status(member, family) == "known"
    }


def _pinned(universe: _Universe, var: Var, family: str) -> bool:
    """Whether a relation would give ``var`` away by itself if it were not shown (all else known)."""
    for i in universe.containing.get(var, ()):
        _, relation = universe.relations[i]
        if not all(universe.applies(v, family) for v in relation):
            continue
        if all(member == var or universe.status(member, family) in ("known", "zero") for member in relation):
            return True
    return False


def _drop_orphan_funnels(records: list) -> None:
    """A funnel's reference is the province rate: no funnel where that rate is withheld."""
    withheld = {r.metric for r in records if r.domain_type == "province" and (r.hidden or r.estimate is None)}
    for record in records:
        if record.metric in withheld or record.hidden or record.estimate is None:
            record.extra.pop("funnel", None)


def disclosure_summary(records: Iterable, report: Report) -> dict:
    """What a snapshot keeps (not public) so that later audits tell hidden cells from empty ones,
    and cells protected for their own sake from those withheld to protect others."""
    return {
        "hidden": sorted([r.metric, r.domain_type, r.domain] for r in records if r.hidden),
        "complementary_cells": sorted(list(k) for k in report.complementary_cells),
        "rate_withheld_cells": sorted(list(k) for k in report.rate_withheld_cells),
        "complementary": report.complementary,
        "rate_withheld": report.rate_withheld,
        "findings": [str(f) for f in report.findings],
    }


def audit_tables(period: Period) -> list[Finding]:
    """What the current public tables reveal about the cells of ``period``."""
    universe = _Universe(period.year, _frozen_tables(period.year), _satisfaction_codes())
    return recoverable(universe, only=period.label)


def audit_microdata(period: Period, workdir: Path | None = None) -> list[Finding]:
    """Attacks on the public microdata of ``period``: labels of unpublished domains, rare combinations."""
    # cycle: both import webapp.publishing.compute, which imports this module
    from public.microdata_files import satisfaction_indicators
    from webapp.publishing.microdata import export_microdata

    snapshot = readers.find_snapshot(period.label)
    if snapshot is None:
        return []
    rates = {
        (m, t, d)
        for m, t, d, e in db.session.execute(
            select(
                PublishedEstimate.metric,
                PublishedEstimate.domain_type,
                PublishedEstimate.domain,
                PublishedEstimate.estimate,
            ).where(PublishedEstimate.snapshot_id == snapshot.id)
        )
        if e is not None
    }
    findings = []
    with tempfile.TemporaryDirectory() as tmp:
        for indicator in satisfaction_indicators():
            path = Path(workdir or tmp) / f"{period.label}-{indicator.code}.csv"
            export_microdata(period.label, indicator.code, path)
            with path.open(encoding="utf-8") as handle:
                rows = list(csv.DictReader(handle))
            findings += _microdata_findings(period, indicator.code, rows, rates)
    return findings


def _microdata_findings(period: Period, metric: str, rows: list[dict], rates: set[Key]) -> list[Finding]:
    """Labels of domains without a published rate, and groups of fewer than
    :data:`~webapp.publishing.microdata.MIN_COMBINATION` rows on a quasi-identifier, in the public
    file (one row per response and domain type: ``domain_type``, ``domain``)."""
    # cycle: microdata imports webapp.publishing.compute, which imports this module
    from webapp.publishing.microdata import MIN_COMBINATION, QUASI_IDENTIFIERS

    labels = [(row["domain_type"], row["domain"]) for row in rows if row["domain"]]
    findings = [
        Finding(
            "label",
            (period.label, metric, domain_type, domain),
            "microdata labels a domain whose rate is not published",
        )
        for domain_type, domain in sorted(set(labels))
        if domain_type != "province" and (metric, domain_type, domain) not in rates
    ]
    groups = Counter(pair for pair in labels if pair[0] in QUASI_IDENTIFIERS)
    rare = sum(count for count in groups.values() if count < MIN_COMBINATION)
    if rare:
        findings.append(
            Finding(
                "uniqueness",
                (period.label, metric, "quasi-identifiers", str(rare)),
                f"{rare} microdata rows in groups of fewer than {MIN_COMBINATION} on the quasi-identifiers",
            )
        )
    return findings


def published_periods() -> list[Period]:
    labels = set(db.session.scalars(select(PublishedSnapshot.period)))
    return sorted((Period.parse(label) for label in labels), key=Period.chronological)
