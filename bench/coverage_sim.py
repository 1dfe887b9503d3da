"""Coverage of every interval method by simulation (the table in bench/README.md).

Usage (from the repository root)::

    python bench/coverage_sim.py [--replicates 10000] [--seeds 1 2 3 4 5]

Same design as ``tests/analysis/test_simulation.py`` (which runs 2,000
replicates of seed 1): 30 weighting cells of 2–20 responses, weights N_h/n_h
from 20 to 1000, satisfaction varying between cells around 85 % and 97.5 %;
each sample analysed as ``svydesign(id=~1, strata=~cell, weights=~w)``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.analysis.simulation import METHODS, SETTINGS, coverage  # noqa: E402


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--replicates", type=int, default=10000)
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3, 4, 5])
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(f"{args.replicates} replicates per population; populations (seeds) {args.seeds}")
    print("coverage of the 95% interval: mean over populations [min - max]; mean width; miss below / above")
    for name, (level, spread) in SETTINGS.items():
        runs = [coverage(seed, args.replicates, level=level, spread=spread) for seed in args.seeds]
        truths = ", ".join(f"{truth:.3f}" for truth, _, _ in runs)
        sizes = ", ".join(str(n) for _, n, _ in runs)
        print(f"\n{name}: true proportions {truths}; sample sizes {sizes}")
        print("| method | coverage | range | width | truth below interval | truth above interval |")
        print("|---|---|---|---|---|---|")
        for method in METHODS:
            cover = [run[2][method][0] for run in runs]
            width = sum(run[2][method][1] for run in runs) / len(runs)
            below = sum(run[2][method][2] for run in runs) / len(runs)
            above = sum(run[2][method][3] for run in runs) / len(runs)
            print(
                f"| {method} | {sum(cover) / len(cover):.3f} | {min(cover):.3f}–{max(cover):.3f} | "
                f"{width:.3f} | {below:.3f} | {above:.3f} |"
            )
    print(f"\n({time.perf_counter() - start:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
