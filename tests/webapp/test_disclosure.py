"""Disclosure control across periods and the hierarchy (issue #13, finding 1) and its audit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from tests.conftest import empty_all_tables
from tests.webapp.published_demo import NOW, seed_and_publish
from webapp.models import PublishedEstimate, PublishedSnapshot

FEBRUARY = datetime(2026, 2, 10, 2, 0, tzinfo=UTC)
MAY = datetime(2026, 5, 10, 2, 0, tzinfo=UTC)


def public_rows(client, period: str) -> dict[tuple, dict]:
    """Every row of a period as the API shows it (what an attacker reads)."""
    rows = client.get(f"/api/v1/estimates?period={period}&indicator=sat-agencies&limit=5000").json["estimates"]
    return {(r["domain_type"], r["domain"]): r for r in rows}


def differencing_attack(client, unit: str) -> dict[str, float | int]:
    """2026-Q1 = 2026-H1 − 2026-Q2 for ``unit``: what it recovers of Q1's n and rate."""
    q1, q2, h1 = (public_rows(client, p).get(("unit", unit)) for p in ("2026-Q1", "2026-Q2", "2026-H1"))
    recovered: dict[str, float | int] = {}
    if h1 and q2:
        recovered["n"] = h1["n"] - q2["n"]
        if h1["estimate"] is not None and q2["estimate"] is not None:
            # Unweighted here (no transaction counts): the satisfied totals subtract exactly.
            recovered["rate"] = (h1["estimate"] * h1["n"] - q2["estimate"] * q2["n"]) / recovered["n"]
    if q1 is not None:
        recovered.pop("n", None)  # published anyway
        if q1["estimate"] is not None:
            recovered.pop("rate", None)
    return recovered


def _publish_half_year():
    from webapp.publishing.publish import publish_period

    for label in ("2026-Q1", "2026-Q2", "2026-H1"):
        publish_period(label, now=NOW)


def test_finding_01_count_only_quarter_is_not_recoverable_from_half_year(app, client, db, registry, rate):
    # sl-ttpvhcc: 20 ratings in Q1 (count only: fewer than 30), 40 in Q2; another agency keeps the province public.
    rate("sl-ttpvhcc", "land", satisfied=5, count=20, start=FEBRUARY)
    rate("sl-ttpvhcc", "land", satisfied=36, count=40, start=MAY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=FEBRUARY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=MAY)
    _publish_half_year()
    q1 = public_rows(client, "2026-Q1")[("unit", "sl-ttpvhcc")]
    assert q1["n"] == 20 and q1["estimate"] is None  # primary: count only
    assert "transactions" not in q1
    assert "rate" not in differencing_attack(client, "sl-ttpvhcc"), "Q1's hidden rate = H1 − Q2"


def test_finding_01_hidden_quarter_count_is_not_recoverable_from_half_year(app, client, db, registry, rate):
    rate("sl-ttpvhcc", "land", satisfied=3, count=5, start=FEBRUARY)
    rate("sl-ttpvhcc", "land", satisfied=36, count=40, start=MAY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=FEBRUARY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=MAY)
    _publish_half_year()
    assert ("unit", "sl-ttpvhcc") not in public_rows(client, "2026-Q1")
    assert differencing_attack(client, "sl-ttpvhcc") == {}, "Q1's hidden count = H1 − Q2"
    # …nor within Q1: the province minus the other agency.
    q1 = public_rows(client, "2026-Q1")
    assert not (("province", "sl") in q1 and ("unit", "sl-ca") in q1)


def test_audit_recovers_the_leak_of_an_old_release(app, runner, db, registry, rate):
    """Snapshots stored without this stage (rows forced public): the audit finds the differencing."""
    from webapp.periods import Period
    from webapp.publishing.disclosure import audit_tables

    rate("sl-ttpvhcc", "land", satisfied=5, count=20, start=FEBRUARY)
    rate("sl-ttpvhcc", "land", satisfied=36, count=40, start=MAY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=FEBRUARY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=MAY)
    _publish_half_year()
    assert audit_tables(Period.parse("2026-Q1")) == []
    result = runner.invoke(args=["disclosure", "audit", "--tables-only"])
    assert result.exit_code == 0, result.output
    assert "0 recoverable" in result.output
    # Make H1 show what the old code showed: the unit's rate in both H1 and Q2.
    h1 = db.session.scalar(select(PublishedSnapshot).where(PublishedSnapshot.period == "2026-H1"))
    for row in db.session.scalars(select(PublishedEstimate).where(PublishedEstimate.snapshot_id == h1.id)):
        if row.estimate is None and row.n >= 30:
            row.estimate, row.se, row.ci_low, row.ci_high, row.n_eff = 0.5, 0.05, 0.4, 0.6, float(row.n)
            row.status = "inconclusive"
    db.session.commit()
    findings = audit_tables(Period.parse("2026-Q1"))
    assert any(f.cell[1:] == ("sat-agencies", "unit", "sl-ttpvhcc") and f.family == "total" for f in findings), findings
    result = runner.invoke(args=["disclosure", "audit", "2026-Q1", "--tables-only"])
    assert result.exit_code == 1
    assert "sl-ttpvhcc" in result.output and "2026-H1" in result.output


