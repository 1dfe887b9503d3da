"""The differencing attack of issue #13 (finding 1), run from outside: only the public API and CSV downloads.

The attacker reads every row of every published period (``/api/v1/estimates`` and
``/data/<period>/estimates.csv``), knows the public unit registry, and adds and subtracts:
a half-year minus one quarter, a year minus one half-year, a province minus its other
sectors, services, channels, respondent types or units, a district or commune minus its
other units, a sector minus its other units. Derived values feed further differences until
nothing new comes. A value counts as recovered when the attack finds a hidden cell's count
(or transactions), or has everything needed for a count-only cell's rate (the weighted
satisfied totals of all the other members and the weight totals).
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest

from tests.conftest import empty_all_tables
from tests.webapp.published_demo import seed_and_publish

#: Both unit trees, in the order ``publish --all-ended`` uses (quarters before their half-year and year).
PERIODS = ["2025-Q1", "2025-Q2", "2025-H1", "2025-Q3", "2025-Q4", "2025-H2", "2025"]


@pytest.fixture(scope="module")
def published(app):
    from webapp.extensions import db

    with app.app_context():
        seed_and_publish(responses=8_000, seed=11, first_quarter="2025-Q1", periods=PERIODS)
        db.session.remove()
        yield db
        db.session.remove()
        empty_all_tables(db)


def _api_rows(client, period: str) -> list[dict]:
    rows, page = [], 1
    while True:
        answer = client.get(f"/api/v1/estimates?period={period}&aspects=1&limit=5000&page={page}").json
        rows += answer["estimates"]
        if not answer["next"]:
            return rows
        page += 1


def _csv_rows(client, period: str) -> list[dict]:
    response = client.get(f"/data/{period}/estimates.csv")
    assert response.status_code == 200
    return list(csv.DictReader(io.StringIO(response.get_data().decode("utf-8-sig"))))


def _number(value):
    if value in (None, ""):
        return None
    return float(value)


class Attacker:
    """What the public shows, per cell (period, metric, domain type, domain) and value family."""

    def __init__(self):
        self.n: dict[tuple, float] = {}
        self.transactions: dict[tuple, float] = {}
        self.total: dict[tuple, float] = {}  # rate × weight total (transactions)
        self.count_only: set[tuple] = set()
        self.recovered: list[str] = []

    def read(self, period: str, row: dict) -> None:
        cell = (period, row["metric"], row["domain_type"], row["domain"])
        self.n[cell] = float(row["n"])
        estimate, transactions = _number(row.get("estimate")), _number(row.get("transactions"))
        if transactions is not None:
            self.transactions[cell] = transactions
        if estimate is None:
            self.count_only.add(cell)
        else:
            self.total[cell] = estimate * (transactions if transactions is not None else float(row["n"]))


def _relations(periods: list[str], cells: set[tuple]) -> list[tuple[tuple, list[tuple]]]:
    """parent = Σ children, over every cell the attacker has seen in some period (absent elsewhere)."""
    from sqlalchemy import select

    from webapp.extensions import db
    from webapp.models import CHANNELS, RESPONDENT_TYPES, Service, Unit
    from webapp.periods import Period
    from webapp.publishing.compute import _unit_infos

    keys = {c[1:] for c in cells}
    # The registry is public: every unit, service, channel and respondent type, seen or not.
    registry = {
        "unit": [u.code for u in db.session.scalars(select(Unit))],
        "service": [s.code for s in db.session.scalars(select(Service))],
        "channel": list(CHANNELS),
        "respondent_type": list(RESPONDENT_TYPES),
    }
    metrics = {k[0] for k in keys}
    keys |= {
        (m, t, d) for m in metrics for t, domains in registry.items() for d in domains if t == "unit" or "/" not in m
    }
    relations = []
    for year in sorted({Period.parse(p).year for p in periods}):
        splits = [
            (f"{year}-H1", [f"{year}-Q1", f"{year}-Q2"]),
            (f"{year}-H2", [f"{year}-Q3", f"{year}-Q4"]),
            (str(year), [f"{year}-H1", f"{year}-H2"]),
        ]
        for key in keys:
            if key[1] in ("district", "commune"):
                continue  # a district or commune exists in one tree only: through its units below
            for parent, children in splits:
                relations.append(((parent, *key), [(c, *key) for c in children]))
    sector_of = {u.code: u.sector for u in db.session.scalars(select(Unit))}
    for period in periods:
        infos = {u.code: u for u in _unit_infos(Period.parse(period)).values()}
        by_type = defaultdict(list)
        for metric, domain_type, domain in keys:
            by_type[(metric, domain_type)].append(domain)
        for (metric, domain_type), domains in by_type.items():
            if domain_type in ("sector", "service", "channel", "respondent_type", "unit"):
                relations.append(
                    ((period, metric, "province", "sl"), [(period, metric, domain_type, d) for d in domains])
                )
            if domain_type == "unit":
                groups = defaultdict(list)
                for unit in domains:
                    info = infos.get(unit)
                    for tree in ("district", "commune"):
                        if info is not None and getattr(info, tree):
                            groups[(tree, getattr(info, tree))].append(unit)
                    groups[("sector", sector_of.get(unit))].append(unit)
                for (parent_type, parent), units in groups.items():
                    parent_cell = (period, metric, parent_type, parent)
                    if parent_cell in cells:
                        relations.append((parent_cell, [(period, metric, "unit", u) for u in units]))
    return relations


def attack(attacker: Attacker, periods: list[str]) -> list[str]:
    published = set(attacker.n)
    relations = _relations(periods, published)
    known = {"n": dict(attacker.n), "transactions": dict(attacker.transactions), "total": dict(attacker.total)}
    for _round in range(20):
        progress = False
        for parent, children in relations:
            if parent[0] not in periods:
                continue
            members = [parent, *children]
            for family, values in known.items():
                # An absent cell of a published period is either empty or hidden; the attacker tries it.
                missing = [m for m in members if m not in values and m[0] in periods]
                if len(missing) != 1 or any(m[0] not in periods for m in members):
                    continue
                target = missing[0]
                others = sum(values[c] for c in children if c != target)
                value = others if target == parent else values[parent] - others
                values[target] = value
                progress = True
                hidden = target not in published and family in ("n", "transactions") and round(value) > 0
                rate = (
                    family == "total"
                    and target in attacker.count_only
                    or (family == "total" and target not in published and known["n"].get(target, 0) > 0)
                )
                if hidden or rate:
                    attacker.recovered.append((family, target, round(value, 4)))
        if not progress:
            break
    return attacker.recovered


def test_differencing_attack_through_api_and_csv_recovers_nothing(app, published):
    client = app.test_client()
    attacker = Attacker()
    for period in PERIODS:
        api = _api_rows(client, period)
        csv_rows = _csv_rows(client, period)
        assert len(api) == len(csv_rows) > 0
        for row in api + csv_rows:
            attacker.read(period, row)
    # The attacker's relations are exact: where every member is shown, the counts add up.
    checked = [
        (parent, children)
        for parent, children in _relations(PERIODS, set(attacker.n))
        if children and parent in attacker.n and all(c in attacker.n for c in children)
    ]
    assert checked
    assert all(attacker.n[p] == sum(attacker.n[c] for c in children) for p, children in checked)
    found = attack(attacker, PERIODS)
    # A cell hidden (or a rate withheld) only to protect another may be found again; its own value
    # is not confidential (the snapshot's private record of the disclosure stage says which).
    complementary = _complementary(PERIODS)
    primary = [
        (family, cell, value)
        for family, cell, value in found
        if cell[1:] not in complementary[cell[0]][family == "total"]
    ]
    assert primary == []


def _complementary(periods: list[str]) -> dict[str, tuple[set, set]]:
    """Per period: (cells hidden to protect others, rates withheld to protect others)."""
    from webapp.publishing.publish import current_snapshot

    result = {}
    for period in periods:
        info = current_snapshot(period).summary["disclosure"]
        hidden = {tuple(k) for k in info["complementary_cells"]}
        result[period] = (hidden, hidden | {tuple(k) for k in info["rate_withheld_cells"]})
    return result


def test_the_attack_finds_a_planted_leak(app, published):
    """The attack is not blind: remove one quarter's unit row and it finds that row's count again."""
    client = app.test_client()
    attacker = Attacker()
    for period in PERIODS:
        for row in _api_rows(client, period):
            attacker.read(period, row)
    victim = next(
        c
        for c in sorted(attacker.n)
        if c[0] == "2025-Q1"
        and c[2] == "unit"
        and c[1] == "sat-agencies"
        and (("2025-H1", *c[1:]) in attacker.n)
        and (("2025-Q2", *c[1:]) in attacker.n)
    )
    attacker.n.pop(victim)
    attacker.transactions.pop(victim, None)
    attacker.total.pop(victim, None)
    found = attack(attacker, PERIODS)
    assert any(cell == victim for _, cell, _ in found), found
