"""The schema is built by the migrations, and they agree with the models."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext


def test_models_and_migrations_agree(app, db):
    """Fails when a model changed without a migration (run: make migration m="...")."""
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, db.metadata)
    assert differences == [], f"models and migrations disagree: {differences}"


def test_migrations_are_numbered_in_order():
    from pathlib import Path

    versions = sorted(p.name for p in (Path(__file__).resolve().parents[2] / "migrations" / "versions").glob("*.py"))
    numbers = [int(name.split("_", 1)[0]) for name in versions]
    assert numbers == list(range(1, len(numbers) + 1))


def test_downgrade_then_upgrade_round_trips(tmp_path):
    """Every migration can be undone and redone (on a scratch SQLite database)."""
    from flask_migrate import downgrade, upgrade

    from tests.conftest import REPO, make_app

    app = make_app(f"sqlite:///{tmp_path / 'roundtrip.sqlite3'}")
    with app.app_context():
        upgrade(directory=str(REPO / "migrations"))
        downgrade(directory=str(REPO / "migrations"), revision="base")
        upgrade(directory=str(REPO / "migrations"))
