"""Kiosk ratings in batches, single submissions and the bare Flask app, in one run (issue #18).

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_submit
    python bench/submit_load.py setup --devices 1000        # once: migrate, registry, devices
    python bench/batch_load.py --rounds 2 --duration 20

Each round measures, one after the other, on the same gunicorn settings (``gunicorn.conf.py``,
``--workers`` × ``--threads``, production configuration, access log off, rate limits counted in
Redis as production requires with several workers):

* ``hello``: ``GET /`` of ``bench/hello_app.py`` (the ceiling of a Flask app on this machine);
* ``single``: ``POST /api/v1/responses`` with ``bench/submit.lua`` (``submit_load.run_one``:
  every 201 checked to be one stored row);
* ``batch``: ``POST /api/v1/responses/batch`` with ``bench/batch.lua``, ``--batch-size``
  ratings per request; ratings/s counts the items answered 201, and the script checks that
  every one of them is one distinct stored row (plus at most one batch in flight per
  connection when wrk stopped).

Results go to ``--log-dir`` (``results.jsonl``) and a Markdown table on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import page_load  # noqa: E402  (after the path is set)
import submit_load  # noqa: E402


def wrk_batch(args, duration: int, ids_out: Path | None = None) -> tuple[dict, str]:
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{args.batch_connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "10s",
        "-s",
        str(ROOT / "bench" / "batch.lua"),
        f"http://127.0.0.1:{args.port}",
    ]
    env = {
        **os.environ,
        "SUBMIT_DEVICES": str(args.devices_file),
        "BATCH_SIZE": str(args.batch_size),
        "WRK_THREADS": str(args.wrk_threads),
    }
    if ids_out is not None:
        env["SUBMIT_IDS_OUT"] = str(ids_out)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    out = done.stdout + done.stderr
    result: dict = {"statuses": {}, "items": {}}
    for status, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M):
        result["statuses"][int(status)] = int(n)
    for status, n in re.findall(r"^ITEMS (\d+) (\d+)$", out, re.M):
        result["items"][int(status)] = int(n)
    summary = re.search(r"^SUMMARY (.*)$", out, re.M)
    if summary is None:
        raise SystemExit(f"wrk failed: {out}")
    result.update({k: int(v) for k, v in (kv.split("=") for kv in summary.group(1).split())})
    for name, value in re.findall(r"^LATENCY (\S+) ([\d.]+) ms$", out, re.M):
        result[name] = float(value)
    return result, out


def measure_batch(args) -> dict:
    if args.reset:
        submit_load.reset(args.database_url)
    server = page_load.start_gunicorn("wsgi:app", args.port, args, args.log_dir / "gunicorn-batch.log")
    try:
        submit_load.wait_for_port(args.port, time.monotonic() + 60)
        time.sleep(1.0)
        wrk_batch(args, args.warmup)
        time.sleep(2.0)
        rows_before, flagged_before, _ = submit_load.count_rows(args.database_url)
        ids_file = args.log_dir / "batch-created-ids.txt"
        ids_file.unlink(missing_ok=True)
        before, sys_before = submit_load._proc_times(), submit_load._system_busy()
        t0 = time.monotonic()
        result, raw = wrk_batch(args, args.duration, ids_file)
        seconds = time.monotonic() - t0
        cpu = submit_load.cpu_split(before, submit_load._proc_times(), sys_before, submit_load._system_busy(), seconds)
    finally:
        page_load.stop(server)
    (args.log_dir / "wrk-batch.txt").write_text(raw)
    ids = [int(x) for x in ids_file.read_text().split()] if ids_file.exists() else []
    rows_after, flagged_after, found = submit_load.count_rows(args.database_url, ids)
    wall = result["duration_us"] / 1e6
    created = result["items"].get(201, 0)
    ok = sum(n for s, n in result["statuses"].items() if 200 <= s < 300)
    stored = rows_after - rows_before
    row = {
        "name": "batch",
        "batch_size": args.batch_size,
        "connections": args.batch_connections,
        "requests": result["requests"],
        "rps": result["requests"] / wall,
        "ratings_per_s": created / wall,
        "p50": result.get("p50"),
        "p90": result.get("p90"),
        "p99": result.get("p99"),
        "max": result.get("max"),
        "errors": result["requests"] - ok + sum(result[k] for k in ("connect_err", "read_err", "write_err", "timeout")),
        "statuses": result["statuses"],
        "items": result["items"],
        "rows_stored": stored,
        "rows_flagged": flagged_after - flagged_before,
        "cpu": cpu,
        # Every 201 item is one distinct stored row; other new rows are batches in flight at the stop.
        "check": len(ids) == created == len(set(ids)) == found
        and 0 <= stored - created <= args.batch_connections * args.batch_size,
    }
    print(
        f"batch    : {row['ratings_per_s']:7.1f} ratings/s ({row['rps']:.1f} batches/s of {args.batch_size})  "
        f"p50 {row['p50']:.1f} ms  p99 {row['p99']:.1f} ms  errors {row['errors']}  items {row['items']}  "
        f"check {'ok' if row['check'] else 'FAILED'}  cores {_cores(cpu)}",
        flush=True,
    )
    return row


def _cores(cpu: dict) -> str:
    return " ".join(f"{k} {v:.2f}" for k, v in cpu.items())


def measure_single(args) -> dict:
    run_args = argparse.Namespace(**vars(args))
    run_args.warmup = args.warmup
    row = submit_load.run_one(run_args, args.workers, args.threads, args.single_connections)
    return {
        "name": "single",
        "rps": row["created_per_s"],
        "p50": row["p50"],
        "p99": row["p99"],
        "max": row["max"],
        "errors": row["non_2xx"] + row["socket_errors"],
        "check": row["rows_match"],
        "cpu": row["cpu"],
        "connections": args.single_connections,
        "statuses": row["statuses"],
    }


def measure_hello(args) -> dict:
    server = page_load.start_gunicorn("bench.hello_app:app", args.port + 1, args, args.log_dir / "gunicorn-hello.log")
    try:
        submit_load.wait_for_port(args.port + 1, time.monotonic() + 60)
        time.sleep(1.0)
        hello_args = argparse.Namespace(**vars(args))
        hello_args.connections, hello_args.no_cache = args.hello_connections, False
        row = page_load.measure("hello", f"http://127.0.0.1:{args.port + 1}/", "vi", hello_args)
    finally:
        page_load.stop(server)
    return row


MEASUREMENTS = {"hello": measure_hello, "single": measure_single, "batch": measure_batch}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", submit_load.DEFAULT_URL))
    parser.add_argument("--devices-file", type=Path, default=submit_load.DEFAULT_DEVICES_FILE)
    parser.add_argument("--port", type=int, default=8123)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--duration", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--wrk-threads", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=100)
    parser.add_argument("--batch-connections", type=int, default=4)
    parser.add_argument("--single-connections", type=int, default=16)
    parser.add_argument("--hello-connections", type=int, default=16)
    parser.add_argument("--measure", default="hello,single,batch", help="which measurements, in this order per round")
    parser.add_argument("--reset", action="store_true", help="delete the bench devices' rows before each measurement")
    parser.add_argument("--log-dir", type=Path, default=Path("/tmp/bench/batch"))
    parser.add_argument(
        "--ratelimit-storage",
        default=os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/7"),
        help="production refuses in-memory limits with several workers (gunicorn.conf.py)",
    )
    args = parser.parse_args()
    args.log_dir.mkdir(parents=True, exist_ok=True)
    os.environ["RATELIMIT_STORAGE_URI"] = args.ratelimit_storage
    os.environ.setdefault("RATELIMIT_KEY_PREFIX", "bench-batch")
    os.environ["BENCH_PG_DATABASE"] = args.database_url.rsplit("/", 1)[-1]
    print(f"start {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}")
    rows = []
    for _ in range(args.rounds):
        measured = [measure(args) for name, measure in MEASUREMENTS.items() if name in args.measure.split(",")]
        rows += measured
        with open(args.log_dir / "results.jsonl", "a") as out:
            for row in measured:
                out.write(json.dumps(row) + "\n")
    print(f"end {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}, load average {os.getloadavg()[0]:.2f}")
    print("\n| measurement | per s (median of rounds) | p50 | p99 (worst round) | errors | check |")
    print("|---|---|---|---|---|---|")
    for name, unit in (("hello", "requests"), ("single", "ratings"), ("batch", "ratings")):
        group = [r for r in rows if r["name"] == name]
        if not group:
            continue
        rate = statistics.median(r["ratings_per_s"] if name == "batch" else r["rps"] for r in group)
        print(
            f"| {name} | {rate:,.0f} {unit} | {statistics.median(r['p50'] for r in group):.1f} ms | "
            f"{max(r['p99'] for r in group):.1f} ms | {sum(r['errors'] for r in group)} | "
            f"{all(r.get('check', True) for r in group)} |"
        )


if __name__ == "__main__":
    main()
