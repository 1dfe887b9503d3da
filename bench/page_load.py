"""Public pages through gunicorn, beside a bare Flask "hello" app, driven by wrk (issue #6).

    export DATABASE_URL=sqlite:////tmp/bench/pages.sqlite3
    python bench/page_load.py prepare                  # once: migrate, registry, 1M responses, publish
    python bench/page_load.py run --duration 20 --rounds 2

``prepare`` migrates the database, loads the registry, seeds ``--responses`` demo responses if
it holds none (1,000,000: about 3 minutes on SQLite) and publishes every ended period.

``run`` starts two gunicorns with the shipped ``gunicorn.conf.py`` and the same settings
(workers and threads from the environment or the config's defaults, access log off): the site
(``wsgi:app``, production configuration) and ``bench/hello_app.py``. wrk, a second process,
then loads one path at a time for ``--duration`` seconds after a short warm-up, in rounds that
interleave the paths so that load from other processes on the machine affects all alike:

* ``hello``: ``GET /`` of the bare app (the ceiling);
* ``home``: ``GET /``;
* ``indicator``: ``GET /indicators/<code>`` of the first satisfaction indicator;
* ``unit``: ``GET /units/<code>`` of the unit with the most published rows in the latest quarter;

each in Vietnamese (no header: the default) and, with ``--english``, in English
(``Accept-Language: en``). It prints requests/s, p50/p99, errors and the cores used by
gunicorn and by everything else, and appends every measurement to ``--log-dir``/results.jsonl.
Nothing is written to the database by ``run``.

``--ab`` also starts the site with the fast path of cached pages switched off
(``PUBLIC_FAST_PATH=0``: every request through Flask, as before issue #18) on the port after
the bare app's, and measures each page there right after the fast one, in the same rounds.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from submit_load import _proc_times, _system_busy, cpu_split, wait_for_port  # noqa: E402

DEFAULT_URL = "sqlite:////tmp/bench/pages.sqlite3"
BIN = Path(sys.executable).parent


def flask_cli(url: str, *args: str) -> None:
    """Run ``flask --app webapp ARGS`` against ``url``."""
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    subprocess.run([str(BIN / "flask"), "--app", "webapp", *args], cwd=ROOT, env=env, check=True)


def prepare(args: argparse.Namespace) -> None:
    """Migrate, load the registry, seed if empty, publish every ended period."""
    flask_cli(args.database_url, "db", "upgrade")
    flask_cli(args.database_url, "registry", "load")
    flask_cli(args.database_url, "demo", "seed", "--responses", str(args.responses), "--if-empty")
    flask_cli(args.database_url, "publish", "--all-ended")


def pick_paths(url: str) -> tuple[dict[str, str], int]:
    """The paths to load and the number of published quarters."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        indicator = conn.execute(
            text("select code from indicators where kind <> 'coverage' order by id limit 1")
        ).scalar_one()
        quarters = conn.execute(
            text("select count(distinct period) from published_snapshots where period like '%-Q%'")
        ).scalar_one()
        latest = conn.execute(
            text(
                "select id from published_snapshots where period like '%-Q%' order by period desc, revision desc limit 1"
            )
        ).scalar()
        unit = conn.execute(
            text(
                "select domain from published_estimates where snapshot_id = :s and domain_type = 'unit' "
                "group by domain order by count(*) desc, domain limit 1"
            ),
            {"s": latest},
        ).scalar()
    engine.dispose()
    if unit is None:
        raise SystemExit("No published quarter with unit figures: run 'page_load.py prepare' first.")
    return {"home": "/", "indicator": f"/indicators/{indicator}", "unit": f"/units/{unit}"}, quarters