def test_publish_refuses_a_release_the_audit_fails(app, db, registry, monkeypatch, rate):
    """The audit runs between computing and freezing: a release that leaks is never stored."""
    from webapp.publishing import disclosure
    from webapp.publishing.publish import PublishError, publish_period

    rate("sl-ttpvhcc", "land", satisfied=5, count=20, start=FEBRUARY)
    rate("sl-ttpvhcc", "land", satisfied=36, count=40, start=MAY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=FEBRUARY)
    rate("sl-ca", "residence", satisfied=30, count=45, start=MAY)
    publish_period("2026-Q1", now=NOW)
    publish_period("2026-Q2", now=NOW)
    # Without complementary suppression (primary only), H1 gives Q1's rate away.
    monkeypatch.setattr(disclosure, "MAX_ROUNDS", 0)
    with pytest.raises(PublishError, match="sl-ttpvhcc"):
        publish_period("2026-H1", now=NOW)
    assert db.session.scalar(select(PublishedSnapshot).where(PublishedSnapshot.period == "2026-H1")) is None


def test_cli_audit_rejects_a_bad_period(runner):
    result = runner.invoke(args=["disclosure", "audit", "2026-Q9"])
    assert result.exit_code == 2


# --- a unit abolished mid-year (the 2025 demo failure) -------------------------------------------


def test_year_of_a_unit_abolished_mid_year_is_protected_and_published(app, client, db, registry, monkeypatch, rate):
    """c03832 is merged into commune n03850 on 2025-07-01: its H2 is known empty (registry), so its
    year = its H1, and the year's commune n03850 = Σ its units gives it away. The greedy must protect
    a release cell of the relation that actually leaks (not the smallest unit of the province, whose
    year = H1 + H2 is public anyway) and end with a clean audit, so the year is published (within
    two rounds here)."""
    from webapp.periods import Period
    from webapp.publishing import disclosure
    from webapp.publishing.disclosure import audit_tables
    from webapp.publishing.publish import publish_period

    feb, may = datetime(2025, 2, 10, 2, 0, tzinfo=UTC), datetime(2025, 5, 10, 2, 0, tzinfo=UTC)
    aug, nov = datetime(2025, 8, 10, 2, 0, tzinfo=UTC), datetime(2025, 11, 10, 2, 0, tzinfo=UTC)
    rate("c03832", "civil-status", satisfied=3, count=5, start=feb)  # few, in H1 only: hidden everywhere
    for unit in ("c03838", "c03850"):
        rate(unit, "civil-status", satisfied=30, count=40, start=feb)
        rate(unit, "civil-status", satisfied=30, count=40, start=may)
    for when in (aug, nov):
        rate("n03850", "civil-status", satisfied=30, count=40, start=when)
    for when in (feb, may, aug, nov):
        rate("sl-ca", "residence", satisfied=30, count=45, start=when)
    for unit in ("c03646", "c03649", "c03652"):  # small but shown, and their year = H1 + 0 is public anyway
        rate(unit, "civil-status", satisfied=8, count=12, start=feb)
    for label in ("2025-Q1", "2025-Q2", "2025-H1", "2025-Q3", "2025-Q4", "2025-H2"):
        publish_period(label, now=NOW)
    monkeypatch.setattr(disclosure, "MAX_ROUNDS", 2)
    publish_period("2025", now=NOW)
    year = public_rows(client, "2025")
    assert ("unit", "c03832") not in year
    assert not (("commune", "n03850") in year and all(("unit", u) in year for u in ("c03838", "c03850", "n03850")))
    for label in ("2025-H1", "2025"):
        assert audit_tables(Period.parse(label)) == [], label


# --- the demo -----------------------------------------------------------------------------------

#: Both unit trees (districts to 2025-06-30, communes after), in the order ``publish --all-ended`` uses.
DEMO_PERIODS = ["2025-Q1", "2025-Q2", "2025-H1", "2025-Q3", "2025-Q4", "2025-H2", "2025", "2026-Q1"]


@pytest.fixture(scope="module")
def demo(app):
    """The demo with quarters, half-years and a year (both unit trees) published."""
    from webapp.extensions import db

    with app.app_context():
        seed_and_publish(responses=6_000, seed=7, first_quarter="2025-Q1", periods=DEMO_PERIODS)
        yield db
        db.session.remove()
        empty_all_tables(db)


def test_audit_finds_nothing_on_the_demo(demo, app):
    from webapp.periods import Period
    from webapp.publishing.disclosure import audit_tables

    db = demo
    with app.app_context():
        for label in DEMO_PERIODS:
            assert audit_tables(Period.parse(label)) == [], label
        result = app.test_cli_runner().invoke(args=["disclosure", "audit", "--tables-only"])
        assert result.exit_code == 0, result.output
        snapshots = db.session.scalars(select(PublishedSnapshot)).all()
        assert (
            sum(s.summary["disclosure"]["complementary"] + s.summary["disclosure"]["rate_withheld"] for s in snapshots)
            > 0
        )


def test_no_row_without_a_rate_shows_transactions_on_the_demo(demo, app):
    db = demo
    with app.app_context():
        rows = db.session.scalars(select(PublishedEstimate).where(PublishedEstimate.estimate.is_(None))).all()
        assert rows, "the demo has rows without a rate"
        for row in rows:
            assert "transactions" not in row.extra and "response_rate" not in row.extra and "funnel" not in row.extra


def test_microdata_audit_finds_nothing_on_the_demo(demo, app, tmp_path):
    """Labels of hidden domains and rare quasi-identifier combinations in the public microdata files."""
    from webapp.periods import Period
    from webapp.publishing.disclosure import audit_microdata
    from webapp.publishing.microdata import public_rows

    with app.app_context():
        for label in ("2025-Q1", "2025-H1", "2025"):
            assert public_rows(label, "sat-agencies"), f"{label}: no public microdata to audit"
            assert audit_microdata(Period.parse(label), tmp_path) == [], label
