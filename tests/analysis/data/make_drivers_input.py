"""Write ``drivers_input.csv``: the synthetic sample of the key-driver reference (``drivers_reference.R``).

400 responses in 40 weighting cells plus three cells of one response (lonely strata), weights
between 0.5 and 6, four 0/1 aspects (a1, a2 strong drivers; a3, a4 weak), ~3% of aspect answers
missing, a constant aspect ``a5`` (not estimable), and 80 clusters ``psu`` nested in 8 strata
``stratum`` for the clustered case. Run from the repository root:
``python tests/analysis/data/make_drivers_input.py`` then ``Rscript tests/analysis/data/drivers_reference.R``.
"""

import csv
from pathlib import Path

import numpy as np

rng = np.random.default_rng(16)
n = 400
cell = rng.integers(0, 40, n)
cell[:3] = [97, 98, 99]
w = np.round(rng.uniform(0.5, 6, n), 4)
a = (rng.random((n, 4)) < [0.8, 0.7, 0.75, 0.85]).astype(float)
eta = -1.2 + 2.2 * a[:, 0] + 1.6 * a[:, 1] + 0.4 * a[:, 2] + 0.2 * a[:, 3]
y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(int)
missing = rng.random((n, 4)) < 0.03
psu = rng.integers(0, 80, n)
with open(Path(__file__).with_name("drivers_input.csv"), "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["id", "cell", "w", "y", "a1", "a2", "a3", "a4", "a5", "psu", "stratum"])
    for i in range(n):
        aspects = ["NA" if missing[i, j] else int(a[i, j]) for j in range(4)]
        out.writerow([i + 1, f"c{cell[i]:03d}", w[i], y[i], *aspects, 1, f"p{psu[i]:02d}", f"s{psu[i] % 8}"])