def start_gunicorn(
    app: str, port: int, args: argparse.Namespace, log: Path, extra: dict[str, str] | None = None
) -> subprocess.Popen:
    """gunicorn with the shipped config on ``port``; the same settings for every app."""
    env = {
        **os.environ,
        **(extra or {}),
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": args.database_url,
        "GUNICORN_BIND": f"127.0.0.1:{port}",
        # The address visitors use, as in production: the pages rendered before the fork
        # (``webapp.warm_up``) are keyed on it.
        "PUBLIC_BASE_URL": f"http://127.0.0.1:{port}",
        "GUNICORN_ACCESS_LOG": "",
        # Production refuses per-worker rate limits; cached pages never count against them.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "redis://127.0.0.1:6379/7"),
        "RATELIMIT_KEY_PREFIX": os.environ.get("RATELIMIT_KEY_PREFIX", "bench-pages"),
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    if args.threads:
        env["GUNICORN_THREADS"] = str(args.threads)
    with open(log, "w") as out:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", app],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop(server: subprocess.Popen) -> None:
    server.send_signal(signal.SIGTERM)
    try:
        server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        server.wait(timeout=10)


def wrk(url: str, duration: int, connections: int, threads: int, headers: dict[str, str]) -> dict:
    """One wrk run with bench/get.lua; the parsed STATUS/SUMMARY/LATENCY lines."""
    command = ["wrk", f"-t{threads}", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "5s"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    command += ["-s", str(ROOT / "bench" / "get.lua"), url]
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60)
    out = done.stdout + done.stderr
    result: dict = {"statuses": {}}
    for status, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M):
        result["statuses"][int(status)] = int(n)
    summary = re.search(r"^SUMMARY (.*)$", out, re.M)
    if summary is None:
        raise SystemExit(f"wrk failed: {out}")
    result.update({k: int(v) for k, v in (kv.split("=") for kv in summary.group(1).split())})
    for name, value in re.findall(r"^LATENCY (\S+) ([\d.]+) ms$", out, re.M):
        result[name] = float(value)
    return result


def measure(name: str, url: str, lang: str, args: argparse.Namespace, variant: str = "site") -> dict:
    headers = {"Accept-Language": lang} if lang != "vi" else {}
    wrk(url, args.warmup, args.connections, args.wrk_threads, headers)
    before, sys_before = _proc_times(), _system_busy()
    t0 = time.monotonic()
    result = wrk(url, args.duration, args.connections, args.wrk_threads, headers)
    seconds = time.monotonic() - t0
    cpu = cpu_split(before, _proc_times(), sys_before, _system_busy(), seconds)
    wall = result["duration_us"] / 1e6
    ok = sum(n for s, n in result["statuses"].items() if 200 <= s < 300)
    row = {
        "name": name,
        "variant": variant,
        "lang": lang,
        "cache": not args.no_cache,
        "url": url,
        "connections": args.connections,
        "rps": result["requests"] / wall,
        "p50": result.get("p50"),
        "p90": result.get("p90"),
        "p99": result.get("p99"),
        "max": result.get("max"),
        "errors": result["requests"] - ok + sum(result[k] for k in ("connect_err", "read_err", "write_err", "timeout")),
        "statuses": result["statuses"],
        "cpu": cpu,
    }
    print(
        f"{name:<9} {variant:<8} {lang}: {row['rps']:7.1f} req/s  p50 {row['p50']:6.1f} ms  p99 {row['p99']:6.1f} ms  "
        f"errors {row['errors']}  cores gunicorn {cpu['gunicorn']:.2f} wrk {cpu['wrk']:.2f} "
        f"other {cpu['other'] + cpu['postgres']:.2f}",
        flush=True,
    )
    with open(args.log_dir / "results.jsonl", "a") as out:
        out.write(json.dumps(row) + "\n")
    return row


