"""Faults and recovery, against real gunicorn processes.

* A worker killed (SIGKILL) in the middle of a submission load: every response the clients
  sent, retrying on errors with the same ``client_id``, is stored exactly once.
* PostgreSQL stopped during the load (a private cluster, never the shared server): the app
  answers a clear 503 (page and JSON) while it is down and recovers by itself once it is back.
* Many writers on one SQLite file through several workers: no "database is locked", no 5xx.
* Without any server: a database that cannot be reached gives the 503 page in both languages.

These tests must run in CI: a missing PostgreSQL ``initdb`` fails them there instead of skipping.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import IN_CI, REPO, make_app, migrate_database

UNIT = "sl-ttpvhcc"


# --- helpers: a gunicorn server, HTTP clients with retries ------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def http(
    method: str, url: str, body: dict | None = None, headers: dict | None = None, timeout: float = 5.0
) -> tuple[int, bytes, dict]:
    """One request; (status, body, headers) whatever the status."""
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})}
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310 (a local test server)
            return answer.status, answer.read(), dict(answer.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


@dataclass
class Server:
    process: subprocess.Popen
    base: str
    log: Path

    def workers(self) -> list[int]:
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(pid) for pid in children.read_text().split()] if children.exists() else []

    def log_text(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@contextmanager
def gunicorn(database_url: str, directory: Path, workers: int = 2, **env: str) -> Iterator[Server]:
    """gunicorn with the project's gunicorn.conf.py on a free port, stopped afterwards."""
    port = free_port()
    log = directory / f"gunicorn-{port}.log"
    environment = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": database_url,
        "SECRET_KEY": "fault-tests",
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": "4",
        "GUNICORN_ACCESS_LOG": "",
        "LOG_FORMAT": "json",
        **env,
    }
    with log.open("w") as output:
        process = subprocess.Popen(  # noqa: S603
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=REPO,
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    server = Server(process, f"http://127.0.0.1:{port}", log)
    try:
        deadline = time.monotonic() + 40
        while True:
            if process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{server.log_text()[-3000:]}")
            try:
                if http("GET", server.base + "/healthz", timeout=2)[0] == 200 and len(server.workers()) == workers:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn did not start:\n{server.log_text()[-3000:]}")
            time.sleep(0.2)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def kiosk_body(client_id: str) -> dict:
    return {
        "client_id": client_id,
        "instrument": "counter-quick",
        "unit": UNIT,
        "service": "land",
        "channel": "kiosk",
        "answers": {"overall": 2},
        "reasons": [],
        "answered_at": datetime.now(UTC).isoformat(),
        "duration_seconds": 5,
    }


@dataclass
class Outcome:
    """What one simulated kiosk saw."""

    acknowledged: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    statuses: list[int] = field(default_factory=list)
    #: Ratings the server reported as already stored (expected only after a failed attempt).
    duplicates: list[str] = field(default_factory=list)


def kiosk(
    base: str,
    key: str,
    client_ids: list[str],
    outcome: Outcome,
    deadline: float,
    pace: float = 0.0,
    started: threading.Event | None = None,
    timeout: float = 5.0,
) -> None:
    """Send each rating until it is acknowledged, retrying errors and timeouts with the same id."""
    for client_id in client_ids:
        attempt = 0
        while True:
            try:
                status, answer, _ = http(
                    "POST",
                    base + "/api/v1/responses",
                    kiosk_body(client_id),
                    {"X-Device-Key": key, "X-Retry-Attempt": str(attempt)},
                    timeout=timeout,
                )
            except OSError as error:  # connection reset by the killed worker, refused, timed out
                outcome.failures.append(type(error).__name__)
                status = None
            if status is not None:
                outcome.statuses.append(status)
            if status == 200:
                outcome.duplicates.append(f"{client_id} attempt {attempt}: {answer[:200]!r}")
            if status in (200, 201):
                outcome.acknowledged[client_id] = status
                break
            if status is not None and 400 <= status < 500 and status != 429:
                outcome.failures.append(f"refused {status}")
                return
            if time.monotonic() > deadline:
                outcome.failures.append("gave up")
                return
            attempt += 1
            time.sleep(min(0.05 * 2**attempt, 0.5))
        if started is not None:
            started.set()
        if pace:
            time.sleep(pace)


def run_kiosks(
    base: str,
    keys: list[str],
    per_kiosk: int,
    *,
    pace: float = 0.0,
    budget: float = 45.0,
    timeout: float = 5.0,
    during=None,
) -> tuple[list[str], list[Outcome]]:
    """Every key sends ``per_kiosk`` ratings from its own thread; ``during()`` runs meanwhile."""
    ids = [[str(uuid.uuid4()) for _ in range(per_kiosk)] for _ in keys]
    outcomes = [Outcome() for _ in keys]
    deadline = time.monotonic() + budget
    started = threading.Event()
    threads = [
        threading.Thread(target=kiosk, args=(base, key, mine, outcome, deadline, pace, started, timeout))
        for key, mine, outcome in zip(keys, ids, outcomes, strict=True)
    ]
    for thread in threads:
        thread.start()
    if during is not None:
        started.wait(20)
        during()
    for thread in threads:
        thread.join(budget + 30)
    return [client_id for mine in ids for client_id in mine], outcomes


def stored_counts(database_url: str) -> dict[str, int]:
    """client_id -> number of stored responses, and responses without their scores under ``"missing scores"``."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(text("SELECT client_id, COUNT(*) FROM responses GROUP BY client_id")).all()
            unscored = connection.execute(
                text(
                    "SELECT COUNT(*) FROM responses r WHERE NOT EXISTS "
                    "(SELECT 1 FROM response_scores s WHERE s.response_id = r.id)"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    counts = {str(uuid.UUID(str(client_id))): count for client_id, count in rows}
    counts["missing scores"] = unscored
    return counts


def assert_stored_exactly_once(database_url: str, client_ids: list[str], outcomes: list[Outcome]) -> None:
    acknowledged = {cid for outcome in outcomes for cid in outcome.acknowledged}
    problems = [
        failure for outcome in outcomes for failure in outcome.failures if failure.startswith(("refused", "gave"))
    ]
    assert not problems, problems
    assert acknowledged == set(client_ids), "every rating must be acknowledged in the end"
    counts = stored_counts(database_url)
    assert counts.pop("missing scores") == 0, "a response was stored without its scores"
    assert set(counts) == set(client_ids)
    assert counts and all(count == 1 for count in counts.values())


def prepare_database(database_url: str, devices: int, migrate: bool = True) -> list[str]:
    """Migrate (optionally), load the registry and register ``devices`` kiosks; return their keys."""
    from surveys.devices import create_device
    from surveys.registry_cache import clear
    from webapp.extensions import db
    from webapp.models import Unit
    from webapp.registry.loader import DATA_DIR
    from webapp.registry.service import load_everything

    application = make_app(database_url)
    if migrate:
        migrate_database(application)
    clear()
    with application.app_context():
        load_everything(DATA_DIR)
        unit = db.session.query(Unit).filter_by(code=UNIT).one()
        keys = [create_device(unit, f"Quầy {n + 1}").key for n in range(devices)]
        db.session.commit()
        db.session.remove()
        db.engine.dispose()
    clear()
    return keys


# --- a. a worker killed during the load ---------------------------------------------------------


def test_killing_a_worker_loses_and_duplicates_nothing(app, db, tmp_path):
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    keys = prepare_database(url, devices=6, migrate=False)
    with gunicorn(url, tmp_path, workers=2) as server:
        before = server.workers()
        killed: list[int] = []

        def kill_a_worker() -> None:
            time.sleep(0.3)  # the load is under way
            victim = server.workers()[0]
            os.kill(victim, signal.SIGKILL)
            killed.append(victim)

        client_ids, outcomes = run_kiosks(server.base, keys, per_kiosk=15, pace=0.02, during=kill_a_worker)
        deadline = time.monotonic() + 20
        while len(server.workers()) < 2 and time.monotonic() < deadline:
            time.sleep(0.2)
        after = server.workers()
    assert killed and killed[0] in before and killed[0] not in after and len(after) == 2, "the worker was replaced"
    assert not [s for o in outcomes for s in o.statuses if s >= 500]
    assert_stored_exactly_once(url, client_ids, outcomes)


# --- b. PostgreSQL stopped and started again during the load --------------------------------------


def _postgres_bin() -> Path | None:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    if found:
        return found[-1].parent
    on_path = shutil.which("initdb")
    return Path(on_path).parent if on_path else None


def _as_postgres(command: list[str]) -> list[str]:
    """initdb refuses to run as root: run the cluster as the postgres user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *command]
    return command


