"""``flask backup`` / ``flask restore``: every table comes back row for row, on SQLite and PostgreSQL."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, insert, null, select

from tests.conftest import empty_all_tables, make_app, migrate_database
from webapp.periods import Period

NOW = datetime(2026, 5, 20, 3, 0, tzinfo=UTC)


def seed(db) -> None:
    """Registry, a small demo data set, a user, audit events and a self-referencing unit tree."""
    from tests.registry_rows import load_registry
    from webapp.audit import record_event
    from webapp.demo.seed import seed_demo
    from webapp.models import AuditEvent, Unit, User

    load_registry(db)
    seed_demo(responses=400, seed=3, now=NOW, first_quarter=Period.parse("2025-Q3"))
    unit = db.session.scalar(select(Unit).where(Unit.parent_id.is_not(None)).order_by(Unit.id))
    user = User(email="an@example.vn", password_hash="scrypt$x", role="viewer", unit_id=unit.id)
    db.session.add(user)
    db.session.flush()
    record_event(
        "user.create", actor="cli", object_type="user", object_id=user.id, after={"email": "an@example.vn", "ý": "ở"}
    )
    record_event("registry.load", actor="cli", detail="Tải danh mục", before=None, after=None)
    # SQL NULL and the JSON document `null` are different values and both must come back.
    db.session.execute(
        insert(AuditEvent.__table__).values(
            action="sql.null", actor="cli", at=NOW, before=null(), after={"$json": None}
        )
    )
    db.session.commit()


@pytest.fixture(scope="module")
def golden(app, tmp_path_factory):
    """Seed once per module: the archive of the seeded database and its rows."""
    from webapp.extensions import db
    from webapp.ops.backup import write_backup

    archive = tmp_path_factory.mktemp("golden") / "golden.jsonl.gz"
    with app.app_context():
        seed(db)
        rows = snapshot(db)
        write_backup(db.engine, archive)
        db.session.remove()
        empty_all_tables(db)
    return archive, rows


@pytest.fixture()
def seeded(db, golden):
    """The seeded database, restored from the module's archive (itself a restore test)."""
    from webapp.ops.backup import open_archive, restore_backup

    archive, rows = golden
    with gzip.open(archive, "rt", encoding="utf-8") as handle:
        restore_backup(db.engine, open_archive(handle))
    assert snapshot(db) == rows
    db.session.rollback()
    return db


def snapshot(db) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order."""
    return {
        table.name: [tuple(row) for row in db.session.execute(select(table).order_by(*table.primary_key.columns))]
        for table in db.metadata.sorted_tables
    }


def backup(runner, path: Path):
    result = runner.invoke(args=["backup", "-o", str(path)])
    assert result.exit_code == 0, result.output
    return result


def restore(runner, path: Path, *extra: str):
    from webapp.extensions import db

    # The test's own open transaction would hold locks the restore waits for (as a running site would).
    db.session.rollback()
    return runner.invoke(args=["restore", str(path), *extra])


def test_round_trip_restores_every_row(seeded, db, runner, tmp_path):
    from webapp.models import AuditEvent, Response, Unit

    before = snapshot(db)
    sql_nulls = _sql_nulls(db)
    assert 0 < sql_nulls < len(before["audit_events"])
    assert len(before["responses"]) == 400 and len(before["audit_events"]) >= 2 and len(before["users"]) == 1
    assert any(row for row in before["units"] if row[Unit.__table__.c.keys().index("parent_id")] is not None)
    archive = tmp_path / "sonla.jsonl.gz"
    result = backup(runner, archive)
    assert "Backup written" in result.output and "responses 400" in result.output
    assert not (tmp_path / "sonla.jsonl.gz.partial").exists()

    # Change the database so the restore has something to undo.
    db.session.execute(Response.__table__.delete().where(Response.id > 200))
    db.session.execute(AuditEvent.__table__.delete())
    db.session.commit()

    result = restore(runner, archive, "--force")
    assert result.exit_code == 0, result.output
    assert "Restored" in result.output and "responses 400" in result.output
    db.session.expire_all()
    assert snapshot(db) == before
    assert _sql_nulls(db) == sql_nulls
    wrapped = db.session.scalar(select(AuditEvent.after).where(AuditEvent.action == "sql.null"))
    assert wrapped == {"$json": None}


def _sql_nulls(db) -> int:
    """Audit events whose ``before`` is SQL NULL (not the JSON document ``null``)."""
    from webapp.models import AuditEvent

    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(AuditEvent.before.is_(None)))


def test_new_rows_after_a_restore_get_fresh_ids(seeded, db, runner, tmp_path):
    """PostgreSQL's sequences follow the restored ids (SQLite follows by itself)."""
    from webapp.audit import record_event
    from webapp.models import AuditEvent

    archive = tmp_path / "a.jsonl.gz"
    backup(runner, archive)
    assert restore(runner, archive, "--force").exit_code == 0
    highest = db.session.scalar(select(func.max(AuditEvent.id)))
    record_event("after.restore", actor="cli")
    db.session.commit()
    assert db.session.scalar(select(func.max(AuditEvent.id))) > highest


