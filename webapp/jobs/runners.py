"""How jobs reach a runner in each mode: Redis (Dramatiq), embedded (a thread on the table), inline.

Messages are sent only after the enqueuing transaction commits (SQLAlchemy ``after_commit``);
a job whose insert was rolled back has no identity any more and is never sent.
"""

from __future__ import annotations

import hashlib
import logging
import os
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import dramatiq
from flask import Flask, current_app
from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session

from webapp.extensions import db
from webapp.jobs.core import drain, execute
from webapp.models.jobs import Job

_log = logging.getLogger("webapp.jobs")
_PENDING = "sonla_jobs_pending"
_APP = "sonla_jobs_app"
MODES = ("redis", "embedded", "inline")


def mode(app: Flask) -> str:
    """``redis``, ``embedded`` or ``inline``: ``JOBS_MODE`` when set, else from ``JOBS_BROKER_URL``."""
    chosen = (app.config.get("JOBS_MODE") or "").strip().lower()
    if chosen:
        if chosen not in MODES:
            raise RuntimeError(f"JOBS_MODE={chosen!r} is not one of {MODES}")
        return chosen
    return "redis" if app.config.get("JOBS_BROKER_URL") else "embedded"


@dataclass
class JobsState:
    """Per-application objects: the Dramatiq broker and actor (Redis mode), the embedded runner."""

    broker: Any = None
    actor: Any = None
    runner: EmbeddedRunner | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)


def state_of(app: Flask) -> JobsState:
    return app.extensions["sonla_jobs"]


def install(app: Flask) -> None:
    app.extensions["sonla_jobs"] = JobsState()
    _listen_once()
    if mode(app) == "embedded" and not app.testing:

        @app.before_request
        def _start_embedded_runner() -> None:
            embedded_runner(app).start()


_listening = False


def _listen_once() -> None:
    global _listening
    if not _listening:
        event.listen(Session, "after_commit", _after_commit)
        _listening = True


def remember_for_commit(job, token: str | None, delay_ms: int) -> None:
    """Send ``job`` once the current session commits."""
    session = db.session()
    session.info.setdefault(_PENDING, []).append((job, job.id, token, delay_ms, job.message_nonce))
    session.info[_APP] = current_app._get_current_object()


def _after_commit(session: Session) -> None:
    if session.in_nested_transaction():  # SQLAlchemy fires after_commit when a SAVEPOINT is released too
        return
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    app = session.info.get(_APP)
    # A job whose INSERT was rolled back (the whole transaction, or its savepoint) is transient again.
    committed = [entry[1:] for entry in pending if inspect(entry[0]).has_identity]
    if committed and app is not None:
        dispatch(app, committed)


def dispatch(app: Flask, jobs: list[tuple[int, str | None, int, str | None]]) -> None:
    """Hand committed jobs ``(id, sealed token, delay ms, message nonce)`` to this app's runner."""
    current = mode(app)
    if current == "redis":
        actor = redis_actor(app)
        for job_id, token, delay, nonce in jobs:
            try:
                actor.send_with_options(args=(job_id, token, nonce), delay=delay or None)
            except Exception:  # noqa: BLE001 — the job stays queued in the table, visible to admins
                _log.exception("job %s could not be sent to the broker; it stays queued", job_id)
    elif current == "embedded":
        embedded_runner(app).wake()
    else:
        for job_id, _token, delay, _nonce in jobs:
            if delay:
                continue  # a delayed job waits for drain()
            try:
                # A new app context is a new database session: the caller's has just committed.
                with app.app_context():
                    execute(job_id)
            except Exception:  # noqa: BLE001 — never turn the caller's successful commit into an error
                _log.exception("job %s could not run inline", job_id)


# --- Redis (Dramatiq) -------------------------------------------------------------------------

ACTOR_NAME = "sonla_job"


