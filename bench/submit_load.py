"""Sustained kiosk submissions through gunicorn against PostgreSQL, driven by wrk.

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_submit
    python bench/submit_load.py setup --devices 1000            # once: migrate, registry, devices
    python bench/submit_load.py run --workers 4 --threads 2 --connections 32
    python bench/submit_load.py sweep                            # a few configurations in a row

``setup`` migrates the database, loads the registry and registers ``--devices`` kiosk tablets
in one process (``surveys.devices.create_device``), spread over ``sl-ttpvhcc`` and the
communes valid today, and writes their keys, units and the services each unit offers to a
Lua file for ``bench/submit.lua``. The rate limit is 120 submissions a minute per device key,
so the number of devices bounds the load: 1,000 devices allow 2,000 per second.

``run`` starts gunicorn with the shipped ``gunicorn.conf.py`` (production settings, access log
off) on a loopback port, warms it up for a few seconds, runs ``wrk`` from a second process
for ``--duration`` seconds, measures the CPU time of gunicorn, PostgreSQL, wrk and everything
else on the machine from ``/proc``, stops gunicorn and checks that the number of rows stored
equals the number of 201 answers. Every loop is bounded in time.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_submit"
DEFAULT_DEVICES_FILE = Path("/tmp/bench/devices.lua")
CLK_TCK = os.sysconf("SC_CLK_TCK")


# --- setup -------------------------------------------------------------------------------------


def flask_cli(url: str, *args: str) -> None:
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    subprocess.run(
        [str(Path(sys.executable).parent / "flask"), "--app", "webapp", *args], cwd=ROOT, env=env, check=True
    )


def lua_string(value: str) -> str:
    return json.dumps(value, ensure_ascii=True)  # a JSON string of ASCII is a valid Lua string


def setup(args) -> None:
    os.environ["DATABASE_URL"] = args.database_url
    os.environ.setdefault("APP_ENV", "development")
    flask_cli(args.database_url, "db", "upgrade")
    flask_cli(args.database_url, "registry", "load")

    from sqlalchemy import select

    import webapp
    from surveys.devices import create_device
    from webapp.extensions import db
    from webapp.models import Unit

    app = webapp.create_app()
    client = app.test_client()
    communes = client.get(f"/api/v1/units?valid_on={args.valid_on}&kind=commune").get_json()["units"]
    codes = ["sl-ttpvhcc"] + [u["code"] for u in communes[: args.units - 1]]
    offered: dict[str, list[str]] = {}
    for code in codes:
        unit = client.get(f"/api/v1/units/{code}").get_json()
        # counter-quick is an "admin" instrument: only admin services accept it.
        services = [s["code"] for s in unit["services"] if s["sector"] == "admin"]
        if services:
            offered[code] = services
    with app.app_context():
        from datetime import date

        from surveys.registry_cache import registry_view

        # Only service groups that exist today (ended groups are refused: service_not_valid_then).
        services_now = registry_view().services
        today = date.fromisoformat(args.valid_on)
        offered = {
            code: kept
            for code, services in offered.items()
            if (kept := [s for s in services if services_now[s].valid_on(today)])
        }
    codes = list(offered)
    start = time.perf_counter()
    entries = []
    with app.app_context():
        units = {u.code: u for u in db.session.scalars(select(Unit).where(Unit.code.in_(codes)))}
        for i in range(args.devices):
            code = codes[i % len(codes)]
            new = create_device(units[code], f"Quầy {i // len(codes) + 1}", label="bench", actor="bench")
            entries.append((new.key, code))
        db.session.commit()
    print(f"{len(entries)} devices over {len(codes)} units created in {time.perf_counter() - start:.1f} s")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    lines = ["return {"]
    for key, code in entries:
        services = ", ".join(lua_string(s) for s in offered[code])
        lines.append(f"  {{key={lua_string(key)}, unit={lua_string(code)}, services={{{services}}}}},")
    lines.append("}")
    args.out.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


# --- CPU accounting from /proc -----------------------------------------------------------------


def _proc_times() -> dict[int, tuple[str, int, float]]:
    """pid -> (group, ppid, CPU seconds including reaped children)."""
    out = {}
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry.name}/stat").read_text()
            cmdline = Path(f"/proc/{entry.name}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        ppid = int(fields[1])
        utime, stime, cutime, cstime = (int(x) for x in fields[11:15])
        if "gunicorn" in cmdline:
            group = "gunicorn"
        elif comm.startswith("postgres") or cmdline.startswith("postgres"):
            # With BENCH_PG_DATABASE set, backends of other databases (other workers' tests) are "other".
            backend = re.match(r"postgres: (?:[^:\s]+: )?\S+ (\S+) \S+\(", cmdline)
            other_db = (
                os.environ.get("BENCH_PG_DATABASE") and backend and backend.group(1) != os.environ["BENCH_PG_DATABASE"]
            )
            group = "other" if other_db else "postgres"
        elif comm == "wrk":
            group = "wrk"
        else:
            group = "other"
        out[int(entry.name)] = (group, ppid, (utime + stime + cutime + cstime) / CLK_TCK)
    return out


def _system_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    fields = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = fields[3] + fields[4]
    total = sum(fields[:8])
    return (total - idle) / CLK_TCK, total / CLK_TCK


def cpu_split(before: dict, after: dict, sys_before, sys_after, seconds: float) -> dict[str, float]:
    """Cores used on average by each group over the window (processes born inside count from 0)."""
    used: dict[str, float] = {"gunicorn": 0.0, "postgres": 0.0, "wrk": 0.0}
    for pid, (group, _ppid, cpu) in after.items():
        start = before.get(pid, (group, 0, 0.0))[2]
        if group in used:
            used[group] += max(cpu - start, 0.0)
    busy = sys_after[0] - sys_before[0]
    split = {k: v / seconds for k, v in used.items()}
    split["other"] = max(busy / seconds - sum(split.values()), 0.0)
    split["machine busy"] = busy / seconds
    return split


# --- run ---------------------------------------------------------------------------------------


def wait_for_port(port: int, deadline: float) -> None:
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"gunicorn did not listen on port {port} in time")


def count_rows(url: str, ids: list[int] | None = None) -> tuple[int, int, int]:
    """(rows, flagged rows, how many of ``ids`` are rows)."""
    from sqlalchemy import bindparam, create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        total = conn.execute(text("select count(*) from responses")).scalar()
        flagged = conn.execute(text("select count(*) from responses where status = 'flagged'")).scalar()
        found = 0
        query = text("select count(*) from responses where id in :ids").bindparams(bindparam("ids", expanding=True))
        for start in range(0, len(ids or ()), 20_000):  # under the drivers' parameter limits
            found += conn.execute(query, {"ids": ids[start : start + 20_000]}).scalar()
    engine.dispose()
    return total, flagged, found


def reset(url: str) -> None:
    """Delete the responses earlier runs stored from the bench devices, so every configuration
    starts from the same table (the burst check scans it: see bench/README.md)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url, isolation_level="AUTOCOMMIT")
    bench_rows = "select r.id from responses r join devices d on d.id = r.device_id where d.label = 'bench'"
    with engine.connect() as conn:
        conn.execute(text(f"delete from response_scores where response_id in ({bench_rows})"))
        conn.execute(text(f"delete from responses where id in ({bench_rows})"))
        if engine.dialect.name == "postgresql":
            conn.execute(text("vacuum (analyze) responses, response_scores"))
    engine.dispose()


