"""The job queue's core: handlers, enqueueing, one attempt of a job, sealed data.

Every mode (Redis, embedded, inline) runs a job through :func:`execute`, which claims the row,
calls the handler and records the outcome, each step in its own short transaction.
"""

from __future__ import annotations

import base64
import json
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from dramatiq.common import compute_backoff
from dramatiq.threading import Interrupt
from flask import current_app, has_request_context
from flask_login import current_user
from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError

from webapp.extensions import db
from webapp.models.jobs import Job
from webapp.models.types import utcnow

_log = logging.getLogger("webapp.jobs")

#: The purpose string of the key that seals job data (HKDF "info"): no other use of SECRET_KEY shares it.
SEAL_PURPOSE = b"sonla-index/jobs/sealed/v1"
ERROR_LENGTH = 500
PROGRESS_MESSAGE_LENGTH = 200


class JobError(Exception):
    """Base of the errors a handler raises on purpose."""


class TransientError(JobError):
    """Try again later (with back-off; not sooner than ``retry_after_ms`` when given)."""

    def __init__(self, message: str = "", retry_after_ms: int | None = None) -> None:
        super().__init__(message)
        self.retry_after_ms = retry_after_ms


class PermanentError(JobError):
    """Trying again cannot help: the job fails at once."""


@dataclass(frozen=True)
class HandlerSpec:
    kind: str
    function: Callable[..., dict | None]
    max_retries: int
    min_backoff_ms: int
    max_backoff_ms: int


_HANDLERS: dict[str, HandlerSpec] = {}


def handler(kind: str, *, max_retries: int = 5, min_backoff_ms: int = 2000, max_backoff_ms: int = 600_000):
    """Register ``function(ctx, payload, sealed) -> dict | None`` as the handler of jobs of ``kind``.

    Handlers must be idempotent: a job may run more than once (see :mod:`webapp.jobs`).
    """

    def register(function: Callable[..., dict | None]) -> Callable[..., dict | None]:
        _HANDLERS[kind] = HandlerSpec(kind, function, max_retries, min_backoff_ms, max_backoff_ms)
        return function

    return register


def registered_kinds() -> list[str]:
    return sorted(_HANDLERS)


def handler_for(kind: str) -> HandlerSpec | None:
    return _HANDLERS.get(kind)


# --- sealed data ------------------------------------------------------------------------------


def _fernet(secret_key: str) -> Fernet:
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=SEAL_PURPOSE).derive(secret_key.encode())
    return Fernet(base64.urlsafe_b64encode(key))


def seal(data: dict) -> str:
    """``data`` as a Fernet token under the app's job-sealing key."""
    return _fernet(current_app.config["SECRET_KEY"]).encrypt(json.dumps(data).encode()).decode("ascii")


def unseal(token: str | None) -> dict | None:
    if not token:
        return None
    try:
        return json.loads(_fernet(current_app.config["SECRET_KEY"]).decrypt(token.encode("ascii")))
    except (InvalidToken, ValueError):
        raise PermanentError("the sealed data cannot be read (the secret key changed?)") from None


# --- enqueueing -------------------------------------------------------------------------------


def _actor_name() -> str:
    if has_request_context() and getattr(current_user, "is_authenticated", False):
        return current_user.email
    return "system"


