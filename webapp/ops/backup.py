"""Logical backups: ``flask --app webapp backup -o FILE`` and ``flask --app webapp restore FILE``.

An archive is gzip-compressed JSON lines, readable by any backend:

* a header ``{"format": "sonla-backup", "version": 1, "revision": …, "rows": {table: n}}``;
* for every table, in foreign-key order, ``{"table": name, "columns": [...]}`` followed by one
  JSON array per row (dates, times and UUIDs as ISO/text strings);
* a trailer ``{"end": true, "rows": {...}}``, so a truncated file is recognised and refused.

Rows are streamed in both directions, so a million responses never sit in memory at once.
A restore needs a database migrated to the same Alembic revision as the archive, runs in one
transaction (all or nothing) and resets PostgreSQL's sequences afterwards.
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import sys
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from decimal import Decimal
from pathlib import Path
from typing import IO, Any

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Float,
    LargeBinary,
    Numeric,
    Table,
    Time,
    Uuid,
    bindparam,
    func,
    inspect,
    select,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.types import TypeDecorator, TypeEngine

from surveys.registry_cache import clear
from webapp.extensions import db

FORMAT = "sonla-backup"
VERSION = 1
#: Rows fetched from the database, and inserted into it, per round trip.
BATCH = 2000
#: How long a restore waits for the running application to release a table.
LOCK_TIMEOUT_SECONDS = 30
#: Longest line (in characters) a restore reads. The longest a backup writes is a questionnaire's
#: snapshot or a publication's summary, tens of kilobytes; a longer line is a damaged or hostile
#: file, refused before it fills the memory (a 300 KB gzip can hold a 100 MB line).
MAX_LINE_CHARS = 4 * 1024 * 1024
#: Largest decompressed archive (in characters) against the compressed file: JSON lines compress
#: some 10 to 30 times; a far higher ratio is a gzip bomb. Never less than MIN_TOTAL_CHARS.
MAX_EXPANSION = 200
MIN_TOTAL_CHARS = 1024 * 1024 * 1024


class BackupError(click.ClickException):
    """A backup or restore that cannot go on; nothing was written to the database."""


# --- values --------------------------------------------------------------------------------


def _kind(column_type: TypeEngine) -> str:
    """How a column's values are written to JSON and read back."""
    if isinstance(column_type, TypeDecorator):
        column_type = column_type.impl_instance
    checks: tuple[tuple[type, str], ...] = (
        (DateTime, "datetime"),
        (Date, "date"),
        (Time, "time"),
        (Uuid, "uuid"),
        (JSON, "json"),
        (LargeBinary, "bytes"),
        (Float, "plain"),
        (Numeric, "decimal"),
    )
    for sql_type, kind in checks:
        if isinstance(column_type, sql_type):
            return kind
    return "plain"


#: Wraps a JSON document that would otherwise read as SQL NULL (`null`) or as a wrapper itself.
JSON_WRAPPER = "$json"


def _wrap_json(document: Any) -> Any:
    """A JSON column's document (not SQL NULL) as written to the archive."""
    if document is None or (isinstance(document, dict) and set(document) == {JSON_WRAPPER}):
        return {JSON_WRAPPER: document}
    return document


def _encode(kind: str, value: Any) -> Any:
    if value is None or kind in ("plain", "json"):
        return value
    if kind == "bytes":
        return base64.b64encode(value).decode("ascii")
    if kind in ("decimal", "uuid"):
        return str(value)
    return value.isoformat()


def _decode(kind: str, value: Any) -> Any:
    if value is None or kind == "plain":
        return value
    if kind == "json":
        if isinstance(value, dict) and set(value) == {JSON_WRAPPER}:
            value = value[JSON_WRAPPER]
            # The JSON document `null`, as distinct from SQL NULL.
            return JSON.NULL if value is None else value
        return value
    decoders: dict[str, Callable[[str], Any]] = {
        "datetime": datetime.fromisoformat,
        "date": date.fromisoformat,
        "time": time.fromisoformat,
        "uuid": uuid.UUID,
        "decimal": Decimal,
        "bytes": base64.b64decode,
    }
    return decoders[kind](value)


# --- the schema ------------------------------------------------------------------------------


def tables() -> list[Table]:
    """Every application table, parents before children."""

    return list(db.metadata.sorted_tables)