def redis_actor(app: Flask):
    """This app's Dramatiq actor on its ``RedisBroker`` (made once)."""
    state = state_of(app)
    with state.lock:
        if state.actor is None:
            from dramatiq.brokers.redis import RedisBroker  # start-up: with Redis only (most of a second)

            broker = RedisBroker(
                url=app.config["JOBS_BROKER_URL"],
                namespace=app.config["JOBS_REDIS_NAMESPACE"],
                heartbeat_timeout=int(app.config["JOBS_REDIS_HEARTBEAT_MS"]),
                maintenance_chance=int(app.config["JOBS_REDIS_MAINTENANCE_CHANCE"]),
            )

            def run_job(job_id: int, sealed: str | None = None, nonce: str | None = None) -> None:

                with app.app_context():
                    outcome = execute(job_id, sealed, redelivered=True, nonce=nonce)
                if outcome is not None and outcome.state == "retrying":
                    # Dramatiq's Retries middleware sends the same message again after the delay.
                    raise dramatiq.Retry("retrying", delay=outcome.retry_in_ms)

            state.broker = broker
            state.actor = dramatiq.actor(
                run_job,
                actor_name=ACTOR_NAME,
                queue_name=app.config["JOBS_QUEUE"],
                broker=broker,
                max_retries=None,  # the job's handler decides when to give up (webapp.jobs.core)
                time_limit=int(app.config["JOBS_TIME_LIMIT_MS"]),
            )
        return state.actor


# --- embedded ---------------------------------------------------------------------------------


def embedded_runner(app: Flask) -> EmbeddedRunner:
    state = state_of(app)
    with state.lock:
        if state.runner is None:
            state.runner = EmbeddedRunner(app)
        return state.runner


class EmbeddedRunner:
    """A thread that runs due jobs from the ``jobs`` table, in one process of this machine at a time.

    Several processes of one machine (gunicorn workers) take turns through a lock file named after
    the database: only the holder runs jobs, so a job it left ``running`` was truly abandoned when
    another process takes the lock over (the system releases it when its holder dies). Processes on
    several machines cannot see each other's lock: use Redis there.
    """

    #: Seconds between two tries to take the lock over from another process.
    RETRY_LOCK_SECONDS = 10

    def __init__(self, app: Flask) -> None:
        self.app = app
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._lock_file: int | None = None
        self._last_try = float("-inf")

    @property
    def lock_path(self) -> Path:
        database = str(self.app.config["SQLALCHEMY_DATABASE_URI"]).encode()
        return Path(tempfile.gettempdir()) / f"sonla-jobs-{hashlib.sha256(database).hexdigest()[:16]}.lock"

    def _take_lock(self) -> bool:
        import fcntl  # optional: POSIX only

        descriptor = os.open(self.lock_path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            return False
        self._lock_file = descriptor
        return True

    def start(self) -> bool:
        """Start the thread if this process may run jobs now; whether it runs."""
        with self._lock:
            if self._thread is not None:
                return True
            if time.monotonic() - self._last_try < self.RETRY_LOCK_SECONDS:
                return False
            self._last_try = time.monotonic()
            if not self._take_lock():
                return False  # another process of this machine runs the jobs
            self._stop.clear()
            self._thread = threading.Thread(target=self._loop, name="sonla-jobs", daemon=True)
            self._thread.start()
            return True

    def wake(self) -> None:
        self._wake.set()

    def stop(self, timeout: float = 30) -> None:
        self._stop.set()
        self._wake.set()
        with self._lock:
            if self._thread is not None:
                self._thread.join(timeout)
                self._thread = None
            if self._lock_file is not None:
                os.close(self._lock_file)  # releases the lock for another process
                self._lock_file = None
            self._last_try = float("-inf")

    def recover(self) -> int:
        """Queue again the jobs a dead process left ``running`` (this process holds the runner's lock)."""

        with self.app.app_context():
            count = db.session.execute(
                update(Job).where(Job.state == "running").values(state="queued"),
                execution_options={"synchronize_session": False},
            ).rowcount
            db.session.commit()
        if count:
            _log.warning("%s job(s) left running by a stopped process are queued again", count)
        return count

    def run_due(self) -> int:

        with self.app.app_context():
            return drain()

    def _loop(self) -> None:
        try:
            from webapp.jobs.cli import import_extra_handlers  # cycle: webapp.jobs.cli imports this module

            with self.app.app_context():
                import_extra_handlers()  # this process is the worker: the same handlers as `jobs worker`
            self.recover()
        except Exception:  # noqa: BLE001
            _log.exception("embedded job runner: recovery failed")
        poll = max(1, int(self.app.config.get("JOBS_POLL_SECONDS", 5)))
        while not self._stop.is_set():
            self._wake.clear()
            try:
                self.run_due()
            except Exception:  # noqa: BLE001 — the runner must survive a bad moment of the database
                _log.exception("embedded job runner: an iteration failed")
            self._wake.wait(poll)