def enqueue(
    kind: str,
    payload: dict,
    *,
    key: str | None = None,
    sealed: dict | None = None,
    unit_id: int | None = None,
    title: str | None = None,
    delay_ms: int = 0,
) -> Job:
    """Add a job in the caller's session (flushed, not committed); it is sent once that session commits.

    ``key``: when a job with this key exists (in any state), it is returned and nothing is queued.
    ``payload`` is stored in clear (never personal data); ``sealed`` is encrypted and never stored in
    clear (see :mod:`webapp.jobs`).
    """
    from webapp.jobs.runners import mode, remember_for_commit  # cycle: the runners import this module

    if key is not None:
        existing = db.session.scalar(select(Job).where(Job.key == key))
        if existing is not None:
            return existing
    json.dumps(payload)  # refuse what cannot be stored, here rather than in the worker
    token = seal(sealed) if sealed is not None else None
    now = utcnow()
    current_mode = mode(current_app)
    job = Job(
        kind=kind,
        key=key,
        title=(title or "")[:200] or None,
        state="queued",
        attempts=0,
        progress_done=0,
        payload=payload,
        sealed=token if current_mode != "redis" else None,
        message_nonce=secrets.token_hex(8) if current_mode == "redis" else None,
        unit_id=unit_id,
        created_by=_actor_name()[:255],
        created_at=now,
        next_attempt_at=now + timedelta(milliseconds=delay_ms) if delay_ms > 0 else None,
    )
    if key is None or db.session.get_bind().dialect.name == "sqlite":
        # SQLite writers take turns (a second INSERT of the key waits for the first to commit); and
        # pysqlite would commit the caller's transaction when releasing a first-statement SAVEPOINT.
        db.session.add(job)
        db.session.flush()
    else:
        try:
            with db.session.begin_nested():
                db.session.add(job)
        except IntegrityError:  # the same key was enqueued concurrently: that job is the one
            existing = db.session.scalar(select(Job).where(Job.key == key))
            if existing is not None:
                return existing
            raise
    remember_for_commit(job, token, delay_ms)
    return job


# --- running ----------------------------------------------------------------------------------


class JobContext:
    """What a handler knows about the job it runs."""

    def __init__(self, job_id: int, attempt: int, kind: str, created_by: str = "system") -> None:
        self.job_id = job_id
        self.attempt = attempt
        self.kind = kind
        #: Who enqueued the job (a staff account's e-mail or "system"), e.g. for the audit trail.
        self.created_by = created_by

    def progress(self, done: int, total: int, message: str = "") -> None:
        """Record progress in the job's row at once (its own short transaction; best effort)."""
        values = {
            "progress_done": max(0, int(done)),
            "progress_total": max(0, int(total)),
            "progress_message": (message or "")[:PROGRESS_MESSAGE_LENGTH] or None,
        }
        try:
            with db.engine.begin() as connection:
                connection.execute(update(Job.__table__).where(Job.__table__.c.id == self.job_id).values(**values))
        except SQLAlchemyError as error:  # progress must never break the job
            _log.warning("job %s: progress not recorded (%s)", self.job_id, type(error).__name__)


@dataclass(frozen=True)
class Outcome:
    """What one attempt did: ``state`` of the job after it, and the delay before the next attempt."""

    state: str
    retry_in_ms: int | None = None


def _error_text(error: BaseException) -> str:
    text = str(error).strip()
    if not isinstance(error, JobError):
        text = f"{type(error).__name__}: {text}" if text else type(error).__name__
    return (text or type(error).__name__)[:ERROR_LENGTH]


def _claim(job_id: int, *, redelivered: bool, now: datetime, nonce: str | None = None) -> bool:
    """Mark the job ``running`` (one more attempt) if it may run now; ``False`` when it may not.

    A job already ``done`` or ``failed`` never runs again (a duplicate message is dropped). A
    message from the broker may also take a job left ``running`` (its worker died: the broker
    re-delivered the unacknowledged message); the table-driven modes take only due jobs.
    """
    states = ("queued", "retrying", "running") if redelivered else ("queued", "retrying")
    claim = update(Job).where(Job.id == job_id, Job.state.in_(states))
    if nonce is not None:  # an older message of a job sent again since: the newer one runs it
        claim = claim.where(Job.message_nonce == nonce)
    if not redelivered:
        claim = claim.where(or_(Job.next_attempt_at.is_(None), Job.next_attempt_at <= now))
    claimed = db.session.execute(
        claim.values(state="running", attempts=Job.attempts + 1, next_attempt_at=None),
        execution_options={"synchronize_session": False},
    ).rowcount
    if claimed != 1:
        db.session.rollback()
        return False
    job = db.session.get(Job, job_id, populate_existing=True)
    if job.started_at is None:
        job.started_at = now
    db.session.commit()
    return True


