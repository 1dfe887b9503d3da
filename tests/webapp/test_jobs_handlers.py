"""Job handlers used only by the job-queue tests (no tests here).

The worker subprocess of the kill test imports this module through ``JOBS_IMPORT``.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from webapp import jobs

#: What the in-process handlers saw: (kind, job id, attempt, payload, sealed).
SEEN: list[tuple] = []
#: Kinds whose next run must fail permanently (tests switch it on and off).
FAIL: set[str] = set()


@jobs.handler("test.echo")
def echo(ctx: jobs.JobContext, payload: dict, sealed: dict | None) -> dict:
    SEEN.append(("test.echo", ctx.job_id, ctx.attempt, payload, sealed))
    if "test.echo" in FAIL:
        raise jobs.PermanentError("asked to fail")
    return {"echo": payload.get("value"), "sealed_received": sealed is not None}


@jobs.handler("test.flaky", max_retries=5, min_backoff_ms=1000, max_backoff_ms=60_000)
def flaky(ctx: jobs.JobContext, payload: dict, sealed: dict | None) -> dict:
    SEEN.append(("test.flaky", ctx.job_id, ctx.attempt, payload, sealed))
    if ctx.attempt < payload["succeed_on"]:
        raise jobs.TransientError(f"gateway busy (attempt {ctx.attempt})", retry_after_ms=payload.get("retry_after_ms"))
    return {"attempt": ctx.attempt}


@jobs.handler("test.broken", max_retries=1, min_backoff_ms=1000)
def broken(ctx: jobs.JobContext, payload: dict, sealed: dict | None) -> None:
    SEEN.append(("test.broken", ctx.job_id, ctx.attempt, payload, sealed))
    raise RuntimeError("boom")


@jobs.handler("test.permanent")
def permanent(ctx: jobs.JobContext, payload: dict, sealed: dict | None) -> None:
    SEEN.append(("test.permanent", ctx.job_id, ctx.attempt, payload, sealed))
    raise jobs.PermanentError("the input can never work")


@jobs.handler("test.progress", min_backoff_ms=60_000)
def progress(ctx: jobs.JobContext, payload: dict, sealed: dict | None) -> None:
    ctx.progress(3, 7, "third step of seven")
    raise jobs.TransientError("stopping half-way")


@jobs.handler("test.sleepy", max_retries=3, min_backoff_ms=200)
def sleepy(ctx: jobs.JobContext, payload: dict, sealed: dict | None) -> dict:
    """Signals its start with a file; the first run sleeps (to be killed); the effect is keyed by job id."""
    folder = Path(payload["dir"])
    (folder / f"attempt-{ctx.attempt}").write_text(str(os.getpid()))
    first = folder / "first-run-started"
    if not first.exists():
        first.write_text(str(os.getpid()))
        time.sleep(600)  # the test kills the worker here
    effect = folder / f"effect-{ctx.job_id}"
    try:
        descriptor = os.open(effect, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:  # an earlier run did it: idempotent
        pass
    else:
        os.close(descriptor)
        with (folder / "effects.log").open("a") as log:
            log.write(f"{ctx.job_id}\n")
    return {"effect": effect.name, "sealed_received": bool(sealed and sealed.get("phone"))}
