"""Real ``flask jobs worker`` processes against a real Redis, for the tests that kill one mid-job.

Shared by the job-queue and delivery kill tests: a Redis database with a key namespace of the
test's own, the environment a worker needs, starting workers in their own process group, waiting
on a condition while watching them, and stopping whatever is left.
"""

from __future__ import annotations

import os
import signal
import subprocess  # nosec B404
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.conftest import IN_CI, REPO

WAIT_SECONDS = 90


def redis_url(db: int) -> str:
    base = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    return base.rsplit("/", 1)[0] + f"/{db}"


@contextmanager
def redis_namespace(db: int, prefix: str) -> Iterator[tuple[str, str]]:
    """``(url, namespace)`` of Redis DB ``db``; only the namespace's keys are removed afterwards.

    Fails (never skips) in CI when Redis does not answer."""
    import redis

    url = redis_url(db)
    connection = redis.Redis.from_url(url, socket_timeout=2)
    try:
        connection.ping()
    except redis.RedisError as error:
        if IN_CI:
            pytest.fail(f"Redis does not answer at {url} ({error}): .ci/run must start it")
        pytest.skip(f"Redis does not answer at {url}")
    namespace = f"{prefix}-{uuid.uuid4().hex[:12]}"
    try:
        yield url, namespace
    finally:
        for key in connection.scan_iter(match=f"{namespace}*"):
            connection.delete(key)
        connection.close()


def worker_environment(database: str, secret: str, url: str, namespace: str, **extra: str) -> dict[str, str]:
    """A worker's environment: the test's database, secret and Redis namespace; a silent worker is
    presumed dead after 3 s and every broker call looks for dead workers."""
    return {
        **os.environ,
        "APP_ENV": "development",
        "DATABASE_URL": database,
        "SECRET_KEY": secret,
        "RATELIMIT_STORAGE_URI": "memory://",
        "JOBS_MODE": "redis",
        "JOBS_BROKER_URL": url,
        "JOBS_REDIS_NAMESPACE": namespace,
        "JOBS_REDIS_HEARTBEAT_MS": "3000",
        "JOBS_REDIS_MAINTENANCE_CHANCE": "1000000",
        **extra,
    }


class Workers:
    """Worker processes started by a test, each in its own process group (so SIGKILL takes all of it)."""

    def __init__(self, folder: Path, environment: dict[str, str], threads: int = 1):
        self.folder = folder
        self.environment = environment
        self.command = [sys.executable, "-m", "flask", "--app", "webapp", "jobs", "worker", "--threads", str(threads)]
        self.started: list[subprocess.Popen] = []

    def start(self, name: str) -> subprocess.Popen:
        log = (self.folder / f"{name}.log").open("w")
        process = subprocess.Popen(  # noqa: S603  # nosec B603 — fixed arguments
            self.command, cwd=REPO, env=self.environment, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.started.append(process)
        return process

    def log(self, name: str) -> str:
        return (self.folder / f"{name}.log").read_text()[-3000:]

    @staticmethod
    def kill(process: subprocess.Popen) -> None:
        """SIGKILL the whole process group, mid-job."""
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(30)

    def stop_all(self) -> None:
        for process in self.started:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
                try:
                    process.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(process.pid, signal.SIGKILL)
                    process.wait(10)


def wait_for(condition, what: str, processes=()) -> None:
    """Poll ``condition`` for up to :data:`WAIT_SECONDS`; fail at once if a watched worker exits."""
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition():
            return
        for process in processes:
            if process is not None and process.poll() is not None:
                raise AssertionError(f"the worker stopped (exit {process.returncode}) while waiting for {what}")
        time.sleep(0.2)
    raise AssertionError(f"gave up waiting for {what}")
