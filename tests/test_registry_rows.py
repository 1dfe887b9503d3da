"""The suite's fast registry (tests/registry_rows.py) leaves what ``flask registry load`` leaves."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import func, select

from tests.conftest import empty_all_tables
from tests.registry_rows import load_registry


def _rows(database) -> dict[str, list[tuple]]:
    """Every row of every table, without the times (a real load stamps its own)."""
    found = {}
    with database.engine.connect() as connection:
        for table in database.metadata.sorted_tables:
            rows = connection.execute(table.select().order_by(*table.primary_key.columns)).all()
            if rows:
                found[table.name] = [tuple(v for v in row if not isinstance(v, datetime)) for row in rows]
    return found


def test_the_restored_registry_equals_a_real_load_and_new_rows_get_fresh_ids(app, db):
    from webapp.models import Unit
    from webapp.registry.loader import DATA_DIR
    from webapp.registry.service import load_everything

    load_registry(db)  # the first call in a database loads for real and remembers the rows
    db.session.remove()
    empty_all_tables(db)
    load_registry(db)  # later ones put the remembered rows back
    restored = _rows(db)
    largest = db.session.scalar(select(func.max(Unit.id)))
    db.session.add(
        Unit(
            code="new-after-restore",
            name_vi="Đơn vị mới",
            name_en="New unit",
            kind="agency",
            sector="admin",
            path="new-after-restore",
            valid_from=date(2026, 1, 1),
        )
    )
    db.session.commit()
    assert db.session.scalar(select(Unit.id).where(Unit.code == "new-after-restore")) == largest + 1

    db.session.remove()
    empty_all_tables(db)
    load_everything(DATA_DIR)
    loaded = _rows(db)
    assert loaded
    assert restored.keys() == loaded.keys()
    assert {"units", "services", "unit_services", "instruments", "indicators"} <= restored.keys()
    for table in loaded:
        assert restored[table] == loaded[table], table
