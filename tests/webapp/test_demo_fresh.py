"""Demo seeding on an empty database: needs the registry, reproducible from its seed."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.conftest import empty_all_tables
from webapp.models import Response

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)


def test_seed_needs_the_registry(runner):
    result = runner.invoke(args=["demo", "seed", "--responses", "10"])
    assert result.exit_code == 1
    assert "registry load" in result.output


def test_same_seed_gives_the_same_data(runner, db):
    from webapp.demo.seed import seed_demo

    runner.invoke(args=["registry", "load"])
    seed_demo(responses=300, seed=11, now=NOW)
    first = sorted((r.unit.code, r.period, r.channel, str(r.answers)) for r in db.session.scalars(select(Response)))

    db.session.remove()
    empty_all_tables(db)
    runner.invoke(args=["registry", "load"])
    seed_demo(responses=300, seed=11, now=NOW)
    second = sorted((r.unit.code, r.period, r.channel, str(r.answers)) for r in db.session.scalars(select(Response)))
    assert first == second
