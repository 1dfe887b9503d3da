"""Key drivers (:mod:`analysis.drivers`) reproduce R's ``svyglm(..., family = quasibinomial())``.

The reference values (``data/drivers_reference.csv``) were made by ``data/drivers_reference.R``
from ``data/drivers_input.csv`` (see ``data/README.md``); the live check re-runs that script.
"""

from __future__ import annotations

import csv
import math
import subprocess
from pathlib import Path

import numpy as np
import pytest

from analysis.drivers import fit_drivers
from tests.conftest import require_rscript

DATA = Path(__file__).resolve().parent / "data"
SCRIPT = DATA / "drivers_reference.R"
CASES = {
    "cells": (("a1", "a2", "a3", "a4"), {"strata": "cell"}),
    "clusters": (("a1", "a2", "a3", "a4"), {"strata": "stratum", "psu": "psu"}),
    "constant": (("a1", "a2", "a5"), {"strata": "cell"}),
}


def _number(text):
    return math.nan if text in ("NA", "") else float(text)


def _input():
    with open(DATA / "drivers_input.csv", newline="") as f:
        return list(csv.DictReader(f))


def _reference(text):
    rows = [line for line in text.splitlines() if not line.startswith("#")]
    values = {}
    for row in csv.DictReader(rows):
        values[row["case"], row["term"]] = {
            k: _number(row[k]) for k in ("coefficient", "se", "ci_low", "ci_high", "df", "n")
        }
    return values


def _fit(case):
    rows = _input()
    aspects, design = CASES[case]
    return fit_drivers(
        [_number(r["y"]) for r in rows],
        [[_number(r[a]) for a in aspects] for r in rows],
        names=aspects,
        weights=[float(r["w"]) for r in rows],
        **{key: [r[column] for r in rows] for key, column in design.items()},
    )


def _check(values):
    for case in CASES:
        model = _fit(case)
        assert model.status == "ok"
        assert model.intercept == pytest.approx(values[case, "(Intercept)"]["coefficient"], rel=1e-9)
        assert model.drivers and [d.name for d in model.drivers] == list(CASES[case][0])
        for driver in model.drivers:
            expected = values.get((case, driver.name))
            if expected is None:  # R: an aliased (NA) coefficient, left out of its table
                assert driver.coefficient is None and driver.note == "no_variation"
                continue
            assert model.df == expected["df"] and model.n == expected["n"]
            for name in ("coefficient", "se", "ci_low", "ci_high"):
                assert getattr(driver, name) == pytest.approx(expected[name], rel=1e-8), (case, driver.name, name)


def test_matches_stored_r_values():
    """Coefficients, linearised SEs (strata of one response included), t intervals and df as R's."""
    _check(_reference((DATA / "drivers_reference.csv").read_text()))


def test_matches_r_now():
    """The stored values are what R's survey package gives today (CI has R)."""
    require_rscript()
    run = subprocess.run(
        ["Rscript", str(SCRIPT), str(DATA / "drivers_input.csv")],
        capture_output=True,
        text=True,
        timeout=180,
        check=True,
    )
    _check(_reference(run.stdout))


def test_odds_ratio_is_the_exponential_of_the_interval():
    driver = _fit("cells").drivers[0]
    assert driver.odds_ratio == pytest.approx(math.exp(driver.coefficient))
    low, high = driver.odds_ratio_ci
    assert low == pytest.approx(math.exp(driver.ci_low)) and high == pytest.approx(math.exp(driver.ci_high))


def test_ranked_puts_the_planted_strong_drivers_first():
    assert [d.name for d in _fit("cells").ranked()][:2] == ["a1", "a2"]


def test_separated_aspect_is_not_estimable_rather_than_huge():
    rng = np.random.default_rng(3)
    n = 300
    a = (rng.random((n, 3)) < 0.7).astype(float)
    y = (rng.random(n) < 0.3 + 0.5 * a[:, 1]).astype(float)
    y[a[:, 0] == 1] = 1.0  # everyone satisfied with a1 is satisfied overall: the MLE diverges
    model = fit_drivers(y, a, names=["a1", "a2", "a3"])
    first = model.drivers[0]
    assert first.coefficient is None and first.se is None and first.note == "separation"
    assert model.drivers[1].coefficient is not None and abs(model.drivers[1].coefficient) < 10


def test_no_variation_in_outcome_reports_nothing():
    a = np.array([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=float)
    model = fit_drivers(np.ones(4), a)
    assert model.status == "no_variation"
    assert len(model.drivers) == 2
    assert all(d.coefficient is None for d in model.drivers)


def test_non_convergence_is_flagged(monkeypatch):
    import analysis.drivers as drivers

    monkeypatch.setattr(drivers, "MAX_ITER", 1)
    model = _fit("cells")
    assert model.status == "not_converged" and not model.converged
    assert len(model.drivers) == 4, "a1 to a4"
    assert all(d.coefficient is None for d in model.drivers)


def test_complete_cases_only():
    """A response missing one aspect is left out of the model (n counts complete cases)."""
    y = np.array([1, 0, 1, 1, 0, 1, 0, 1, 1, 0], dtype=float)
    a = np.array([[1], [0], [1], [np.nan], [1], [1], [0], [0], [1], [0]], dtype=float)
    assert fit_drivers(y, a).n == 9


def test_rejects_answers_that_are_not_zero_or_one():
    with pytest.raises(ValueError, match="0/1"):
        fit_drivers([1, 0, 2], [[1], [0], [1]])
