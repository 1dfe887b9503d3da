"""The registry of ``webapp/registry/data`` in the test database, loaded once per database.

``flask registry load`` validates and upserts about 4,400 rows (units, services, offerings,
instruments, indicators, targets, margins) and takes a second or more; most tests need those
rows only as a starting point. :func:`load_registry` runs the real loader the first time it
is called on a database, remembers every row it left in every table, and on later calls (on
emptied tables) inserts those same rows again, in a few hundredths of a second. The result is
the same rows, the same ids and the same audit events as a real load; tests of the loader
itself call ``load_everything`` directly.
"""

from __future__ import annotations

from sqlalchemy import Table, func, select, text

#: Per database URL: ``[(table, rows)]`` in dependency order, as the real load left them.
_SNAPSHOTS: dict[str, list[tuple[Table, list[dict]]]] = {}


def load_registry(database) -> None:
    """Put the registry rows in ``database`` (Flask-SQLAlchemy's ``db``), in an app context."""
    from surveys.registry_cache import clear
    from webapp.registry.loader import DATA_DIR
    from webapp.registry.service import load_everything

    key = database.engine.url.render_as_string(hide_password=False)
    snapshot = _SNAPSHOTS.get(key)
    if snapshot is None or not _can_insert_unordered(database) or _any_rows(database, [t for t, _ in snapshot]):
        load_everything(DATA_DIR)
        if snapshot is None:
            _SNAPSHOTS[key] = _take(database)
        return
    database.session.commit()
    engine = database.engine
    with engine.connect() as connection:
        postgresql = engine.dialect.name == "postgresql"
        if postgresql:
            # Units refer to their parents and successors: insert without checking the order.
            connection.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table, rows in snapshot:
            connection.execute(table.insert(), rows)
            if postgresql:
                _advance_sequences(connection, table)
        connection.commit()
        if not postgresql:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()
    clear()


def _can_insert_unordered(database) -> bool:
    """SQLite can switch foreign keys off; PostgreSQL needs a superuser to (``session_replication_role``)."""
    if database.engine.dialect.name != "postgresql":
        return True
    with database.engine.connect() as connection:
        return bool(connection.scalar(text("SELECT rolsuper FROM pg_roles WHERE rolname = current_user")))


def _any_rows(database, tables: list[Table]) -> bool:
    with database.engine.connect() as connection:
        return any(connection.scalar(select(select(table).exists())) for table in tables)


def _take(database) -> list[tuple[Table, list[dict]]]:
    snapshot = []
    with database.engine.connect() as connection:
        for table in database.metadata.sorted_tables:
            rows = [dict(row) for row in connection.execute(table.select()).mappings()]
            if rows:
                snapshot.append((table, rows))
    return snapshot


def _advance_sequences(connection, table: Table) -> None:
    """PostgreSQL does not move a sequence past ids inserted explicitly: move it to the largest."""
    for column in table.primary_key.columns:
        if not column.autoincrement or column.type.python_type is not int:
            continue
        sequence = connection.scalar(text("SELECT pg_get_serial_sequence(:t, :c)"), {"t": table.name, "c": column.name})
        if sequence:
            largest = connection.scalar(select(func.max(column)))
            connection.execute(text("SELECT setval(:s, :v)"), {"s": sequence, "v": largest})
