"""Time publishing one quarter of a database with (about) a million responses.

    python bench/publish_bench.py --database-url sqlite:////tmp/bench_million.sqlite3
    python bench/publish_bench.py --database-url postgresql+psycopg://postgres@127.0.0.1:5432/bench_publish

If the database holds no responses it is migrated, the registry is loaded and
``seed_demo(responses=N, seed=2012)`` fills it first (1,000,000 responses: minutes; use
``--seed-only`` to do just that in the background). Otherwise it is only migrated
(``flask db upgrade``, harmless when up to date) and the registry reloaded (idempotent).

Then, ``--rounds`` times, interleaved so that load from other processes affects all alike:

* the SQL alone: ``fetch_score_groups`` for the quarter and every published metric, plus the
  three small per-quarter queries ``compute_period`` also issues;
* ``compute_period`` alone (fresh SQL sums, no writes);
* ``publish_period`` as a first publication (the period's snapshots are deleted before), then
  a republication with a reason.

Prints a table (best and median of the rounds) and, with ``--profile FILE``, writes the
cProfile statistics of one first publication. This script writes only published snapshots,
their estimates and audit events to the database it is given: use a database of its own.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def flask_cli(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    flask = Path(sys.executable).parent / "flask"
    subprocess.run([str(flask), "--app", "webapp", *args], cwd=ROOT, env=env, check=True)


def database_size(url: str) -> str:
    from sqlalchemy import text

    from webapp.extensions import db

    if url.startswith("sqlite"):
        path = Path(db.engine.url.database)
        return f"{path.stat().st_size / 2**20:,.0f} MiB (file)"
    size = db.session.execute(text("select pg_database_size(current_database())")).scalar()
    return f"{size / 2**20:,.0f} MiB (pg_database_size)"


CPU_SECONDS: dict[str, list[float]] = {}


def timed(fn, name: str | None = None):
    """Wall seconds of ``fn()``; this process's CPU seconds are kept under ``name``."""
    start, cpu = time.perf_counter(), time.process_time()
    result = fn()
    if name:
        CPU_SECONDS.setdefault(name, []).append(time.process_time() - cpu)
    return time.perf_counter() - start, result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--responses", type=int, default=1_000_000, help="responses to seed into an empty database")
    parser.add_argument("--period", default="2026-Q3", help="an ended quarter")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed-only", action="store_true", help="migrate, load and seed if empty, then stop")
    parser.add_argument("--profile", type=Path, default=None, help="write cProfile stats of one first publication here")
    args = parser.parse_args()

    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("APP_ENV", "development")
    flask_cli(args.database_url, "db", "upgrade")
    flask_cli(args.database_url, "registry", "load")

    from sqlalchemy import delete, func, select

    import webapp
    from webapp.demo.seed import database_has_responses, seed_demo
    from webapp.extensions import db
    from webapp.models import PublishedEstimate, PublishedSnapshot, Response
    from webapp.periods import Period
    from webapp.publishing.aggregate import (
        fetch_flagged_counts,
        fetch_instrument_versions,
        fetch_score_groups,
        fetch_transaction_counts,
    )
    from webapp.publishing.compute import compute_period, period_inputs
    from webapp.publishing.publish import _previous_values, current_snapshot, publish_period

    app = webapp.create_app()
    with app.app_context():
        if not database_has_responses():
            print(f"seeding {args.responses:,} responses (seed 2012)…", flush=True)
            seconds, summary = timed(lambda: seed_demo(responses=args.responses, seed=2012, progress=True))
            print(summary)
            print(f"seeded in {seconds:.0f} s", flush=True)
        total = db.session.scalar(select(func.count()).select_from(Response))
        period = Period.parse(args.period)
        in_period = db.session.scalar(select(func.count()).select_from(Response).where(Response.period == period.label))
        print(
            f"{db.engine.dialect.name}: {total:,} responses, {in_period:,} in {period.label}; size {database_size(args.database_url)}",
            flush=True,
        )
        if args.seed_only:
            return

        # Publish the previous quarter once (untimed) so that the change figures are computed too.
        if current_snapshot(period.previous().label) is None:
            publish_period(period.previous().label, actor="bench")

        def forget_period() -> None:
            ids = db.session.scalars(select(PublishedSnapshot.id).where(PublishedSnapshot.period == period.label)).all()
            if ids:
                db.session.execute(delete(PublishedEstimate).where(PublishedEstimate.snapshot_id.in_(ids)))
                db.session.execute(delete(PublishedSnapshot).where(PublishedSnapshot.id.in_(ids)))
            db.session.commit()

        metrics = period_inputs().metrics
        quarters = [period.label]
        times: dict[str, list[float]] = {
            k: [] for k in ("sql_scores", "sql_small", "compute", "publish_first", "publish_again")
        }
        estimates = 0
        groups = 0
        for round_ in range(args.rounds):
            db.session.rollback()
            seconds, result = timed(lambda: fetch_score_groups(quarters, metrics), "sql_scores")
            times["sql_scores"].append(seconds)
            groups = len(result)
            seconds, _ = timed(
                lambda: (
                    fetch_transaction_counts(quarters),
                    fetch_flagged_counts(quarters),
                    fetch_instrument_versions(quarters),
                ),
                "sql_small",
            )
            times["sql_small"].append(seconds)
            previous = _previous_values(period)
            seconds, computed = timed(lambda previous=previous: compute_period(period, previous), "compute")
            times["compute"].append(seconds)
            db.session.rollback()
            forget_period()
            seconds, published = timed(lambda: publish_period(period.label, actor="bench"), "publish_first")
            times["publish_first"].append(seconds)
            estimates = published.estimates
            seconds, again = timed(
                lambda r=round_: publish_period(period.label, reason=f"bench republication {r}", actor="bench"),
                "publish_again",
            )
            times["publish_again"].append(seconds)
            print(f"round {round_ + 1}: " + ", ".join(f"{k} {v[-1]:.3f} s" for k, v in times.items()), flush=True)

        if args.profile:
            forget_period()
            profiler = cProfile.Profile()
            profiler.enable()
            publish_period(period.label, actor="bench")
            profiler.disable()
            profiler.dump_stats(args.profile)
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

        labels = {
            "sql_scores": f"SQL: fetch_score_groups({period.label}, {len(metrics)} metrics) -> {groups:,} groups",
            "sql_small": "SQL: transaction counts + flagged counts + instrument versions",
            "compute": "compute_period (all SQL + estimation, no writes)",
            "publish_first": f"publish_period, first publication ({estimates:,} estimates)",
            "publish_again": "publish_period, republication with a reason",
        }
        print(
            f"\n| {db.engine.dialect.name}: {total:,} responses ({in_period:,} in {period.label}) "
            "| wall, best | wall, median | CPU of this process, median |"
        )
        print("|---|---|---|---|")
        for key, label in labels.items():
            print(
                f"| {label} | {min(times[key]):.2f} s | {statistics.median(times[key]):.2f} s "
                f"| {statistics.median(CPU_SECONDS[key]):.2f} s |"
            )


if __name__ == "__main__":
    main()