def summarize(rows: list[dict]) -> None:
    """Median over the rounds per (page, variant, language), and each one's share of hello's req/s."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for row in rows:
        groups.setdefault((row["name"], row.get("variant", "site"), row["lang"]), []).append(row)
    hello = statistics.median(r["rps"] for r in groups[("hello", "site", "vi")])
    print(
        "\n| page | site | lang | req/s (median of rounds) | share of hello (per round) | p50 ms | p99 ms (worst round) | errors |"
    )
    print("|---|---|---|---|---|---|---|---|")
    hello_by_round = [r["rps"] for r in groups[("hello", "site", "vi")]]
    for (name, variant, lang), found in groups.items():
        rps = statistics.median(r["rps"] for r in found)
        p50 = statistics.median(r["p50"] for r in found)
        p99 = max(r["p99"] for r in found)
        errors = sum(r["errors"] for r in found)
        rounds = ", ".join(f"{r['rps'] / h:.0%}" for r, h in zip(found, hello_by_round, strict=False))
        print(
            f"| {name} | {variant} | {lang} | {rps:,.0f} | {rps / hello:.0%} ({rounds}) | {p50:.1f} | {p99:.1f} | {errors} |"
        )


def run(args: argparse.Namespace) -> None:
    paths, quarters = pick_paths(args.database_url)
    print(f"{quarters} published quarters; paths: {paths}")
    if quarters < 4:
        raise SystemExit("The aim is measured with at least four published quarters.")
    args.log_dir.mkdir(parents=True, exist_ok=True)
    site_app = "bench.wsgi_nocache:app" if args.no_cache else "wsgi:app"
    site = start_gunicorn(site_app, args.port, args, args.log_dir / "gunicorn-site.log")
    hello = start_gunicorn("bench.hello_app:app", args.port + 1, args, args.log_dir / "gunicorn-hello.log")
    servers = [site, hello]
    sites = [("site", args.port)]
    if args.ab:
        servers.append(
            start_gunicorn(
                site_app, args.port + 2, args, args.log_dir / "gunicorn-flask.log", {"PUBLIC_FAST_PATH": "0"}
            )
        )
        sites.append(("flask", args.port + 2))
    rows = []
    try:
        deadline = time.monotonic() + 90
        for port in range(args.port, args.port + len(servers)):
            wait_for_port(port, deadline)
        time.sleep(1.0)
        languages = ["vi", "en"] if args.english else ["vi"]
        for _ in range(args.rounds):
            rows.append(measure("hello", f"http://127.0.0.1:{args.port + 1}/", "vi", args))
            for name, path in paths.items():
                for lang in languages:
                    for variant, port in sites:
                        rows.append(measure(name, f"http://127.0.0.1:{port}{path}", lang, args, variant))
    finally:
        for server in servers:
            stop(server)
    summarize(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    sub = parser.add_subparsers(dest="command", required=True)
    p_prepare = sub.add_parser("prepare", help="migrate, load the registry, seed if empty, publish")
    p_prepare.add_argument("--responses", type=int, default=1_000_000)
    p_run = sub.add_parser("run", help="measure the pages and the bare app")
    p_run.add_argument("--port", type=int, default=8124, help="the site; the bare app listens on the next port")
    p_run.add_argument("--duration", type=int, default=20)
    p_run.add_argument("--warmup", type=int, default=3)
    p_run.add_argument("--rounds", type=int, default=2)
    p_run.add_argument("--connections", type=int, default=8)
    p_run.add_argument("--wrk-threads", type=int, default=2)
    p_run.add_argument("--workers", type=int, help="WEB_CONCURRENCY for both apps (default: gunicorn.conf.py's)")
    p_run.add_argument("--threads", type=int, help="GUNICORN_THREADS for both apps")
    p_run.add_argument("--english", action="store_true", help="also measure every page in English")
    p_run.add_argument("--no-cache", action="store_true", help="serve the site with the page cache off")
    p_run.add_argument("--ab", action="store_true", help="also measure the site with PUBLIC_FAST_PATH=0, interleaved")
    p_run.add_argument("--log-dir", type=Path, default=Path("/tmp/bench/pages"))
    args = parser.parse_args()
    if args.command == "prepare":
        prepare(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