def schema_revision(connection: Connection) -> str:
    """The Alembic revision the database is at; refuse a database that was never migrated."""
    if not inspect(connection).has_table("alembic_version"):
        raise BackupError("the database has no schema yet: run `flask --app webapp db upgrade` first")
    revisions = sorted(connection.execute(text("SELECT version_num FROM alembic_version")).scalars())
    if not revisions:
        raise BackupError("the database has no schema revision: run `flask --app webapp db upgrade` first")
    return ",".join(revisions)


def row_counts(connection: Connection) -> dict[str, int]:
    return {table.name: connection.execute(select(func.count()).select_from(table)).scalar_one() for table in tables()}


# --- backup ----------------------------------------------------------------------------------


def _dump_line(handle: IO[str], document: Any) -> None:
    handle.write(json.dumps(document, ensure_ascii=False, separators=(",", ":")))
    handle.write("\n")


def _snapshot(engine: Engine) -> Connection:
    """A connection that sees one consistent state of the database while the backup reads."""
    if engine.dialect.name == "postgresql":
        return engine.connect().execution_options(isolation_level="REPEATABLE READ", postgresql_readonly=True)
    connection = engine.connect()
    # pysqlite starts transactions only before writes; this one must hold a read snapshot.
    connection.exec_driver_sql("BEGIN")
    return connection


def write_backup(engine: Engine, output: Path, progress: Callable[[int], None] | None = None) -> dict[str, int]:
    """Write every table to ``output`` and return the number of rows of each table.

    The archive is written beside ``output`` and renamed at the end, so an interrupted
    backup never leaves a file that looks complete.
    """
    partial = output.with_name(output.name + ".partial")
    with _snapshot(engine) as connection:
        revision = schema_revision(connection)
        counts = row_counts(connection)
        with gzip.open(partial, "wt", encoding="utf-8", compresslevel=6) as handle:
            _dump_line(
                handle,
                {
                    "format": FORMAT,
                    "version": VERSION,
                    "revision": revision,
                    "dialect": engine.dialect.name,
                    "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
                    "rows": counts,
                },
            )
            written: dict[str, int] = {}
            for table in tables():
                written[table.name] = _dump_table(connection, table, handle, progress)
            _dump_line(handle, {"end": True, "rows": written})
    if written != counts:  # pragma: no cover - the snapshot makes this impossible
        partial.unlink(missing_ok=True)
        raise BackupError("the database changed while it was read; try again")
    os.replace(partial, output)
    return written


def _dump_table(connection: Connection, table: Table, handle: IO[str], progress: Callable[[int], None] | None) -> int:
    columns = list(table.columns)
    kinds = [_kind(column.type) for column in columns]
    _dump_line(handle, {"table": table.name, "columns": [column.name for column in columns]})
    order = list(table.primary_key.columns) or columns
    # JSON columns read None for both SQL NULL and the document `null`: ask which it is.
    documents = [index for index, kind in enumerate(kinds) if kind == "json"]
    is_null = [columns[index].is_(None) for index in documents]
    result = connection.execution_options(yield_per=BATCH).execute(select(*columns, *is_null).order_by(*order))
    width = len(columns)
    written = 0
    for partition in result.partitions():
        for row in partition:
            cells = [_encode(kind, value) for kind, value in zip(kinds, row[:width], strict=True)]
            for flag, index in enumerate(documents):
                if not row[width + flag]:
                    cells[index] = _wrap_json(cells[index])
            _dump_line(handle, cells)
        written += len(partition)
        if progress:
            progress(len(partition))
    return written


# --- restore ---------------------------------------------------------------------------------


@dataclass
class Archive:
    """An open archive: its header, then its lines one at a time."""

    header: dict[str, Any]
    lines: Iterator[Any]


def max_total_chars(archive_file: Path) -> int:
    """How much text the archive at ``archive_file`` may expand to before it is refused."""
    return max(MIN_TOTAL_CHARS, MAX_EXPANSION * archive_file.stat().st_size)


def _bounded_lines(handle: IO[str], max_total: int | None) -> Iterator[tuple[int, str]]:
    """``(number, line)`` of ``handle``, never reading more than :data:`MAX_LINE_CHARS` for one line.

    A line over the limit, or more than ``max_total`` characters in all, raises :class:`BackupError`
    as soon as it is seen: the memory used stays near one line's limit whatever the file holds.
    """
    total = 0
    number = 0
    while True:
        number += 1
        line = handle.readline(MAX_LINE_CHARS + 1)
        if not line:
            return
        if len(line) > MAX_LINE_CHARS:
            raise BackupError(
                f"line {number} of the archive is too long (over {MAX_LINE_CHARS // (1024 * 1024)} MiB): "
                "the file is damaged or not a backup of this application; nothing was restored"
            )
        total += len(line)
        if max_total is not None and total > max_total:
            raise BackupError(
                f"the archive expands to more than {max_total:,} characters: the file is damaged or not a backup "
                "of this application; nothing was restored"
            )
        yield number, line


