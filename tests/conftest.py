"""Fixtures shared by the whole suite.

Database tests run once on SQLite and, when ``TEST_DATABASE_URL`` is set, again on
PostgreSQL: the session-scoped ``app`` fixture is parametrised by backend. Each backend's
schema is built by running the Alembic migrations, as production does. After every test,
every table is emptied, so tests never see each other's rows (and concurrency tests, which
need committed rows, work the same way as the rest).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from flask import Flask
from flask.testing import FlaskClient
from hypothesis import settings
from sqlalchemy import create_engine, event, select, text, update
from werkzeug.security import generate_password_hash

REPO = Path(__file__).resolve().parent.parent
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _compile_catalogs() -> None:
    """Build the .mo files from the .po files, as ``make install`` does, when they are stale."""
    for po_path in (REPO / "webapp" / "translations").glob("*/LC_MESSAGES/messages.po"):
        mo_path = po_path.with_suffix(".mo")
        if mo_path.exists() and mo_path.stat().st_mtime >= po_path.stat().st_mtime:
            continue
        with po_path.open("rb") as handle:
            catalog = read_po(handle)
        with mo_path.open("wb") as handle:
            write_mo(handle, catalog)


_compile_catalogs()

# The same examples on every run: CI must not fail on one machine and pass on the next.
# Run with HYPOTHESIS_PROFILE=explore to search new random examples locally.
settings.register_profile("default", derandomize=True, deadline=None)
settings.register_profile("explore", derandomize=False, deadline=None, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


def add_dossier_counts(unit_code: str, service_code: str, counts: dict[str, int] | int) -> None:
    """Import dossier (transaction) counts: ``{quarter label: count}``, or one count for the current quarter."""
    from webapp.extensions import db
    from webapp.models import Service, TransactionCount, Unit, utcnow
    from webapp.periods import Period

    if isinstance(counts, int):
        counts = {Period.quarter_of(utcnow()).label: counts}
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    service = db.session.scalar(select(Service).where(Service.code == service_code))
    for period, count in counts.items():
        db.session.add(TransactionCount(period=period, unit=unit, service=service, count=count, source="test"))
    db.session.commit()


def complete_online_answers(service_code: str = "land", rating: int = 4) -> tuple[str, dict]:
    """``(instrument code, answers)``: every required item of the service's questionnaire answered.

    Ratings alternate between ``rating`` and ``rating + 1``: a straight line of equal answers
    would be flagged for its own reason.
    """
    from surveys import definitions
    from webapp.extensions import db
    from webapp.models import Service

    service = db.session.scalar(select(Service).where(Service.code == service_code))
    definition = definitions.latest_instruments()[service.instrument_code]
    answers = {}
    for index, item in enumerate(definition.items):
        if item.required:
            values = list(item.option_values)
            wanted = rating + index % 2
            answers[item.code] = wanted if wanted in values else values[0]
    return service.instrument_code, answers


def require_rscript() -> None:
    """R's ``survey`` checks need Rscript: skipped locally without it, a failure in CI."""
    import shutil

    if shutil.which("Rscript") is None:
        if IN_CI:
            pytest.fail("CI=true but Rscript is missing: .ci/run installs r-base-core and r-cran-survey")
        pytest.skip("R is not installed (apt-get install -y r-base-core r-cran-survey)")


def backends() -> list[str]:
    names = ["sqlite"]
    if os.environ.get("TEST_DATABASE_URL"):
        names.append("postgresql")
    elif IN_CI:
        raise pytest.UsageError("CI=true but TEST_DATABASE_URL is not set: PostgreSQL tests may not be skipped in CI")
    return names


def reset_postgresql(url: str) -> None:
    """Drop everything in the test database so migrations start from nothing."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("DROP SCHEMA public CASCADE"))
        connection.execute(text("CREATE SCHEMA public"))
    engine.dispose()


#: ``gw0``, ``gw1``… in a pytest-xdist worker (``make test`` runs the suite in one per core), else ``None``.
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def database_url_for(backend: str, tmp_dir: Path) -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp_dir / 'test.sqlite3'}"
    url = os.environ["TEST_DATABASE_URL"]
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    if WORKER:
        url = worker_database(url, WORKER)
    reset_postgresql(url)
    return url


def worker_database(url: str, worker: str) -> str:
    """``url`` with a database of the worker's own (``test_gw1``), made when missing: workers
    running side by side must not empty each other's tables."""
    from sqlalchemy.engine import make_url

    given = make_url(url)
    name = f"{given.database}_{worker}"
    engine = create_engine(given, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        if not connection.scalar(text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}):
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    engine.dispose()
    return given.set(database=name).render_as_string(hide_password=False)


