"""Benchmark of the analysis engine: 1,000,000 responses, 500 strata, 200 domains.

Usage (from the repository root)::

    python bench/analysis_bench.py            # engine vs bare numpy passes
    python bench/analysis_bench.py --with-r   # also R's svyby on the same data (needs Rscript + survey)
    python bench/analysis_bench.py --cli --write-readme   # the command line vs bare pandas/Arrow processes

``--cli`` writes the data to a CSV and times, as separate processes in
alternating rounds, ``python -m analysis estimate`` on it, two bare processes
forming the same sums (``pandas.read_csv`` or ``pyarrow.csv.read_csv``, then
``np.bincount``), and the start-up floor (a process that only imports
pyarrow.csv and scipy.special); it checks that the command's numbers agree
with the reference (``csv`` module) reader's and with the bare processes' to
1e-12 (and stops if not), and ``--write-readme`` puts the result in
``bench/README.md``.

The data are generated here with a fixed seed (weighting cells as strata,
``w = N_h / n_h``, 0/1 outcome around 85 %, domains crossing the cells).
Timed, each best of ``--repeat`` runs, in the same process:

* ``engine``: :func:`analysis.estimate_proportion` with R's ``beta`` interval
  for the whole sample and all 200 domains (estimates, SEs, intervals,
  design effects, status) from the response arrays, validation included;
* ``engine (from sums)``: :func:`analysis.estimate_from_sums` on the
  per-(stratum, domain) sums, i.e. the web application's path after SQL;
* ``numpy sums``: a bare numpy pass forming only the per-(stratum, domain)
  sums n, Σw, Σwy, Σw², Σw²y with ``np.bincount`` — the least any exact
  engine must do;
* ``numpy means``: an even barer pass forming only Σw and Σwy per domain
  (point estimates, no variance).
"""

from __future__ import annotations

import argparse
import csv
import datetime
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import analysis  # noqa: E402

REPO_ROOT = Path(__file__).resolve().parents[1]

N_RESPONSES = 1_000_000
N_STRATA = 500
N_DOMAINS = 200


def make_data(seed=20260101):
    rng = np.random.default_rng(seed)
    stratum = rng.integers(0, N_STRATA, size=N_RESPONSES)
    counts = np.bincount(stratum, minlength=N_STRATA)
    population = (counts * rng.uniform(5, 200, size=N_STRATA)).round()
    weights = (population / counts)[stratum]
    # Domains (units) mostly nested in groups of cells, with some crossing.
    domain = (
        stratum * N_DOMAINS // N_STRATA + (rng.random(N_RESPONSES) < 0.2) * rng.integers(0, N_DOMAINS, size=N_RESPONSES)
    ) % N_DOMAINS
    rate = 1 / (1 + np.exp(-(1.7 + 0.6 * rng.standard_normal(N_STRATA))))
    y = (rng.random(N_RESPONSES) < rate[stratum]).astype(float)
    return y, weights, stratum, domain


def best_of(repeat, function):
    times = []
    result = None
    for _ in range(repeat):
        start = time.perf_counter()
        result = function()
        times.append(time.perf_counter() - start)
    return min(times), result


def numpy_sums(y, weights, stratum, domain):
    key = stratum * N_DOMAINS + domain
    size = N_STRATA * N_DOMAINS
    w2 = weights * weights
    return (
        np.bincount(key, minlength=size),
        np.bincount(key, weights=weights, minlength=size),
        np.bincount(key, weights=weights * y, minlength=size),
        np.bincount(key, weights=w2, minlength=size),
        np.bincount(key, weights=w2 * y, minlength=size),
    )


def numpy_means(y, weights, domain):
    sw = np.bincount(domain, weights=weights, minlength=N_DOMAINS)
    swy = np.bincount(domain, weights=weights * y, minlength=N_DOMAINS)
    return swy / sw


R_SCRIPT = r"""
suppressMessages(library(survey))
d <- read.csv(commandArgs(TRUE)[1])
t0 <- proc.time()[["elapsed"]]
dsn <- svydesign(id=~1, strata=~stratum, weights=~w, data=d)
r <- svyby(~y, ~domain, dsn, svyciprop, method="beta", vartype=c("se","ci"))
cat(sprintf("%.3f\n", proc.time()[["elapsed"]] - t0))
"""


def run_r(y, weights, stratum, domain):
    if shutil.which("Rscript") is None:
        return None
    with tempfile.TemporaryDirectory() as folder:
        data_path = Path(folder) / "bench.csv"
        with open(data_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["y", "w", "stratum", "domain"])
            writer.writerows(
                zip(y.astype(int).tolist(), weights.tolist(), stratum.tolist(), domain.tolist(), strict=False)
            )
        script = Path(folder) / "bench.R"
        script.write_text(R_SCRIPT)
        completed = subprocess.run(["Rscript", str(script), str(data_path)], capture_output=True, text=True)
        if completed.returncode != 0:
            print(completed.stderr, file=sys.stderr)
            return None
        return float(completed.stdout.strip().splitlines()[-1])


