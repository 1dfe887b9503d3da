"""Benchmark of the analysis engine: 1,000,000 responses, 500 strata, 200 domains.

Usage (from the repository root)::

    python bench/analysis_bench.py            # engine vs bare numpy passes
    python bench/analysis_bench.py --with-r   # also R's svyby on the same data (needs Rscript + survey)

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
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import analysis  # noqa: E402

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
    args = parser.parse_args(argv)

    y, weights, stratum, domain = make_data()
    print(f"machine: {cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, numpy {np.__version__}")
    print(f"data: {N_RESPONSES:,} responses, {N_STRATA} strata, {N_DOMAINS} domains")

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