class IsolatedClient(FlaskClient):
    """A test client whose every request gets its own app context, as under a real server.

    Tests hold an app context for their database session; without this, requests would
    reuse it and share ``g`` (the cached locale, the signed-in user) with each other.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)


def make_app(database_url: str, **settings) -> Flask:
    """The application with ``TestConfig`` pointed at ``database_url``."""
    from webapp import create_app
    from webapp.config import TestConfig

    # Kiosk opening hours would make kiosk tests depend on the hour the suite runs; tests of
    # the ``outside_hours`` flag set them explicitly.
    settings.setdefault("KIOSK_OPENING_HOURS", (0, 24))
    config = type("BoundTestConfig", (TestConfig,), {"SQLALCHEMY_DATABASE_URI": database_url, **settings})
    app = create_app(config)
    app.test_client_class = IsolatedClient
    return app


def migrate_database(app: Flask) -> None:
    from flask_migrate import upgrade

    with app.app_context():
        upgrade(directory=str(REPO / "migrations"))


def pytest_configure(config) -> None:
    config.addinivalue_line(
        "markers", "postgresql_only: run only with the PostgreSQL backend (deselected, not skipped, on SQLite)"
    )


def pytest_collection_modifyitems(config, items) -> None:
    """Leave out the SQLite run of tests marked ``postgresql_only`` (deselected rather than skipped);
    under pytest-xdist, keep together what shares an expensive fixture (see :func:`xdist_group`)."""
    kept, dropped = [], []
    grouping = config.pluginmanager.hasplugin("xdist")
    for item in items:
        callspec = getattr(item, "callspec", None)
        backend = callspec.params.get("backend") if callspec else None
        if item.get_closest_marker("postgresql_only") and backend != "postgresql":
            dropped.append(item)
            continue
        kept.append(item)
        if grouping:
            item.add_marker(pytest.mark.xdist_group(xdist_group(item, backend)))
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.hookimpl(wrapper=True)
def pytest_collection_finish(session):
    """Browser tests first: they are the longest group, and a group started last leaves the other
    workers idle while it runs. (After pytest's own ordering, which groups tests by backend.)"""
    session.items.sort(key=lambda item: not item.get_closest_marker("browser"))
    return (yield)


def xdist_group(item, backend: str | None) -> str:
    """The worker group of a test (``--dist loadgroup`` runs a group on one worker, in order).

    A module's tests of one backend go together, so a module fixture (a seeded, published demo
    database) is built once; all browser tests go together, so one live server and one Chromium
    serve them.
    """
    if item.get_closest_marker("browser"):
        return "browser"
    return f"{item.module.__name__}[{backend or 'any'}]"


@pytest.fixture(scope="session", params=backends())
def backend(request) -> str:
    return request.param


@pytest.fixture(scope="session")
def app(backend: str, tmp_path_factory) -> Iterator[Flask]:
    """The application on a freshly migrated database of the current backend."""
    url = database_url_for(backend, tmp_path_factory.mktemp(f"db-{backend}"))
    application = make_app(url)
    migrate_database(application)
    yield application
    from webapp.extensions import db

    with application.app_context():
        db.engine.dispose()


@pytest.fixture()
def db(app: Flask):
    """The database session inside an app context; every table is emptied afterwards."""
    from webapp.extensions import db as database

    with app.app_context():
        yield database
        database.session.rollback()
        database.session.remove()
        empty_all_tables(database)


def empty_all_tables(database) -> None:
    """Remove every row (self-referencing units included) and restart identities."""
    from surveys.registry_cache import clear

    clear()
    tables = database.metadata.sorted_tables
    engine = database.engine
    if engine.dialect.name == "postgresql":
        left_open = end_open_transactions(engine)
        with engine.begin() as connection:
            names = ", ".join(table.name for table in tables)
            connection.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
        if left_open:
            pytest.fail(f"a connection was left inside a transaction, which would block the next test: {left_open}")
        return
    with engine.connect() as connection:
        # pysqlite opens its transaction at the first DELETE, so the PRAGMA applies to it.
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        for table in reversed(tables):
            connection.execute(table.delete())
        connection.commit()
        connection.exec_driver_sql("PRAGMA foreign_keys=ON")
        connection.commit()


def end_open_transactions(engine) -> list[str]:
    """The last statements of other connections to the test database still inside a transaction,
    after ending those connections: a transaction left open (a session never closed, a result
    never read to its end) holds locks that would make the next TRUNCATE wait for ever."""
    with engine.connect() as connection:
        rows = connection.execute(
            text(
                "SELECT pg_terminate_backend(pid), left(query, 200) FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
                " AND state LIKE 'idle in transaction%'"
            )
        ).all()
    return [query for _, query in rows]


@pytest.fixture()
def client(app: Flask, db):
    """A test client; rate-limit counters start from zero for every test."""
    from webapp.extensions import limiter

    limiter.reset()
    return app.test_client()


@pytest.fixture()
def runner(app: Flask, db):
    return app.test_cli_runner()


# --- collection fixtures shared by the packages' tests --------------------------------------


@pytest.fixture()
def registry(app, db):
    """The registry, instruments and indicators of ``webapp/registry/data``, as ``flask registry load`` leaves them."""
    from tests.registry_rows import load_registry

    load_registry(db)


@pytest.fixture()
def unit_by_code(db, registry):
    from webapp.models import Unit

    def find(code: str):
        return db.session.scalar(select(Unit).where(Unit.code == code))

    return find


@pytest.fixture()
def make_device(db, unit_by_code):
    """``make_device(unit_code="sl-ttpvhcc", counter="Quầy 1", since=None) -> (device, key)``.

    The device is approved and in service since ``since`` (default: 2012, like the demo's), so
    that ratings dated in any test's past are plausible; tests of backdating pass a recent ``since``.
    """
    from surveys.devices import create_device

    def make(unit_code: str = "sl-ttpvhcc", counter: str = "Quầy 1", since: datetime | None = None):
        new = create_device(unit_by_code(unit_code), counter)
        since = since or datetime(2012, 1, 1, tzinfo=UTC)
        new.device.created_at = new.device.approved_at = new.device.contact_floor_at = since
        db.session.commit()
        return new.device, new.key

    return make


@contextmanager
def sql_statements(engine) -> Iterator[list[str]]:
    """The SQL statements sent to ``engine`` inside the block (to show a page's count does not grow)."""
    seen: list[str] = []

    def record(connection, cursor, statement, parameters, context, executemany):
        seen.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@contextmanager
def loaded_rows(model, attribute: str = "id") -> Iterator[list]:
    """``attribute`` of every ``model`` row loaded from the database inside the block (any session)."""
    seen: list = []

    def record(target, context):
        seen.append(getattr(target, attribute))

    event.listen(model, "load", record)
    try:
        yield seen
    finally:
        event.remove(model, "load", record)


def store_ratings(
    unit: str = "sl-ttpvhcc",
    service: str = "land",
    *,
    overall: int = 5,
    satisfied: int | None = None,
    count: int = 1,
    channel: str | None = None,
    start: datetime | None = None,
    every: timedelta = timedelta(minutes=7),
    now: datetime | None = None,
    device=None,
    mode: str = "self",
    language: str = "vi",
    comment: str | None = None,
) -> list[int]:
    """Store ``count`` ``counter-quick`` ratings through the real submission path; their response ids.

    - ``overall``: every rating's answer; or, with ``satisfied``, the first ``satisfied`` ratings
      answer 5 (satisfied) and the rest 1 (not satisfied).
    - ``channel``: ``kiosk`` with a ``device``, ``online`` without, unless given.
    - ``start``: the first answer time (default: the last one is five minutes ago); each next
      rating is answered ``every`` later. The server receives them all at ``now`` (default: a
      minute after the last answer), and dates the ratings without a device at ``now`` itself.
    - ``comment``: written to every stored row afterwards *without* masking, as an old row might
      hold it: pages that show comments must mask them again.
    """
    from surveys.submission import Submission, submit_response
    from webapp.extensions import db
    from webapp.models import Response

    if satisfied is not None and not 0 <= satisfied <= count:
        raise ValueError(f"satisfied={satisfied} is not between 0 and count={count}")
    if start is None:
        start = datetime.now(UTC) - timedelta(minutes=5) - every * (count - 1)
    if now is None:
        now = start + every * (count - 1) + timedelta(minutes=1)
    ids = []
    for i in range(count):
        answer = overall if satisfied is None else (5 if i < satisfied else 1)
        stored = submit_response(
            Submission(
                client_id=uuid.uuid4(),
                instrument_code="counter-quick",
                unit_code=unit,
                service_code=service,
                channel=channel or ("kiosk" if device is not None else "online"),
                answers={"overall": answer},
                answered_at=start + every * i,
                device=device,
                mode=mode,
                language=language,
            ),
            now=now,
        )
        ids.append(stored.response_id)
    if comment is not None:
        db.session.execute(update(Response).where(Response.id.in_(ids)).values(comment=comment))
    db.session.commit()
    return ids


@pytest.fixture()
def rate(db, registry):
    """The :func:`store_ratings` factory: ``rate(unit, service, *, overall=5, count=1, ...) -> [response id]``."""
    return store_ratings


@pytest.fixture()
def kiosk_body():
    """A valid kiosk submission body; pass overrides as keyword arguments."""

    def body(**overrides):
        document = {
            "client_id": str(uuid.uuid4()),
            "instrument": "counter-quick",
            "unit": "sl-ttpvhcc",
            "service": "land",
            "channel": "kiosk",
            "answers": {"overall": 5},
            "reasons": ["on_time", "staff_attitude"],
            "answered_at": datetime.now(UTC).isoformat(),
            "duration_seconds": 6,
        }
        document.update(overrides)
        return document

    return body


# --- staff accounts ---------------------------------------------------------------------------

#: The password of every account made by ``make_user``.
STAFF_PASSWORD = "correct horse battery staple"  # noqa: S105 (tests only)
#: Its hash, made once with a small scrypt cost: a stored hash names its own cost, so signing in
#: checks it through the same code as a production hash, in milliseconds instead of a fifth of
#: a second (hundreds of tests sign in). Passwords set through the app use ``PASSWORD_METHOD``.
STAFF_PASSWORD_HASH = generate_password_hash(STAFF_PASSWORD, method="scrypt:1024:8:1")
_CSRF = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')


def csrf_from(response) -> str:
    """The CSRF token of the first form of an HTML answer."""
    match = _CSRF.search(response.get_data(as_text=True))
    assert match, "no CSRF token in the page"
    return match.group(1)


@pytest.fixture()
def make_user(db, registry):
    """``make_user(role="admin", unit_code=None, *, email=None, totp=True) -> User``.

    The account is ready to use: its password is :data:`STAFF_PASSWORD`, it need not be
    changed, and (with ``totp``) a second factor is set up, as the rules require for admins.
    """
    import pyotp

    from webapp.models import Unit, User

    counter = iter(range(1, 10_000))

    def make(role: str = "admin", unit_code: str | None = None, *, email: str | None = None, totp: bool = True):
        unit = db.session.scalar(select(Unit).where(Unit.code == unit_code)) if unit_code else None
        user = User(
            email=email or f"{role}-{unit_code or 'all'}-{next(counter)}@sonla.gov.vn",
            password_hash=STAFF_PASSWORD_HASH,
            role=role,
            unit=unit,
            must_change_password=False,
            totp_secret=pyotp.random_base32() if totp else None,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


def next_totp_code(user) -> str:
    """A TOTP code the app accepts now for ``user`` (never one already used)."""
    import time

    import pyotp

    from webapp.extensions import db

    db.session.refresh(user)
    totp = pyotp.TOTP(user.totp_secret)
    step = int(time.time() // totp.interval)
    if user.totp_last_step is not None and step <= user.totp_last_step:
        step = user.totp_last_step + 1
    return totp.at(step * totp.interval)


@pytest.fixture()
def sign_in(client):
    """``sign_in(user, client=client)`` signs in through the real forms (password, then code)."""

    def do(user, http=None):
        http = http or client
        page = http.get("/auth/login")
        answer = http.post(
            "/auth/login", data={"csrf_token": csrf_from(page), "email": user.email, "password": STAFF_PASSWORD}
        )
        assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
        if user.totp_secret:
            page = http.get("/auth/code")
            answer = http.post("/auth/code", data={"csrf_token": csrf_from(page), "code": next_totp_code(user)})
            assert answer.status_code == 302, answer.get_data(as_text=True)[:500]
        return http

    return do


@pytest.fixture()
def admin_client(make_user, sign_in, client):
    """A client signed in as an administrator (``client.admin`` is the account)."""
    user = make_user("admin")
    sign_in(user)
    client.admin = user
    return client


def valid_csrf_token(app: Flask, http) -> str:
    """A CSRF token the app accepts for ``http``'s session, without loading a form first.

    For tests of access rules: a refusal must then come from the rule, not from a missing token.
    """
    import secrets

    from itsdangerous import URLSafeTimedSerializer

    raw = secrets.token_hex(20)
    with http.session_transaction() as session:
        session["csrf_token"] = raw
    return URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token").dumps(raw)