CLI_ARGUMENTS = ["--y", "y", "--weights", "w", "--strata", "stratum", "--by", "domain", "--ci", "beta"]

# The bare processes: the least any tool reading this CSV must do (read it, form the per-cell sums),
# with either reader; the command is compared with the faster of the two in each round.
# pandas 3 imports pyarrow when it is installed (for its string type): the pandas process blocks that
# import, so it runs as it did before pyarrow was a requirement (and is faster for it).
BARE_PANDAS = r"""
import json, sys
sys.modules["pyarrow"] = None
import numpy as np
import pandas as pd
frame = pd.read_csv(sys.argv[1])
y = frame["y"].to_numpy(float)
w = frame["w"].to_numpy(float)
key = frame["stratum"].to_numpy() * int(sys.argv[2]) + frame["domain"].to_numpy()
w2 = w * w
sums = [np.bincount(key, weights=v) for v in (np.ones_like(w), w, w * y, w2, w2 * y)]
domain = frame["domain"].to_numpy()
sw, swy = np.bincount(domain, weights=w), np.bincount(domain, weights=w * y)
json.dump({"overall": float(sums[2].sum() / sums[1].sum()), "domains": (swy / sw).tolist()}, sys.stdout)
"""

BARE_ARROW = r"""
import json, sys
import numpy as np
import pyarrow.csv
table = pyarrow.csv.read_csv(sys.argv[1])
def column(name):
    return np.concatenate([np.from_dlpack(chunk) for chunk in table.column(name).chunks])
y = column("y").astype(float)
w = column("w")
key = column("stratum") * int(sys.argv[2]) + column("domain")
w2 = w * w
sums = [np.bincount(key, weights=v) for v in (np.ones_like(w), w, w * y, w2, w2 * y)]
domain = column("domain")
sw, swy = np.bincount(domain, weights=w), np.bincount(domain, weights=w * y)
json.dump({"overall": float(sums[2].sum() / sums[1].sum()), "domains": (swy / sw).tolist()}, sys.stdout)
"""

# The old path: the same command with the fast reader and the label hashing switched off
# (the csv module reads the file and np.unique sorts the labels, as before issue #18).
REFERENCE = r"""
import sys
from analysis import _checks, cli
cli._read_fast = lambda args: None
_checks._factorize_by_hashing = lambda array, name: None
sys.exit(cli.main(sys.argv[1:]))
"""

# The least the command must load: Arrow's CSV reader, and scipy.special for the intervals.
FLOOR_COMMAND = [sys.executable, "-c", "import json, pyarrow.csv, scipy.special; print(json.dumps(0))"]

README_BEGIN = "<!-- analysis_bench --cli: begin -->"
README_END = "<!-- analysis_bench --cli: end -->"