def wrk(args, duration: int, connections: int, ids_out: Path | None = None) -> tuple[dict, str]:
    command = [
        "wrk",
        f"-t{args.wrk_threads}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        "--timeout",
        "5s",
        "-s",
        str(ROOT / "bench" / "submit.lua"),
        f"http://127.0.0.1:{args.port}",
    ]
    env = {**os.environ, "SUBMIT_DEVICES": str(args.devices_file)}
    if ids_out is not None:
        env["SUBMIT_IDS_OUT"] = str(ids_out)
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=duration + 60)
    text_out = done.stdout + done.stderr
    result: dict = {"statuses": {}}
    for status, n in re.findall(r"^STATUS (\d+) (\d+)$", text_out, re.M):
        result["statuses"][int(status)] = int(n)
    summary = re.search(r"^SUMMARY (.*)$", text_out, re.M)
    if summary:
        result.update({k: int(v) for k, v in (kv.split("=") for kv in summary.group(1).split())})
    for name, value in re.findall(r"^LATENCY (\S+) ([\d.]+) ms$", text_out, re.M):
        result[name] = float(value)
    return result, text_out


def run_one(args, workers: int, threads: int, connections: int) -> dict:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": args.database_url,
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
        "GUNICORN_ACCESS_LOG": "",
        "WEB_CONCURRENCY": str(workers),
        "GUNICORN_THREADS": str(threads),
    }
    if args.reset:
        reset(args.database_url)
    log_path = args.log_dir / f"gunicorn-w{workers}-t{threads}-c{connections}.log"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(args.port, time.monotonic() + 60)
        time.sleep(1.0)
        wrk(args, args.warmup, connections)  # connections, pools and caches warm
        time.sleep(2.0)  # let the warm-up's last requests (in flight when wrk stopped) commit
        rows_before, flagged_before, _ = count_rows(args.database_url)
        ids_file = args.log_dir / "created-ids.txt"
        ids_file.unlink(missing_ok=True)
        procs_before, sys_before = _proc_times(), _system_busy()
        t0 = time.monotonic()
        result, raw = wrk(args, args.duration, connections, ids_file)
        seconds = time.monotonic() - t0
        procs_after, sys_after = _proc_times(), _system_busy()
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    # Counted after gunicorn stopped gracefully: requests in flight when wrk stopped have
    # finished by now (stored, though wrk never saw their 201).
    ids = [int(x) for x in ids_file.read_text().split()] if ids_file.exists() else []
    rows_after, flagged_after, ids_found = count_rows(args.database_url, ids)
    (args.log_dir / f"wrk-w{workers}-t{threads}-c{connections}.txt").write_text(raw)
    created = result["statuses"].get(201, 0)
    wrk_seconds = result.get("duration_us", 0) / 1e6 or seconds
    ok = sum(n for s, n in result["statuses"].items() if 200 <= s < 300)
    row = {
        "workers": workers,
        "threads": threads,
        "connections": connections,
        "requests": result.get("requests", 0),
        "rps": result.get("requests", 0) / wrk_seconds,
        "created_per_s": created / wrk_seconds,
        "p50": result.get("p50"),
        "p90": result.get("p90"),
        "p99": result.get("p99"),
        "p99.9": result.get("p99.9"),
        "max": result.get("max"),
        "non_2xx": result.get("requests", 0) - ok,
        "socket_errors": sum(result.get(k, 0) for k in ("connect_err", "read_err", "write_err", "timeout")),
        "statuses": result["statuses"],
        "created": created,
        "rows_stored": rows_after - rows_before,
        "rows_flagged": flagged_after - flagged_before,
        "cpu": cpu_split(procs_before, procs_after, sys_before, sys_after, seconds),
    }
    # Every 201 is one distinct stored row; the only other new rows are the requests still in
    # flight when wrk stopped (at most one per connection).
    row["ids_distinct"] = len(set(ids))
    row["ids_found"] = ids_found
    row["in_flight_rows"] = row["rows_stored"] - created
    row["rows_match"] = len(ids) == created == len(set(ids)) == ids_found and 0 <= row["in_flight_rows"] <= connections
    print(format_row(row), flush=True)
    with open(args.log_dir / "results.jsonl", "a") as out:
        out.write(json.dumps(row) + "\n")
    return row


