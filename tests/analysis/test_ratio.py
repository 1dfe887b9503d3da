"""The item-level rate (a ratio of weighted totals) from sums equals the per-response
linearisation, and R's svyratio where R is installed."""

from __future__ import annotations

import subprocess

import numpy as np
import pytest

import analysis
from tests.conftest import require_rscript


def sample(seed=3):
    rng = np.random.default_rng(seed)
    size = 400
    strata = rng.integers(0, 40, size)
    strata[:2] = 99  # a stratum of two
    strata[2] = 98  # a lonely response
    x = rng.integers(1, 21, size).astype(float)
    y = np.minimum(x, rng.binomial(x.astype(int), 0.8)).astype(float)
    w_stratum = rng.uniform(5, 200, 100)
    w = w_stratum[strata]
    domain = rng.choice(["a", "b", "c"], size)
    return strata, domain, x, y, w


def per_response(strata, domain, x, y, w, d):
    """Direct linearisation with the responses (the textbook formula)."""
    inside = domain == d if d is not None else np.ones_like(x, dtype=bool)
    X = (w * x)[inside].sum()
    R = (w * y)[inside].sum() / X
    z = np.where(inside, w * (y - R * x) / X, 0.0)
    variance = 0.0
    labels = np.unique(strata)
    totals = {h: z[strata == h].sum() for h in labels}
    grand = z.sum() / z.size
    for h in labels:
        zh = z[strata == h]
        if zh.size == 1:
            variance += (zh[0] - grand) ** 2
        else:
            variance += zh.size / (zh.size - 1) * ((zh - totals[h] / zh.size) ** 2).sum()
    return R, variance


def sums(strata, domain, x, y, w):
    keys = sorted(set(zip(strata.tolist(), domain.tolist(), strict=True)))
    rows = []
    for h, d in keys:
        m = (strata == h) & (domain == d)
        rows.append(
            (
                h,
                d,
                m.sum(),
                (w * x)[m].sum(),
                (w * y)[m].sum(),
                (w * w * x * x)[m].sum(),
                (w * w * x * y)[m].sum(),
                (w * w * y * y)[m].sum(),
                w[m].sum(),
                (w * w)[m].sum(),
                (w * w * x)[m].sum(),
            )
        )
    columns = list(zip(*rows, strict=True))
    return columns


def test_sums_path_equals_the_per_response_linearisation():
    strata, domain, x, y, w = sample()
    overall, rows = analysis.ratio_from_sums(*sums(strata, domain, x, y, w))
    R, v = per_response(strata, domain, x, y, w, None)
    assert overall.estimate == pytest.approx(R, rel=1e-12)
    assert overall.se == pytest.approx(np.sqrt(v), rel=1e-10)
    assert len(rows) == 3, "domains a, b and c"
    for row in rows:
        R, v = per_response(strata, domain, x, y, w, row.domain)
        assert row.estimate == pytest.approx(R, rel=1e-12)
        assert row.se == pytest.approx(np.sqrt(v), rel=1e-10)
        assert row.ci_low < row.estimate < row.ci_high


def test_r_svyratio_agrees(tmp_path):
    require_rscript()
    strata, domain, x, y, w = sample()
    keep = strata != 98  # R's lonely-PSU "adjust" centres on a different mean; compare without it
    strata, domain, x, y, w = strata[keep], domain[keep], x[keep], y[keep], w[keep]
    path = tmp_path / "d.csv"
    np.savetxt(path, np.column_stack([strata, x, y, w]), delimiter=",", header="h,x,y,w", comments="", fmt="%.17g")
    script = f"""suppressPackageStartupMessages(library(survey))
d <- read.csv("{path}"); des <- svydesign(id=~1, strata=~h, weights=~w, data=d)
r <- svyratio(~y, ~x, des); cat(sprintf("%.17g %.17g\\n", coef(r), SE(r)))"""
    out = subprocess.run(
        ["Rscript", "-e", script], capture_output=True, text=True, check=True, timeout=120
    ).stdout.split()
    overall, _ = analysis.ratio_from_sums(*sums(strata, np.array(["a"] * strata.size), x, y, w))
    assert overall.estimate == pytest.approx(float(out[0]), rel=1e-9)
    assert overall.se == pytest.approx(float(out[1]), rel=1e-9)