def timed(command, cpu=None):
    """Wall time and parsed output of a process; with a list ``cpu``, its CPU time (user + system) is appended."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    completed = subprocess.run(command, capture_output=True, text=True, cwd=REPO_ROOT)
    elapsed = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if completed.returncode != 0:
        raise SystemExit(f"{command[:3]} failed: {completed.stderr}")
    if cpu is not None:
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
    return elapsed, json.loads(completed.stdout)


def worst_relative_difference(rows, other_rows, fields):
    worst = 0.0
    for row, other in zip(rows, other_rows, strict=True):
        assert row["domain"] == other["domain"]
        for field in fields:
            a, b = row[field], other[field]
            if a is None or b is None:
                assert a is b, (row["domain"], field)
                continue
            worst = max(worst, abs(a - b) / max(abs(b), 1e-300))
    return worst


def run_cli_bench(y, weights, stratum, domain, repeat):
    """Time the command line against the bare processes; returns the measurements."""
    load_before = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as folder:
        data_path = Path(folder) / "responses.csv"
        with open(data_path, "w", newline="") as handle:
            writer = csv.writer(handle)
            writer.writerow(["y", "w", "stratum", "domain"])
            writer.writerows(
                zip(y.astype(int).tolist(), weights.tolist(), stratum.tolist(), domain.tolist(), strict=True)
            )
        size_mb = data_path.stat().st_size / 1e6
        commands = {
            "cli": [sys.executable, "-m", "analysis", "estimate", str(data_path), *CLI_ARGUMENTS],
            "bare_pandas": [sys.executable, "-c", BARE_PANDAS, str(data_path), str(N_DOMAINS)],
            "bare_arrow": [sys.executable, "-c", BARE_ARROW, str(data_path), str(N_DOMAINS)],
            "floor": FLOOR_COMMAND,
        }
        reference_command = [sys.executable, "-c", REFERENCE, "estimate", str(data_path), *CLI_ARGUMENTS]
        reference_time, reference = timed(reference_command)
        times = {name: [] for name in commands}
        cpu_times = {name: [] for name in commands}
        outputs = {}
        for _ in range(repeat):
            for name, command in commands.items():
                elapsed, outputs[name] = timed(command, cpu_times[name])
                times[name].append(elapsed)
    load_after = os.getloadavg()[0]
    rows, reference_rows = outputs["cli"]["estimates"], reference["estimates"]
    fields = ("n", "estimate", "se", "var", "ci_low", "ci_high", "deff", "n_eff", "sum_w")
    worst_reference = worst_relative_difference(rows, reference_rows, fields)
    # The bare processes code domains as integers, the command as text (sorted as text): match by label.
    by_label = {int(row["domain"]): row["estimate"] for row in rows[1:]}
    worst_bare = max(
        abs(value - expected) / expected
        for bare in (outputs["bare_pandas"], outputs["bare_arrow"])
        for value, expected in [(rows[0]["estimate"], bare["overall"])]
        + [(by_label[d], expected) for d, expected in enumerate(bare["domains"])]
    )
    if not (worst_reference <= 1e-12 and worst_bare <= 1e-12):
        raise SystemExit(f"numbers differ: {worst_reference:.1e} from the reference, {worst_bare:.1e} from bare")
    arrays = {name: np.array(values) for name, values in times.items()}
    bare = np.minimum(arrays["bare_pandas"], arrays["bare_arrow"])  # the faster bare process of each round
    return {
        "size_mb": size_mb,
        "best": {name: float(values.min()) for name, values in arrays.items()},
        "median": {name: float(np.median(values)) for name, values in arrays.items()},
        "cpu": {name: float(np.median(values)) for name, values in cpu_times.items()},
        "reference": reference_time,
        "ratio": float(arrays["cli"].min() / bare.min()),
        "median_ratio": float(np.median(arrays["cli"] / bare)),
        "floor_ratio": float(arrays["floor"].min() / bare.min()),
        "floor_median_ratio": float(np.median(arrays["floor"] / bare)),
        "worst_reference": worst_reference,
        "worst_bare": worst_bare,
        "repeat": repeat,
        "load_before": load_before,
        "load_after": load_after,
    }


def cli_report(result, machine):
    command = "python -m analysis estimate responses.csv " + " ".join(CLI_ARGUMENTS)
    best, median, cpu = result["best"], result["median"], result["cpu"]
    bare_best = min(best["bare_pandas"], best["bare_arrow"])

    def row(text, name, bold=False):
        value = f"{best[name]:.2f} s"
        return f"| {text} | {f'**{value}**' if bold else value} | {median[name]:.2f} s | {cpu[name]:.2f} s |"

    return [
        f"Measured {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC with "
        f"`python bench/analysis_bench.py --cli --write-readme` ({result['repeat']} alternating rounds; "
        f"load average {result['load_before']:.2f} before the run, {result['load_after']:.2f} after it).",
        f"Machine: {machine}.",
        "",
        f"Data: the {N_RESPONSES:,} responses above written to a {result['size_mb']:.1f} MB CSV "
        "(y as 0/1, w with 17 significant digits, stratum and domain as integers).",
        "",
        "| process (wall time, start to exit; CPU time, user + system, all threads) | best | median | CPU, median |",
        "|---|---|---|---|",
        row(
            f"`{command}` (Arrow's CSV reader on two threads, labels dictionary-encoded as they are parsed "
            "and passed on as integer codes; pandas not loaded)",
            "cli",
            bold=True,
        ),
        row(
            "bare process, pandas: `python -c` with `pandas.read_csv` (types inferred; pyarrow kept out, as "
            "before it was installed) + five `np.bincount` per-(stratum, domain) sums and the domain means",
            "bare_pandas",
        ),
        row("bare process, Arrow: the same with `pyarrow.csv.read_csv` (types inferred)", "bare_arrow"),
        row(
            'start-up floor: `python -c "import pyarrow.csv, scipy.special"` (what the command loads; nothing read)',
            "floor",
        ),
        f"| baseline, same run: the same command with the `csv`-module reader and `np.unique` sorting "
        f"(the code before issue #18; once) | {result['reference']:.2f} s | | |",
        "",
        f"Command / bare process (the faster of the two bare processes, round by round): "
        f"**{result['ratio']:.2f}×** (best of each), **{result['median_ratio']:.2f}×** (median of the per-round "
        f"ratios); before issue #18: {result['reference'] / bare_best:.1f}×. Start-up floor / bare process: "
        f"{result['floor_ratio']:.2f}× (best of each), {result['floor_median_ratio']:.2f}× (median of the "
        f"per-round ratios). Numbers: largest relative difference from the reference reader "
        f"{result['worst_reference']:.1e} (n, estimate, se, var, interval, deff, n_eff, Σw of all 201 rows); "
        f"from the bare processes' Σwy/Σw {result['worst_bare']:.1e}.",
    ]


def write_readme(lines):
    readme = Path(__file__).resolve().parent / "README.md"
    text = readme.read_text(encoding="utf-8")
    block = "\n".join([README_BEGIN, *lines, README_END])
    if README_BEGIN in text:
        before, rest = text.split(README_BEGIN, 1)
        text = before + block + rest.split(README_END, 1)[1]
    else:
        anchor = "### Coverage of the 95 % intervals (simulation)"
        heading = "### The command line on a 1,000,000-row CSV (issue #18)\n\n"
        text = text.replace(anchor, heading + block + "\n\n" + anchor, 1)
    readme.write_text(text, encoding="utf-8")


def cpu_model():
    try:
        for line in subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines():
            if line.startswith("Model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=15, help="runs per measurement (best is reported)")
    parser.add_argument("--with-r", action="store_true", help="also time R's svyby (slow)")
    parser.add_argument(
        "--cli", action="store_true", help="time the command line against bare pandas and Arrow processes"
    )
    parser.add_argument("--write-readme", action="store_true", help="with --cli: write the result in bench/README.md")
    args = parser.parse_args(argv)

    y, weights, stratum, domain = make_data()
    machine = f"{cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}"
    print(f"machine: {machine}")
    print(f"data: {N_RESPONSES:,} responses, {N_STRATA} strata, {N_DOMAINS} domains")
    if args.cli:
        import pandas
        import pyarrow

        machine += f", pandas {pandas.__version__}, pyarrow {pyarrow.__version__}"
        lines = cli_report(run_cli_bench(y, weights, stratum, domain, args.repeat), machine)
        print("\n".join(lines))
        if args.write_readme:
            write_readme(lines)
        return 0

    sums = analysis.sufficient_statistics(y, weights, stratum, domain)
    engine_times, numpy_times, sums_times, means_times = [], [], [], []
    # Interleave the measurements so that load from other processes on the
    # machine hits all of them alike; report the best of each and the median
    # of the per-round ratios.
    for _ in range(args.repeat):
        t, result = best_of(
            1, lambda: analysis.estimate_proportion(y, weights, stratum, domains=domain, ci_method="beta")
        )
        engine_times.append(t)
        t, _ = best_of(1, lambda: numpy_sums(y, weights, stratum, domain))
        numpy_times.append(t)
        t, from_sums = best_of(
            1,
            lambda: analysis.estimate_from_sums(
                sums.stratum, sums.domain, sums.n, sums.sw, sums.swy, sums.sw2, sums.sw2y, ci_method="beta"
            ),
        )
        sums_times.append(t)
        t, _ = best_of(1, lambda: numpy_means(y, weights, domain))
        means_times.append(t)
    engine_time, numpy_time = min(engine_times), min(numpy_times)
    sums_time, means_time = min(sums_times), min(means_times)
    median_ratio = float(np.median(np.array(engine_times) / np.array(numpy_times)))

    worst = max(abs(a.var - b.var) / a.var for a, b in zip(result.rows(), from_sums.rows(), strict=False))
    print(f"engine (responses -> 201 rows with SE, beta CI):  {engine_time * 1000:8.1f} ms")
    print(f"engine (from {sums.n.size:,} (stratum, domain) sums):      {sums_time * 1000:8.1f} ms")
    print(f"numpy sums (n, Σw, Σwy, Σw², Σw²y per cell):     {numpy_time * 1000:8.1f} ms")
    print(f"numpy means (Σw, Σwy per domain only):            {means_time * 1000:8.1f} ms")
    print(
        f"engine / numpy sums: {engine_time / numpy_time:.2f}x (best), {median_ratio:.2f}x (median of rounds);  "
        f"engine / numpy means: {engine_time / means_time:.2f}x"
    )
    print(f"per-response and sums paths agree: max relative difference in var {worst:.1e}")
    if args.with_r:
        r_time = run_r(y, weights, stratum, domain)
        if r_time is None:
            print("R: not available")
        else:
            print(f"R survey svyby(svyciprop, method='beta'):        {r_time * 1000:8.1f} ms")
    return 0


if __name__ == "__main__":
    sys.exit(main())