def format_row(row: dict) -> str:
    cpu = " ".join(f"{k}={v:.2f}" for k, v in row["cpu"].items())
    return (
        f"w={row['workers']} t={row['threads']} c={row['connections']}: {row['rps']:.0f} req/s "
        f"({row['created_per_s']:.0f} created/s), p50 {row['p50']:.1f} ms, p99 {row['p99']:.1f} ms, "
        f"max {row['max']:.0f} ms, non-2xx {row['non_2xx']}, socket errors {row['socket_errors']}, "
        f"statuses {row['statuses']}, rows {row['rows_stored']} (201s found {row['ids_found']}, "
        f"in flight at stop {row['in_flight_rows']}, check {'ok' if row['rows_match'] else 'FAILED'}, "
        f"flagged {row['rows_flagged']}); cores: {cpu}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--devices-file", type=Path, default=DEFAULT_DEVICES_FILE)
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup", help="migrate, load the registry, register devices")
    p_setup.add_argument("--devices", type=int, default=1000)
    p_setup.add_argument("--units", type=int, default=24, help="sl-ttpvhcc and this many minus one communes")
    p_setup.add_argument("--valid-on", default=time.strftime("%Y-%m-%d"))
    for name in ("run", "sweep"):
        p = sub.add_parser(name)
        p.add_argument("--port", type=int, default=8123)
        p.add_argument("--duration", type=int, default=30)
        p.add_argument("--warmup", type=int, default=5)
        p.add_argument("--wrk-threads", type=int, default=2)
        p.add_argument("--log-dir", type=Path, default=Path("/tmp/bench/submit"))
        p.add_argument("--reset", action="store_true", help="first delete the rows earlier runs stored")
        if name == "run":
            p.add_argument("--workers", type=int, default=4)
            p.add_argument("--threads", type=int, default=2)
            p.add_argument("--connections", type=int, default=32)
        else:
            p.add_argument(
                "--configs",
                default="2x1x16,3x1x16,4x1x32,4x2x32,5x1x32,3x4x32,4x2x64",
                help="workers x threads x connections, comma-separated",
            )
    args = parser.parse_args()
    if args.command == "setup":
        args.out = args.devices_file
        return setup(args)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    if args.command == "run":
        run_one(args, args.workers, args.threads, args.connections)
    else:
        rows = [run_one(args, *(int(x) for x in config.split("x"))) for config in args.configs.split(",")]
        best = max(
            (r for r in rows if r["non_2xx"] == 0 and r["socket_errors"] == 0),
            key=lambda r: r["created_per_s"],
            default=None,
        )
        if best:
            print("best without errors:", format_row(best))


if __name__ == "__main__":
    main()
