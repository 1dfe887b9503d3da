"""``flask --app webapp jobs …``: run a worker (Redis mode), run due jobs now, list jobs."""

from __future__ import annotations

import importlib
import logging
import os
import signal
import subprocess  # nosec B404
import sys
import threading

import click
from dramatiq import Worker
from flask import current_app
from flask.cli import AppGroup
from sqlalchemy import select

from webapp.extensions import db
from webapp.jobs.core import drain, registered_kinds
from webapp.jobs.runners import mode, redis_actor, state_of
from webapp.models import Job

jobs_cli = AppGroup("jobs", help="Background jobs: the worker, running due jobs, the list.")


def import_extra_handlers() -> list[str]:
    """Import the modules named in ``JOBS_IMPORT`` (comma-separated), whose handlers register themselves."""
    names = [name.strip() for name in (current_app.config.get("JOBS_IMPORT") or "").split(",") if name.strip()]
    for name in names:
        importlib.import_module(name)
    return names


@jobs_cli.command("worker")
@click.option("--processes", default=1, show_default=True, type=click.IntRange(1, 64), help="Worker processes.")
@click.option("--threads", default=4, show_default=True, type=click.IntRange(1, 64), help="Threads per process.")
def worker(processes: int, threads: int) -> None:
    """Run jobs from Redis (JOBS_BROKER_URL) until stopped (SIGTERM or Ctrl+C finishes the jobs in hand)."""

    app = current_app._get_current_object()
    if mode(app) != "redis":
        raise click.ClickException(
            "the worker needs Redis: set JOBS_BROKER_URL=redis://host:6379/N (without it, the web process runs"
            " jobs itself, from the jobs table)"
        )
    if processes > 1:
        _run_processes(processes, threads)
        return
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    extra = import_extra_handlers()

    redis_actor(app)
    broker = state_of(app).broker
    running = Worker(broker, worker_threads=threads, queues={app.config["JOBS_QUEUE"]})
    stop = threading.Event()
    for name in (signal.SIGTERM, signal.SIGINT):
        signal.signal(name, lambda *_: stop.set())
    running.start()
    click.echo(
        f"jobs worker {os.getpid()}: {threads} thread(s), queue {app.config['JOBS_QUEUE']!r}, kinds "
        f"{', '.join(registered_kinds())}" + (f" (extra modules: {', '.join(extra)})" if extra else ""),
        err=True,
    )
    try:
        while not stop.wait(1):
            pass
    finally:
        running.stop()
        broker.close()


def _run_processes(processes: int, threads: int) -> None:
    command = [
        sys.executable,
        "-m",
        "flask",
        "--app",
        "webapp",
        "jobs",
        "worker",
        "--processes",
        "1",
        "--threads",
        str(threads),
    ]
    children = [subprocess.Popen(command) for _ in range(processes)]  # noqa: S603  # nosec B603
    stop = threading.Event()

    def forward(signum, _frame) -> None:
        stop.set()
        for child in children:
            if child.poll() is None:
                child.send_signal(signum)

    for name in (signal.SIGTERM, signal.SIGINT):
        signal.signal(name, forward)
    codes = [child.wait() for child in children]
    if any(codes) and not stop.is_set():
        raise SystemExit(1)


@jobs_cli.command("drain")
def drain_command() -> None:
    """Run every due job now in this process (embedded mode, or to catch up by hand)."""

    import_extra_handlers()
    click.echo(f"{drain()} job attempt(s) made.")


@jobs_cli.command("list")
@click.option("--state", default=None, help="Only jobs in this state.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 1000))
def list_command(state: str | None, limit: int) -> None:
    """The latest jobs, newest first."""

    query = select(Job).order_by(Job.id.desc()).limit(limit)
    if state:
        query = query.where(Job.state == state)
    for job in db.session.scalars(query):
        progress = f"{job.progress_done}/{job.progress_total}" if job.progress_total else "-"
        click.echo(
            f"{job.id}\t{job.kind}\t{job.state}\tattempts={job.attempts}\tprogress={progress}\t{job.error or ''}"
        )
