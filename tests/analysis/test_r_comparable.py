"""R's survey package reproduces the comparable indicators (issue #14) from their public microdata:
the SIPAS-style index, the Ministry of Health item-level rate and mean score (``svyratio`` of the
answers per response), the come-back rate and the land/construction/investment sub-indicator
(``svymean``), for the province and every published domain, to the published estimate and SE."""

from __future__ import annotations

import csv
import os
import subprocess

import pytest
from sqlalchemy import select

from tests.conftest import require_rscript
from tests.webapp.published_demo import published_app

PERIOD = "2026-Q3"
INDICATORS = ["sipas-index", "health-item-level", "health-mean-score", "health-come-back",
              "sat-land-construction-investment"]


@pytest.fixture(scope="module")
def demo(app):
    with published_app(app, responses=12_000, seed=14, first_quarter="2026-Q2", periods=["2026-Q2", PERIOD]) as ready:
        yield ready


def _published(app, indicator):
    from webapp.models import PublishedEstimate
    from webapp.publishing.publish import current_snapshot

    with app.app_context():
        from webapp.extensions import db

        snapshot = current_snapshot(PERIOD)
        return db.session.scalars(select(PublishedEstimate).where(PublishedEstimate.snapshot_id == snapshot.id,
                                                                  PublishedEstimate.metric == indicator)).all()


def _r_rows(app, tmp_path, indicator, *extra) -> dict:
    path = tmp_path / f"{indicator}.csv"
    result = app.test_cli_runner().invoke(args=["export", "microdata", PERIOD, "--indicator", indicator, "-o", str(path),
                                                *extra])
    assert result.exit_code == 0, result.output
    run = subprocess.run(["Rscript", str(path.with_suffix(".R")), str(path)], capture_output=True, text=True,
                         timeout=300, env={**os.environ, "LANG": "C.UTF-8"})
    assert run.returncode == 0, run.stderr
    return {(row["domain_type"], row["domain"]): row for row in csv.DictReader(run.stdout.splitlines())}


@pytest.mark.parametrize("indicator", INDICATORS)
def test_r_reproduces_every_published_estimate_and_se(demo, tmp_path, indicator):
    require_rscript()
    r_rows = _r_rows(demo, tmp_path, indicator)
    compared = 0
    for row in _published(demo, indicator):
        if row.estimate is None:
            continue
        mine = r_rows[(row.domain_type, row.domain)]
        assert float(mine["estimate"]) == pytest.approx(row.estimate, rel=1e-9, abs=1e-12)
        assert float(mine["se"]) == pytest.approx(row.se, rel=1e-9, abs=1e-12)
        compared += 1
    assert compared >= 2, "the province and at least one domain"


def test_the_index_files_carry_each_responses_answers(demo):
    from webapp.publishing.microdata import public_rows

    with demo.app_context():
        rows = public_rows(PERIOD, "sipas-index")
    assert rows and set(rows[0]) == {"domain_type", "domain", "cell", "weight", "x", "y"}
    assert all(0 <= int(r["y"]) <= int(r["x"]) <= 5 for r in rows)


def test_r_reproduces_the_mean_score_from_the_restricted_file(demo, tmp_path):
    require_rscript()
    r_rows = _r_rows(demo, tmp_path, "health-mean-score", "--tier", "restricted", "--purpose",
                     "Dr. Lò Văn A, Hanoi Medical University, agreement 12/2026")
    (province,) = [r for r in _published(demo, "health-mean-score") if r.domain_type == "province"]
    assert float(r_rows[("province", "sl")]["estimate"]) == pytest.approx(province.estimate, rel=1e-9)
    assert float(r_rows[("province", "sl")]["se"]) == pytest.approx(province.se, rel=1e-9)
