"""Background jobs (issue #15): a real job queue, with Redis in production and an embedded default.

**Why Dramatiq.** We need at-least-once delivery: a job whose worker is killed mid-way must run
again, never silently vanish. Dramatiq acknowledges a message only after its actor returns, and
its Redis broker keeps every fetched message in a per-worker "acks" set while workers send
heartbeats; when a worker stops beating (killed, machine lost), any other worker moves its
unacknowledged messages back to the queue. It has retries with exponential back-off built in
(``dramatiq.Retry(delay=…)``, ``dramatiq.common.compute_backoff``) and is small (one dependency
besides ``redis``). Huey explicitly does not guarantee at-least-once delivery (a consumer killed
mid-task loses it: huey issues #418, #559, #844); RQ and Celery are heavier for what we need
(Celery's broker layer, RQ's fork-per-job model and its own registries).

**The ``jobs`` table is the durable record** (:class:`webapp.models.Job`): kind, idempotency key,
state (``queued`` → ``running`` → ``done``, or ``retrying`` / ``failed``), attempts, progress,
result and the last error. Administrators follow it at ``/admin/jobs``.

**Three modes** (config ``JOBS_MODE``, else derived from ``JOBS_BROKER_URL``):

- ``redis`` (``JOBS_BROKER_URL=redis://…``): messages go to Dramatiq's ``RedisBroker`` after the
  enqueuing transaction commits; ``flask --app webapp jobs worker`` runs them in separate
  processes. ``JOBS_REDIS_HEARTBEAT_MS`` (default 60 s) is how long a silent worker is presumed
  alive before its messages are re-queued; ``JOBS_REDIS_MAINTENANCE_CHANCE`` (per million broker
  calls, default 1000) how often a worker looks for dead ones.
- ``embedded`` (no ``JOBS_BROKER_URL``; ``make run``): no external service. A thread inside the
  web process reads due work from the ``jobs`` table itself — the table is the queue, so nothing
  is lost if the process dies: when it starts again, jobs left ``running`` are run again. Several
  processes of one machine (gunicorn workers) take turns through a lock file: one runs the jobs,
  another takes over when it dies. Limits: one job at a time, and **one machine** — several app
  servers must use Redis (they cannot see each other's lock).
- ``inline`` (the tests): a job runs in the caller's thread right after the caller's transaction
  commits, so after a request that enqueues, the job has already run (one attempt; a retry waits
  for :func:`drain`).

**Sealed data** (``enqueue(sealed=…)``: a phone number, an e-mail address) is encrypted with
Fernet under a key derived from ``SECRET_KEY`` (HKDF-SHA256, purpose string). In the Redis mode it
exists only inside the broker message; in the embedded and inline modes it is kept, encrypted, in
the job's ``sealed`` column, wiped when the job ends (done or failed). It is never stored in clear,
never logged, and never in ``payload``, ``result`` or ``error``.

**Rules for handler authors.**

1. *Handlers must be idempotent*: delivery is at least once, so a handler may run again for the
   same job (a worker killed after the work but before the acknowledgement; a retry after an
   error half-way). Key every side effect by ``ctx.job_id`` or by a natural key, and check
   before doing it again (see the ``publish`` handler in :mod:`webapp.jobs.builtin`).
2. ``payload`` and ``result`` are stored in clear: never personal data there; use ``sealed``.
3. Exception messages are stored (truncated) and logged: never personal data in them.
4. ``raise TransientError`` to retry with back-off, ``PermanentError`` to fail at once; any other
   exception is retried like ``TransientError`` until ``max_retries``, then the job fails.
"""

from __future__ import annotations

import os

from flask import Flask

from webapp.jobs.core import (
    JobContext,
    PermanentError,
    TransientError,
    drain,
    enqueue,
    handler,
    registered_kinds,
)

__all__ = [
    "JobContext",
    "PermanentError",
    "TransientError",
    "drain",
    "enqueue",
    "handler",
    "init_app",
    "registered_kinds",
]


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def init_app(app: Flask) -> None:
    """Register this part's blueprints, CLI commands and settings on ``app``."""
    app.config.setdefault("JOBS_BROKER_URL", os.environ.get("JOBS_BROKER_URL", ""))
    # Tests run every job inline, right after the transaction that enqueued it commits.
    app.config.setdefault("JOBS_MODE", os.environ.get("JOBS_MODE", "") or ("inline" if app.testing else ""))
    app.config.setdefault("JOBS_REDIS_NAMESPACE", os.environ.get("JOBS_REDIS_NAMESPACE", "sonla-jobs"))
    app.config.setdefault("JOBS_QUEUE", os.environ.get("JOBS_QUEUE", "jobs"))
    app.config.setdefault("JOBS_REDIS_HEARTBEAT_MS", _int_env("JOBS_REDIS_HEARTBEAT_MS", 60_000))
    app.config.setdefault("JOBS_REDIS_MAINTENANCE_CHANCE", _int_env("JOBS_REDIS_MAINTENANCE_CHANCE", 1000))
    app.config.setdefault("JOBS_TIME_LIMIT_MS", _int_env("JOBS_TIME_LIMIT_MS", 6 * 3600 * 1000))
    app.config.setdefault("JOBS_POLL_SECONDS", _int_env("JOBS_POLL_SECONDS", 5))
    #: Uploads at Admin → Imports from this size on are imported by a background job.
    app.config.setdefault("IMPORT_JOB_MIN_BYTES", _int_env("IMPORT_JOB_MIN_BYTES", 256 * 1024))
    #: Extra modules whose handlers a worker imports (comma-separated), e.g. a deployment's own.
    app.config.setdefault("JOBS_IMPORT", os.environ.get("JOBS_IMPORT", ""))

    # cycle: the handlers, the worker command and the runners import services that import webapp.jobs
    from webapp.jobs import builtin  # noqa: F401  (registers the built-in handlers)
    from webapp.jobs.cli import jobs_cli
    from webapp.jobs.runners import install

    app.cli.add_command(jobs_cli)
    install(app)