def test_refuses_a_database_that_is_not_empty_without_force(seeded, db, runner, tmp_path):
    from webapp.models import Response

    archive = tmp_path / "a.jsonl.gz"
    backup(runner, archive)
    result = restore(runner, archive)
    assert result.exit_code == 1
    assert "not empty" in result.output and "--force" in result.output
    assert db.session.scalar(select(func.count()).select_from(Response)) == 400


def test_restores_into_an_empty_database_without_force(seeded, db, runner, tmp_path):
    before = snapshot(db)
    archive = tmp_path / "a.jsonl.gz"
    backup(runner, archive)
    db.session.remove()
    empty_all_tables(db)
    result = restore(runner, archive)
    assert result.exit_code == 0, result.output
    assert snapshot(db) == before


def _rewrite(source: Path, target: Path, change) -> None:
    with gzip.open(source, "rt", encoding="utf-8") as handle:
        lines = handle.read().splitlines()
    lines = change(lines)
    with gzip.open(target, "wt", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def test_refuses_an_archive_of_another_schema_revision(seeded, db, runner, tmp_path):
    archive, other = tmp_path / "a.jsonl.gz", tmp_path / "b.jsonl.gz"
    backup(runner, archive)

    def older(lines):
        header = json.loads(lines[0])
        header["revision"] = "0001_initial_schema"
        return [json.dumps(header), *lines[1:]]

    _rewrite(archive, other, older)
    result = restore(runner, other, "--force")
    assert result.exit_code == 1
    assert "revision 0001_initial_schema" in result.output


@pytest.mark.parametrize("damage", ["truncated", "bad_row", "not_gzip", "not_ours"])
def test_a_damaged_archive_changes_nothing(seeded, db, runner, tmp_path, damage):
    from webapp.models import AuditEvent, Response

    archive, broken = tmp_path / "a.jsonl.gz", tmp_path / "broken.jsonl.gz"
    backup(runner, archive)
    db.session.execute(AuditEvent.__table__.delete())
    db.session.commit()
    before = snapshot(db)
    if damage == "truncated":
        _rewrite(archive, broken, lambda lines: lines[: len(lines) // 2])
    elif damage == "bad_row":
        _rewrite(archive, broken, lambda lines: [*lines[:-3], '["not", "a", "row"]', *lines[-2:]])
    elif damage == "not_gzip":
        broken.write_text("id,name\n1,x\n", encoding="utf-8")
    else:
        with gzip.open(broken, "wt", encoding="utf-8") as handle:
            handle.write('{"hello": "world"}\n')
    result = restore(runner, broken, "--force")
    assert result.exit_code == 1, result.output
    assert "Traceback" not in result.output
    db.session.expire_all()
    assert snapshot(db) == before
    assert db.session.scalar(select(func.count()).select_from(Response)) == 400


def test_backup_streams_rows(seeded, db, tmp_path, monkeypatch):
    """Rows are read and written in batches, not loaded all at once."""
    from webapp.extensions import db as database
    from webapp.ops import backup as module

    monkeypatch.setattr(module, "BATCH", 50)
    batches: list[int] = []
    counts = module.write_backup(database.engine, tmp_path / "a.jsonl.gz", progress=batches.append)
    assert counts["responses"] == 400
    assert max(batches) <= 50 and sum(batches) == sum(counts.values())


@pytest.mark.postgresql_only
def test_an_sqlite_archive_restores_into_postgresql(app, backend, db, runner, tmp_path):
    """Archives are portable: a backup of the embedded SQLite database moves to PostgreSQL."""
    from surveys.registry_cache import clear
    from webapp.extensions import db as database

    lite = make_app(f"sqlite:///{tmp_path / 'lite.sqlite3'}")
    migrate_database(lite)
    archive = tmp_path / "lite.jsonl.gz"
    clear()
    with lite.app_context():
        seed(database)
        expected = snapshot(database)
        backup(lite.test_cli_runner(), archive)
        database.session.remove()
        database.engine.dispose()
    clear()
    result = restore(runner, archive, "--force")
    assert result.exit_code == 0, result.output
    assert snapshot(db) == expected


@pytest.mark.postgresql_only
def test_a_busy_database_is_refused_with_a_message(seeded, backend, db, runner, tmp_path, monkeypatch):
    """While the running site holds a table, the restore gives up with a message instead of hanging.

    PostgreSQL only: SQLite waits ``busy_timeout`` and then reports the lock the same way.
    """
    from webapp.models import Response
    from webapp.ops import backup as module

    archive = tmp_path / "a.jsonl.gz"
    backup(runner, archive)
    monkeypatch.setattr(module, "LOCK_TIMEOUT_SECONDS", 1)
    db.session.execute(select(func.count()).select_from(Response))  # holds a lock until the transaction ends
    result = runner.invoke(args=["restore", str(archive), "--force"])
    db.session.rollback()
    assert result.exit_code == 1
    assert "stop the application" in result.output and "nothing was restored" in result.output


def test_backup_problems_are_reported_without_a_traceback(app, tmp_path):
    empty = make_app(f"sqlite:///{tmp_path / 'never-migrated.sqlite3'}")
    result = empty.test_cli_runner().invoke(args=["backup", "-o", str(tmp_path / "a.jsonl.gz")])
    assert result.exit_code == 1 and "db upgrade" in result.output
    result = app.test_cli_runner().invoke(args=["backup", "-o", str(tmp_path / "missing" / "a.jsonl.gz")])
    assert result.exit_code == 1 and "does not exist" in result.output