def execute(
    job_id: int, sealed_token: str | None = None, *, redelivered: bool = False, nonce: str | None = None
) -> Outcome | None:
    """Run one attempt of job ``job_id`` in this thread (app context needed); ``None`` if it may not run.

    ``redelivered``: called for a broker message, which may find the job ``running`` (its worker
    died); ``nonce``: the message's, which must be the job's current one.
    """
    now = utcnow()
    if not _claim(job_id, redelivered=redelivered, now=now, nonce=nonce):
        return None
    job = db.session.get(Job, job_id)
    spec = handler_for(job.kind)
    attempt, kind, payload = job.attempts, job.kind, dict(job.payload or {})
    token = sealed_token or job.sealed
    ctx = JobContext(job_id, attempt, kind, job.created_by)
    try:
        if spec is None:
            raise PermanentError(f"no handler is registered for jobs of kind {kind!r}")
        result = spec.function(ctx, payload, unseal(token))
        if result is not None:
            json.dumps(result)
    except (Exception, Interrupt) as error:  # noqa: BLE001 — every failure (and a worker's time limit) is recorded
        db.session.rollback()
        return _record_failure(job_id, spec, error, attempt)
    job = db.session.get(Job, job_id, populate_existing=True)
    job.state = "done"
    job.result = result
    job.error = None
    job.sealed = None
    job.finished_at = utcnow()
    if job.progress_total:
        job.progress_done = job.progress_total
    db.session.commit()
    _log.info("job %s (%s) done after %s attempt(s)", job_id, kind, attempt)
    return Outcome("done")


def _record_failure(job_id: int, spec: HandlerSpec | None, error: BaseException, attempt: int) -> Outcome:

    text = _error_text(error)
    job = db.session.get(Job, job_id, populate_existing=True)
    job.error = text
    permanent = isinstance(error, PermanentError) or spec is None
    if permanent or attempt > spec.max_retries:
        job.state = "failed"
        job.finished_at = utcnow()
        job.sealed = None
        job.next_attempt_at = None
        outcome = Outcome("failed")
    else:
        _, backoff = compute_backoff(attempt - 1, factor=spec.min_backoff_ms, max_backoff=spec.max_backoff_ms)
        wanted = getattr(error, "retry_after_ms", None) or 0
        delay = max(int(backoff), int(wanted))
        job.state = "retrying"
        job.next_attempt_at = utcnow() + timedelta(milliseconds=delay)
        outcome = Outcome("retrying", delay)
    db.session.commit()
    if isinstance(error, JobError):
        _log.warning("job %s (%s) attempt %s: %s (%s)", job_id, job.kind, attempt, text, outcome.state)
    else:
        _log.warning(
            "job %s (%s) attempt %s raised %s (%s)", job_id, job.kind, attempt, text, outcome.state, exc_info=error
        )
    return outcome


def due_job_ids(now: datetime | None = None, limit: int = 100) -> list[int]:
    now = now or utcnow()
    return list(
        db.session.scalars(
            select(Job.id)
            .where(
                Job.state.in_(("queued", "retrying")),
                or_(Job.next_attempt_at.is_(None), Job.next_attempt_at <= now),
            )
            .order_by(Job.id)
            .limit(limit)
        )
    )


def drain(*, now: datetime | None = None) -> int:
    """Run every due queued or retrying job now, in this thread; the number of attempts made.

    For tests and the ``jobs drain`` command. ``now`` (tests) makes later retries due.
    """
    db.session.commit()  # see what other transactions committed
    count = 0
    tried: set[int] = set()
    while True:
        ids = [job_id for job_id in due_job_ids(now) if job_id not in tried]
        if not ids:
            return count
        for job_id in ids:
            tried.add(job_id)
            if now is not None:  # make it due for _claim, which uses the real clock
                db.session.execute(
                    update(Job).where(Job.id == job_id, Job.next_attempt_at <= now).values(next_attempt_at=None),
                    execution_options={"synchronize_session": False},
                )
                db.session.commit()
            if execute(job_id) is not None:
                count += 1


def reset_for_retry(job: Job) -> None:
    """Put a failed job back in the queue (the caller commits; it is sent after the commit)."""
    from webapp.jobs.runners import mode, remember_for_commit  # cycle: the runners import this module

    if mode(current_app) == "redis":
        job.message_nonce = secrets.token_hex(8)  # an older message still in Redis is dropped
    job.state = "queued"
    job.error = None
    job.finished_at = None
    job.next_attempt_at = None
    job.progress_done = 0
    job.progress_total = None
    job.progress_message = None
    remember_for_commit(job, None, 0)


def job_summary(job: Job) -> dict[str, Any]:
    return {"id": job.id, "kind": job.kind, "state": job.state, "attempts": job.attempts}