def open_archive(handle: IO[str], max_total: int | None = None) -> Archive:
    """Read and check the header of an archive opened with :func:`gzip.open` in text mode.

    Lines are read one at a time with a size limit (:func:`_bounded_lines`); ``max_total``
    (characters, see :func:`max_total_chars`) bounds the whole archive.
    """
    lines = _bounded_lines(handle, max_total)

    def documents() -> Iterator[Any]:
        for number, line in lines:
            try:
                yield json.loads(line)
            except ValueError:
                raise BackupError(f"line {number} of the archive is not valid JSON; the file is damaged") from None

    try:
        first = next(lines, (1, ""))[1]
        header = json.loads(first) if first else None
    except (OSError, EOFError, ValueError, UnicodeDecodeError):
        raise BackupError("this file is not a backup archive (expected gzip-compressed JSON lines)") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise BackupError("this file is not a backup archive of this application")
    if header.get("version") != VERSION:
        raise BackupError(f"archive format version {header.get('version')!r} is not supported (expected {VERSION})")
    return Archive(header, documents())


def _is_empty(connection: Connection) -> bool:
    return not any(connection.execute(select(table).limit(1)).first() for table in tables())


def _empty(connection: Connection) -> None:
    if connection.dialect.name == "postgresql":
        names = ", ".join(connection.dialect.identifier_preparer.quote(t.name) for t in tables())
        connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        return
    for table in reversed(tables()):
        # SQLite enforces ON DELETE RESTRICT row by row: unlink a tree before deleting it.
        unlinked = {name: None for name in _self_references(table) if table.c[name].nullable}
        if unlinked:
            connection.execute(table.update().values(unlinked))
        connection.execute(table.delete())


def _self_references(table: Table) -> set[str]:
    """Columns pointing at their own table: restored NULL first, set once every row exists."""
    return {fk.parent.name for fk in table.foreign_keys if fk.column.table is table}


def _insert_statement(table: Table, names: list[str]):
    values = {}
    for name in names:
        column_type = table.c[name].type
        if _kind(column_type) == "json":
            # None in the archive is SQL NULL, not the JSON document `null`.
            column_type = JSON(none_as_null=True).with_variant(JSONB(none_as_null=True), "postgresql")
        values[name] = bindparam(f"v_{name}", type_=column_type)
    return table.insert().values(values)


def _restore_table(
    connection: Connection, archive: Archive, marker: dict[str, Any], progress: Callable[[int], None] | None
) -> tuple[str, int, dict[str, Any] | None]:
    """Insert the rows after ``marker``; return the table, its row count and the next marker."""

    name = marker["table"]
    table = db.metadata.tables.get(name)
    if table is None:
        raise BackupError(f"the archive has a table {name!r} this version of the application does not know")
    names = marker["columns"]
    unknown = [column for column in names if column not in table.c]
    if unknown:
        raise BackupError(f"the archive's table {name!r} has unknown columns: {', '.join(unknown)}")
    kinds = [_kind(table.c[column].type) for column in names]
    deferred = _self_references(table) & set(names)
    statement = _insert_statement(table, names)
    later: list[tuple[dict[str, Any], str, Any]] = []
    batch: list[dict[str, Any]] = []
    count = 0

    def flush() -> None:
        if batch:
            connection.execute(statement, batch)
            if progress:
                progress(len(batch))
            batch.clear()

    next_marker = None
    for document in archive.lines:
        if not isinstance(document, list):
            next_marker = document
            break
        if len(document) != len(names):
            raise BackupError(f"a row of table {name!r} has {len(document)} values, expected {len(names)}")
        row = {f"v_{column}": _decode(kind, value) for column, kind, value in zip(names, kinds, document, strict=True)}
        for column in deferred:
            if row[f"v_{column}"] is not None:
                key = {c.name: row[f"v_{c.name}"] for c in table.primary_key.columns}
                later.append((key, column, row[f"v_{column}"]))
                row[f"v_{column}"] = None
        batch.append(row)
        count += 1
        if len(batch) >= BATCH:
            flush()
    flush()
    for key, column, value in later:
        condition = [table.c[name] == part for name, part in key.items()]
        connection.execute(table.update().where(*condition).values({column: value}))
    return name, count, next_marker


