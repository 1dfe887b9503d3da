"""Ten minutes of mixed load through gunicorn against PostgreSQL (issue #8).

    export DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_load
    python bench/load.py setup --devices 40        # once: migrate, registry, seed if empty, publish, devices
    python bench/load.py run --duration 600        # the measurement

``setup`` migrates the database, loads the registry, seeds ``--responses`` demo responses if it
holds none, publishes every ended period and registers ``--devices`` kiosk tablets with the
operators' own command, ``flask --app webapp devices create --unit CODE --counter NAME``
(one process each, as an administrator would), spread over the provincial one-stop centre and
communes valid today. It writes their keys, the units with published figures, the indicators
and the latest quarters to a Lua file for ``bench/mixed.lua``.

``run`` starts gunicorn with the shipped ``gunicorn.conf.py`` (production settings, access log
off) and runs three wrk processes side by side for ``--duration`` seconds, one per kind of
request, each with its own connections and a paced rate (see ``bench/mixed.lua``):

* ``submit``: kiosk submissions, 5 % of them retries with the same ``client_id``;
* ``page``: public pages (home 20 %, indicator 30 %, unit 40 %, search 10 %; 20 % in English);
* ``api``: ``/api/v1/estimates`` by indicator or by unit (80 %), units and indicators lists.

It samples the resident memory (RSS) of the gunicorn master and workers every
``--sample`` seconds, measures the CPU used by gunicorn, PostgreSQL, wrk and the rest of the
machine, and prints per kind: requests/s, p50/p90/p99/max, statuses and socket errors. Every
loop is bounded in time. The results are appended to ``--log-dir``/results.jsonl.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from submit_load import _proc_times, _system_busy, cpu_split, lua_string, wait_for_port  # noqa: E402

DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/bench_load"
BIN = Path(sys.executable).parent
KINDS = ("submit", "page", "api")
SEARCHES = ("chieng", "muong", "son la", "phuong", "benh vien", "moc chau", "trung tam")


def flask_cli(url: str, *args: str) -> str:
    """Run ``flask --app webapp ARGS`` against ``url``; its standard output."""
    env = {**os.environ, "DATABASE_URL": url, "APP_ENV": "development"}
    done = subprocess.run(
        [str(BIN / "flask"), "--app", "webapp", *args], cwd=ROOT, env=env, check=True, capture_output=True, text=True
    )
    return done.stdout


# --- setup -------------------------------------------------------------------------------------


def _lua_list(values) -> str:
    return "{" + ", ".join(lua_string(v) for v in values) + "}"


def setup(args: argparse.Namespace) -> None:
    url = args.database_url
    for command in (
        ("db", "upgrade"),
        ("registry", "load"),
        ("demo", "seed", "--responses", str(args.responses), "--if-empty"),
        ("publish", "--all-ended"),
    ):
        print("flask", *command, flush=True)
        flask_cli(url, *command)

    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as conn:
        today = time.strftime("%Y-%m-%d")
        # counter-quick is an "admin" instrument: only units offering admin services take it.
        offered: dict[str, list[str]] = {}
        for unit, service in conn.execute(
            text(
                "select u.code, s.code from units u join unit_services us on us.unit_id = u.id "
                "join services s on s.id = us.service_id "
                "where s.sector = 'admin' and (u.code = 'sl-ttpvhcc' or (u.kind in ('commune', 'ward') "
                "and u.valid_from <= :today and (u.valid_to is null or u.valid_to >= :today))) "
                "order by u.code, s.code"
            ),
            {"today": today},
        ):
            offered.setdefault(unit, []).append(service)
        codes = ["sl-ttpvhcc"] + [c for c in offered if c != "sl-ttpvhcc"][: args.units - 1]
        quarters = [
            p
            for (p,) in conn.execute(
                text("select distinct period from published_snapshots where period like '%-Q%' order by period desc")
            )
        ][:4]
        units = [
            u
            for (u,) in conn.execute(
                text(
                    "select distinct domain from published_estimates e join published_snapshots s "
                    "on s.id = e.snapshot_id where s.period = :p and e.domain_type = 'unit' order by domain"
                ),
                {"p": quarters[0]},
            )
        ]
        indicators = [c for (c,) in conn.execute(text("select code from indicators order by id"))]
    engine.dispose()

    start = time.perf_counter()
    devices = []
    for i in range(args.devices):
        code = codes[i % len(codes)]
        out = flask_cli(url, "devices", "create", "--unit", code, "--counter", f"Bench {i + 1}")
        key = re.search(r"/kiosk/(\S+)", out)
        if key is None:
            raise SystemExit(f"no kiosk address in: {out}")
        devices.append((key.group(1), code))
    print(f"{len(devices)} devices over {len(set(c for _, c in devices))} units in {time.perf_counter() - start:.0f} s")
    lines = ["return {", "  devices = {"]
    for key, code in devices:
        lines.append(f"    {{key={lua_string(key)}, unit={lua_string(code)}, services={_lua_list(offered[code])}}},")
    lines += [
        "  },",
        f"  units = {_lua_list(units)},",
        f"  indicators = {_lua_list(indicators)},",
        f"  periods = {_lua_list(quarters)},",
        f"  searches = {_lua_list(s.replace(' ', '+') for s in SEARCHES)},",
        "}",
    ]
    args.data.parent.mkdir(parents=True, exist_ok=True)
    args.data.write_text("\n".join(lines) + "\n")
    print(f"wrote {args.data}: {len(devices)} devices, {len(units)} units, quarters {quarters}")


# --- memory ------------------------------------------------------------------------------------


def _rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


def _children(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def memory(master: int) -> dict:
    """RSS of the gunicorn master and of each worker (MiB)."""
    workers = {pid: _rss_mib(pid) for pid in _children(master)}
    return {"master": _rss_mib(master), "workers": {str(k): v for k, v in workers.items() if v is not None}}


# --- run ---------------------------------------------------------------------------------------


def start_wrk(kind: str, connections: int, period_ms: int, args: argparse.Namespace, duration: int):
    env = {
        **os.environ,
        "LOAD_KIND": kind,
        "LOAD_DATA": str(args.data),
        "LOAD_PERIOD_MS": str(period_ms),
        "LOAD_RETRY_SHARE": str(args.retry_share),
    }
    command = ["wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency", "--timeout", "10s"]
    command += ["-s", str(ROOT / "bench" / "mixed.lua"), f"http://127.0.0.1:{args.port}"]
    return subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def parse_wrk(out: str) -> dict:
    result: dict = {"statuses": {}}
    for status, n in re.findall(r"^STATUS (\d+) (\d+)$", out, re.M):
        result["statuses"][int(status)] = int(n)
    retries = re.search(r"^RETRIES (\d+)$", out, re.M)
    if retries:
        result["retries"] = int(retries.group(1))
    summary = re.search(r"^SUMMARY (.*)$", out, re.M)
    if summary is None:
        raise SystemExit(f"wrk failed: {out}")
    result.update({k: int(v) for k, v in (kv.split("=") for kv in summary.group(1).split())})
    for name, value in re.findall(r"^LATENCY (\S+) ([\d.]+) ms$", out, re.M):
        result[name] = float(value)
    return result


def _gunicorn(args: argparse.Namespace) -> subprocess.Popen:
    env = {
        **os.environ,
        "APP_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "DATABASE_URL": args.database_url,
        "GUNICORN_BIND": f"127.0.0.1:{args.port}",
        "GUNICORN_ACCESS_LOG": "",
    }
    if args.workers:
        env["WEB_CONCURRENCY"] = str(args.workers)
    args.log_dir.mkdir(parents=True, exist_ok=True)
    with open(args.log_dir / "gunicorn.log", "w") as log:
        return subprocess.Popen(
            [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "wsgi:app"],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def run(args: argparse.Namespace) -> None:
    plan = {
        "submit": (args.submit_connections, args.submit_period_ms),
        "page": (args.page_connections, args.page_period_ms),
        "api": (args.api_connections, args.api_period_ms),
    }
    server = _gunicorn(args)
    samples = []
    try:
        wait_for_port(args.port, time.monotonic() + 90)
        warm = [start_wrk(kind, c, p, args, args.warmup) for kind, (c, p) in plan.items()]
        for proc in warm:
            proc.communicate(timeout=args.warmup + 60)
        time.sleep(2.0)
        load_before = os.getloadavg()
        procs_before, sys_before = _proc_times(), _system_busy()
        start_memory = memory(server.pid)
        t0 = time.monotonic()
        running = {kind: start_wrk(kind, c, p, args, args.duration) for kind, (c, p) in plan.items()}
        deadline = t0 + args.duration + 90
        while any(p.poll() is None for p in running.values()) and time.monotonic() < deadline:
            time.sleep(min(args.sample, max(deadline - time.monotonic(), 0.1)))
            samples.append({"t": round(time.monotonic() - t0), "load": os.getloadavg()[0], **memory(server.pid)})
        outputs = {kind: proc.communicate(timeout=60)[0] for kind, proc in running.items()}
        seconds = time.monotonic() - t0
        end_memory = memory(server.pid)
        cpu = cpu_split(procs_before, _proc_times(), sys_before, _system_busy(), seconds)
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait(timeout=10)
    report = {
        "date": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "duration": args.duration,
        "plan": {k: {"connections": c, "period_ms": p} for k, (c, p) in plan.items()},
        "load_before": load_before,
        "cpu": cpu,
        "memory_start": start_memory,
        "memory_end": end_memory,
        "samples": samples,
        "kinds": {},
    }
    total = 0
    for kind, out in outputs.items():
        (args.log_dir / f"wrk-{kind}.txt").write_text(out)
        result = parse_wrk(out)
        wall = result["duration_us"] / 1e6
        ok = sum(n for s, n in result["statuses"].items() if 200 <= s < 300)
        socket_errors = sum(result[k] for k in ("connect_err", "read_err", "write_err", "timeout"))
        row = {
            "requests": result["requests"],
            "rps": result["requests"] / wall,
            "p50": result.get("p50"),
            "p90": result.get("p90"),
            "p99": result.get("p99"),
            "max": result.get("max"),
            "statuses": result["statuses"],
            "non_2xx": result["requests"] - ok,
            "socket_errors": socket_errors,
        }
        if kind == "submit":
            row["retries"] = result.get("retries", 0)
        report["kinds"][kind] = row
        total += row["rps"]
        print(
            f"{kind:<6}: {row['rps']:7.1f} req/s  p50 {row['p50']:7.1f} ms  p90 {row['p90']:7.1f} ms  "
            f"p99 {row['p99']:7.1f} ms  max {row['max']:7.0f} ms  statuses {row['statuses']}  "
            f"socket errors {socket_errors}" + (f"  retries sent {row['retries']}" if kind == "submit" else "")
        )
    print(
        f"total : {total:7.1f} req/s over {seconds:.0f} s; cores: " + " ".join(f"{k}={v:.2f}" for k, v in cpu.items())
    )
    print(f"load average before: {load_before}")

    def fmt(mem: dict) -> str:
        workers = sorted(mem["workers"].values())
        return f"master {mem['master']:.0f} MiB, workers " + ", ".join(f"{w:.0f}" for w in workers) + " MiB"

    print(f"RSS at start: {fmt(start_memory)}")
    print(f"RSS at end:   {fmt(end_memory)}")
    print("worker pids at start/end:", sorted(start_memory["workers"]), sorted(end_memory["workers"]))
    with open(args.log_dir / "results.jsonl", "a") as out:
        out.write(json.dumps(report) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL", DEFAULT_URL))
    parser.add_argument("--data", type=Path, default=Path("/tmp/bench/load/data.lua"))
    sub = parser.add_subparsers(dest="command", required=True)
    p_setup = sub.add_parser("setup")
    p_setup.add_argument("--responses", type=int, default=1_000_000)
    p_setup.add_argument("--devices", type=int, default=40)
    p_setup.add_argument("--units", type=int, default=20, help="sl-ttpvhcc and this many minus one communes")
    p_run = sub.add_parser("run")
    p_run.add_argument("--port", type=int, default=8125)
    p_run.add_argument("--duration", type=int, default=600)
    p_run.add_argument("--warmup", type=int, default=10)
    p_run.add_argument("--sample", type=float, default=30.0, help="seconds between RSS samples")
    p_run.add_argument("--workers", type=int, help="WEB_CONCURRENCY (default: gunicorn.conf.py's)")
    p_run.add_argument("--retry-share", type=float, default=0.05)
    # Offered rate per kind ≈ connections × 1000 / period_ms per second (see bench/README.md).
    p_run.add_argument("--submit-connections", type=int, default=30)
    p_run.add_argument("--submit-period-ms", type=int, default=1000)
    p_run.add_argument("--page-connections", type=int, default=20)
    p_run.add_argument("--page-period-ms", type=int, default=1000)
    p_run.add_argument("--api-connections", type=int, default=10)
    p_run.add_argument("--api-period-ms", type=int, default=1000)
    p_run.add_argument("--log-dir", type=Path, default=Path("/tmp/bench/load"))
    args = parser.parse_args()
    if args.command == "setup":
        setup(args)
    else:
        run(args)


if __name__ == "__main__":
    main()