@dataclass
class Cluster:
    bin: Path
    data: Path
    port: int

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def ctl(self, *args: str) -> None:
        subprocess.run(
            _as_postgres([str(self.bin / "pg_ctl"), "-D", str(self.data), "-w", "-t", "30", *args]),  # noqa: S603
            check=True,
            capture_output=True,
            timeout=60,
        )

    def start(self) -> None:
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.data} -c fsync=off -c full_page_writes=off"
        self.ctl("-o", options, "-l", str(self.data / "server.log"), "start")

    def stop(self) -> None:
        self.ctl("-m", "fast", "stop")


@pytest.fixture()
def private_cluster() -> Iterator[Cluster]:
    """A throw-away PostgreSQL cluster on a free port; the shared server is never touched."""
    binaries = _postgres_bin()
    if binaries is None:
        if IN_CI:
            pytest.fail("PostgreSQL's initdb is not installed: the database restart test cannot run in CI")
        pytest.skip("PostgreSQL's initdb is not installed")
    root = Path(tempfile.mkdtemp(prefix="sonla-pg-"))
    data = root / "data"
    if os.geteuid() == 0:
        shutil.chown(root, "postgres")
        root.chmod(0o755)
    subprocess.run(
        _as_postgres(
            [
                str(binaries / "initdb"),
                "-D",
                str(data),
                "-U",
                "postgres",
                "--auth=trust",  # noqa: S603
                "-E",
                "UTF8",
                "--no-sync",
            ]
        ),
        check=True,
        capture_output=True,
        timeout=120,
    )
    cluster = Cluster(binaries, data, free_port())
    cluster.start()
    try:
        yield cluster
    finally:
        with suppress(subprocess.CalledProcessError):  # already stopped
            cluster.ctl("-m", "immediate", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_the_app_recovers_by_itself_after_a_database_restart(private_cluster, tmp_path):
    cluster = private_cluster
    keys = prepare_database(cluster.url, devices=4)
    seen_while_down: dict[str, tuple[int, bytes, dict]] = {}

    def restart_database() -> None:
        time.sleep(0.3)
        cluster.stop()
        probe = str(uuid.uuid4())
        seen_while_down["api"] = http(
            "POST",
            server.base + "/api/v1/responses",
            kiosk_body(probe),
            {"X-Device-Key": keys[0], "Accept-Language": "en"},
        )
        seen_while_down["page_vi"] = http("GET", server.base + "/")
        seen_while_down["page_en"] = http("GET", server.base + "/?lang=en")
        seen_while_down["health"] = http("GET", server.base + "/healthz")
        time.sleep(1.5)  # the clients keep retrying meanwhile
        cluster.start()

    with gunicorn(cluster.url, tmp_path, workers=2) as server:
        client_ids, outcomes = run_kiosks(server.base, keys, per_kiosk=12, pace=0.05, during=restart_database)
        after = http("GET", server.base + "/healthz")

    status, body, headers = seen_while_down["api"]
    assert status == 503 and headers["Content-Type"].startswith("application/json")
    assert json.loads(body)["error"]["title"] == "The service is briefly unavailable"
    status, body, headers = seen_while_down["page_vi"]
    assert status == 503 and headers["Content-Type"].startswith("text/html")
    assert "<h1>Hệ thống tạm thời gián đoạn</h1>" in body.decode()
    status, body, _ = seen_while_down["page_en"]
    assert status == 503 and "<h1>The service is briefly unavailable</h1>" in body.decode()
    assert "Reference for support" in body.decode()
    assert seen_while_down["health"][0] == 503
    assert after[0] == 200, "the app reconnects by itself"
    statuses = [s for o in outcomes for s in o.statuses]
    assert 503 in statuses or any(o.failures for o in outcomes), "the clients saw the outage"
    assert not [s for s in statuses if s >= 500 and s != 503], "only 503 while the database is down"
    assert_stored_exactly_once(cluster.url, client_ids, outcomes)


# --- c. many writers on one SQLite file -----------------------------------------------------------


def test_concurrent_writers_on_sqlite_never_see_a_locked_database(tmp_path):
    url = f"sqlite:///{tmp_path / 'writers.sqlite3'}"
    keys = prepare_database(url, devices=8)
    counters = tmp_path / "prometheus"
    counters.mkdir()
    (counters / "counter_999999.db").write_bytes(b"left by an earlier run")  # gunicorn.conf.py removes it
    with gunicorn(url, tmp_path, workers=3, METRICS_ENABLED="1", PROMETHEUS_MULTIPROC_DIR=str(counters)) as server:
        # A slow answer on a busy machine is not a failure here; an error or a lost rating is.
        client_ids, outcomes = run_kiosks(server.base, keys, per_kiosk=20, timeout=30)
        status, metrics, _ = http("GET", server.base + "/metrics")
        log = server.log_text()
    statuses = [s for o in outcomes for s in o.statuses]
    failures = [failure for o in outcomes for failure in o.failures]
    duplicates = [d for o in outcomes for d in o.duplicates]
    assert [s for s in statuses if s != 201] == [] and failures == [], (failures, duplicates, log[-3000:])
    assert "database is locked" not in log and '"status":5' not in log
    assert_stored_exactly_once(url, client_ids, outcomes)
    # Every worker's counts are added up, whichever worker answers /metrics.
    assert status == 200
    assert f'sonla_submissions_total{{channel="kiosk",outcome="created"}} {len(client_ids)}.0' in metrics.decode()


# --- without a server: the database cannot be reached at all ---------------------------------------


@pytest.fixture(scope="module")
def unreachable_app():
    """The application pointed at a PostgreSQL port where nothing listens."""
    return make_app(f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/none")


@pytest.fixture()
def unreachable(unreachable_app):
    """A client of it with no cookies: a language remembered by another test must not leak in."""
    return unreachable_app.test_client()


@pytest.mark.parametrize(
    ("lang", "title"), [("vi", "Hệ thống tạm thời gián đoạn"), ("en", "The service is briefly unavailable")]
)
def test_an_unreachable_database_gives_a_clear_page(unreachable, lang, title):
    from tests.pages import check_page

    response = unreachable.get(f"/?lang={lang}")
    assert response.status_code == 503
    check_page(response, status=503, lang=lang)
    assert f"<h1>{title}</h1>" in response.get_data(as_text=True)


def test_an_unreachable_database_gives_json_under_the_api(unreachable):
    response = unreachable.get("/api/v1/units", headers={"Accept-Language": "en"})
    assert response.status_code == 503 and response.is_json
    assert response.get_json()["error"] == {
        "status": 503,
        "title": "The service is briefly unavailable",
        "message": "We are back in a few minutes. Nothing already sent is lost. Please try again soon.",
    }
    assert unreachable.get("/healthz").status_code == 503