def _reset_sequences(connection: Connection) -> None:
    """Make PostgreSQL's next ids follow the restored ones."""
    if connection.dialect.name != "postgresql":
        return
    for table in tables():
        keys = list(table.primary_key.columns)
        if len(keys) != 1 or keys[0].foreign_keys:
            continue
        sequence = connection.execute(
            text("SELECT pg_get_serial_sequence(:table, :column)"), {"table": table.name, "column": keys[0].name}
        ).scalar()
        if sequence:
            biggest = func.max(keys[0])
            connection.execute(select(func.setval(sequence, func.coalesce(biggest, 1), biggest.is_not(None))))


def restore_backup(
    engine: Engine, archive: Archive, force: bool = False, progress: Callable[[int], None] | None = None
) -> dict[str, int]:
    """Load ``archive`` into the database in one transaction; return the rows per table."""
    with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Fail with a message, rather than wait for ever, while the running site holds locks.
            connection.execute(text(f"SET LOCAL lock_timeout = '{LOCK_TIMEOUT_SECONDS}s'"))
        revision = schema_revision(connection)
        if archive.header.get("revision") != revision:
            raise BackupError(
                f"the archive is of schema revision {archive.header.get('revision')}, the database is at {revision}; "
                "restore into a database migrated to the archive's revision"
            )
        if not _is_empty(connection):
            if not force:
                raise BackupError("the database is not empty; use --force to replace all of its data with the archive")
            _empty(connection)
        restored: dict[str, int] = {}
        marker = next(archive.lines, None)
        while isinstance(marker, dict) and "table" in marker:
            name, count, marker = _restore_table(connection, archive, marker, progress)
            restored[name] = count
        if not (isinstance(marker, dict) and marker.get("end")):
            raise BackupError("the archive ends early: it is incomplete or damaged; nothing was restored")
        if marker.get("rows") != restored:
            raise BackupError("the archive's row counts do not match its rows; nothing was restored")
        _reset_sequences(connection)
    return restored


# --- commands ----------------------------------------------------------------------------------


def _summary(counts: dict[str, int]) -> str:
    busy = ", ".join(f"{name} {count:,}" for name, count in counts.items() if count)
    return f"{sum(counts.values()):,} rows in {len(counts)} tables" + (f" ({busy})" if busy else "")


@click.command("backup")
@with_appcontext
@click.option(
    "-o",
    "--output",
    required=True,
    type=click.Path(dir_okay=False, writable=True, path_type=Path),
    help="Archive to write, e.g. sonla-2026-07-01.jsonl.gz.",
)
def backup_command(output: Path) -> None:
    """Write every table to a compressed archive that `restore` reads back (SQLite or PostgreSQL)."""

    if not output.parent.is_dir():
        raise BackupError(f"the folder {output.parent} does not exist")
    with db.engine.connect() as connection:
        schema_revision(connection)
        total = sum(row_counts(connection).values())
    with click.progressbar(length=total, label="Backing up", file=sys.stderr) as bar:
        counts = write_backup(db.engine, output, progress=bar.update)
    click.echo(f"Backup written to {output}: {_summary(counts)}.")


@click.command("restore")
@with_appcontext
@click.argument("archive_file", metavar="FILE", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--force", is_flag=True, help="Replace all data of a database that is not empty.")
def restore_command(archive_file: Path, force: bool) -> None:
    """Load an archive written by `backup` into a migrated database, in one transaction."""

    with gzip.open(archive_file, "rt", encoding="utf-8") as handle:
        archive = open_archive(handle, max_total=max_total_chars(archive_file))
        total = sum(archive.header.get("rows", {}).values())
        with click.progressbar(length=total, label="Restoring", file=sys.stderr) as bar:
            try:
                counts = restore_backup(db.engine, archive, force=force, progress=bar.update)
            except (OSError, EOFError, ValueError, TypeError, KeyError):
                raise BackupError("the archive is damaged or incomplete; nothing was restored") from None
            except OperationalError as error:
                raise BackupError(
                    f"the database is busy or unreachable ({error.orig}); stop the application and try again; "
                    "nothing was restored"
                ) from None
            except IntegrityError as error:
                raise BackupError(
                    f"the archive's rows break a database constraint ({error.orig}); nothing was restored"
                ) from None
    clear()
    click.echo(f"Restored from {archive_file}: {_summary(counts)}.")


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
