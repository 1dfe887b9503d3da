"""A worker killed mid-job loses nothing (issue #15), with a real Redis (DB 5) and real worker processes.

``flask --app webapp jobs worker`` runs as a subprocess against a migrated SQLite file; the test
handler (``test_jobs_handlers.sleepy``, imported through ``JOBS_IMPORT``) signals its start with a
file and sleeps; the test kills the worker's whole process group with SIGKILL, starts a second
worker, and checks the job ends ``done`` with its side effect done exactly once.

Like the other Redis tests, this one fails (never skips) in CI when Redis does not answer.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess  # nosec B404
import sys
import time
import uuid

import pytest

from tests.conftest import IN_CI, REPO, make_app, migrate_database
from webapp.models import Job

REDIS_DB = 5
WAIT_SECONDS = 90


def _redis_url() -> str:
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return base.rsplit("/", 1)[0] + f"/{REDIS_DB}"


@pytest.fixture()
def redis_db5():
    """Redis DB 5 with a key namespace of this test's own; only those keys are removed afterwards."""
    try:
        import redis
    except ImportError:  # pragma: no cover
        pytest.fail("the redis package is missing (requirements.txt)")
    url = _redis_url()
    connection = redis.Redis.from_url(url, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis does not answer at {url} ({error}): .ci/run must start it")
        pytest.skip(f"Redis does not answer at {url}")
    namespace = f"sonla-jobs-test-{uuid.uuid4().hex[:12]}"
    yield url, namespace
    for key in connection.scan_iter(match=f"{namespace}*"):
        connection.delete(key)
    connection.close()


def _wait_for(condition, what: str, processes=()) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process.poll() is not None:
                raise AssertionError(f"the worker stopped (exit {process.returncode}) while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")


def test_a_killed_worker_loses_no_job_and_the_effect_happens_once(tmp_path, redis_db5):
    url, namespace = redis_db5
    database = f"sqlite:///{tmp_path / 'jobs.sqlite3'}"
    secret = secrets.token_hex(32)
    settings = {
        "JOBS_MODE": "redis",
        "JOBS_BROKER_URL": url,
        "JOBS_REDIS_NAMESPACE": namespace,
        "SECRET_KEY": secret,
    }
    app = make_app(database, **settings)
    migrate_database(app)
    folder = tmp_path / "effects"
    folder.mkdir()
    environment = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": database,
        "SECRET_KEY": secret,
        "RATELIMIT_STORAGE_URI": "memory://",
        "JOBS_MODE": "redis",
        "JOBS_BROKER_URL": url,
        "JOBS_REDIS_NAMESPACE": namespace,
        # A silent worker is presumed dead after 3 s, and every broker call looks for dead workers.
        "JOBS_REDIS_HEARTBEAT_MS": "3000",
        "JOBS_REDIS_MAINTENANCE_CHANCE": "1000000",
        "JOBS_IMPORT": "tests.webapp.test_jobs_handlers",
    }
    command = [sys.executable, "-m", "flask", "--app", "webapp", "jobs", "worker", "--threads", "2"]

    def start_worker(name: str) -> subprocess.Popen:
        log = (tmp_path / f"{name}.log").open("w")
        return subprocess.Popen(  # noqa: S603  # nosec B603 — fixed arguments
            command, cwd=REPO, env=environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    from webapp import jobs
    from webapp.extensions import db

    with app.app_context():
        job_id = jobs.enqueue("test.sleepy", {"dir": str(folder)}, sealed={"phone": "0912345678"}).id
        db.session.commit()

    def job() -> Job:
        with app.app_context():
            return db.session.get(Job, job_id)

    first = start_worker("first")
    second = None
    try:
        _wait_for(lambda: (folder / "first-run-started").exists(), "the job to start", [first])
        assert job().state == "running" and job().attempts == 1
        os.killpg(first.pid, signal.SIGKILL)  # the whole process group, mid-job
        first.wait(30)
        assert job().state == "running" and not (folder / "effects.log").exists()

        second = start_worker("second")
        _wait_for(lambda: job().state in ("done", "failed"), "the job to finish on the second worker", [second])
        finished = job()
        assert (finished.state, finished.attempts) == ("done", 2), (tmp_path / "second.log").read_text()[-3000:]
        assert finished.result == {"effect": f"effect-{job_id}", "sealed_received": True}
        assert finished.sealed is None  # never stored in the Redis mode
        assert (folder / "effects.log").read_text().splitlines() == [str(job_id)]  # exactly once
        assert (folder / "attempt-1").exists() and (folder / "attempt-2").exists()
        assert not (folder / "attempt-3").exists()
    finally:
        for process in (first, second):
            if process is not None and process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)
        with app.app_context():
            db.engine.dispose()
    # A worker stopped politely (SIGTERM) exits cleanly.
    assert second.returncode == 0, (tmp_path / "second.log").read_text()[-3000:]


def test_the_worker_refuses_to_start_without_redis(tmp_path):
    environment = {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'x.sqlite3'}",
        "SECRET_KEY": secrets.token_hex(16),
        "JOBS_BROKER_URL": "",
        "JOBS_MODE": "",
    }
    answer = subprocess.run(  # noqa: S603  # nosec B603
        [sys.executable, "-m", "flask", "--app", "webapp", "jobs", "worker"],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert answer.returncode != 0 and "JOBS_BROKER_URL" in answer.stderr
