"""The demo seeds an integration client and dossiers through the real API."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select

from webapp.demo.dossiers import dossiers_for, seed_dossiers
from webapp.demo.seed import seed_demo
from webapp.models import AuditEvent, Dossier, IntegrationClient, ReceiptToken
from webapp.periods import Period

NOW = datetime(2026, 11, 20, 3, 0, tzinfo=UTC)


def test_demo_dossiers_are_posted_through_the_api_once(db, registry):
    seed_demo(responses=200, seed=3, now=NOW, first_quarter=Period.parse("2026-Q2"))
    summary = seed_dossiers(120, seed=3)
    assert "120 survey links" in summary
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 120
    assert db.session.scalar(select(func.count()).select_from(ReceiptToken)) == 120
    client = db.session.scalars(select(IntegrationClient)).one()
    dossiers = db.session.scalars(select(Dossier)).all()
    assert {d.client_id for d in dossiers} == {client.id}
    assert all(d.unit.path.startswith(client.unit.path) and d.unit.sector == "admin" for d in dossiers)
    calls = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "integration.call")).all()
    assert [c.after["counts"] for c in calls] == [{"201": 120}]
    assert "none added" in seed_dossiers(10)
    assert db.session.scalar(select(func.count()).select_from(Dossier)) == 120


def test_small_demos_get_few_or_no_dossiers():
    assert dossiers_for(120_000) == 3_000 and dossiers_for(10) == 0 and dossiers_for(4_000) == 100
