"""R's survey package reproduces the comparable indicators (issue #14) from their public microdata:
the SIPAS-style index, the Ministry of Health item-level rate and mean score (``svyratio`` of the
answers per response), the come-back rate and the land/construction/investment sub-indicator
(``svymean``), for the province and every published domain, to the published estimate and SE.
And the detailed criteria measured by matrix sampling: each criterion's rate is published over the
respondents who were asked it, with the same weights (``svyratio`` of satisfied over asked)."""

from __future__ import annotations

import csv
import os
import subprocess

import pytest
from sqlalchemy import select

from tests.conftest import require_rscript
from tests.webapp.published_demo import published_app
from webapp.publishing.microdata import NOT_IN_MICRODATA

PERIOD = "2026-Q3"
INDICATORS = [
    "sipas-index",
    "health-item-level",
    "health-mean-score",
    "health-come-back",
    "sat-land-construction-investment",
]


@pytest.fixture(scope="module")
def demo(app):
    with published_app(app, responses=12_000, seed=14, first_quarter="2026-Q2", periods=["2026-Q2", PERIOD]) as ready:
        yield ready


def _published(app, indicator, like=False):
    """The current snapshot's rows of ``indicator`` (a SQL ``LIKE`` pattern when ``like``)."""
    from webapp.models import PublishedEstimate
    from webapp.publishing.publish import current_snapshot

    with app.app_context():
        from webapp.extensions import db

        snapshot = current_snapshot(PERIOD)
        metric = PublishedEstimate.metric.like(indicator) if like else PublishedEstimate.metric == indicator
        return db.session.scalars(
            select(PublishedEstimate).where(PublishedEstimate.snapshot_id == snapshot.id, metric)
        ).all()


def _r_rows(app, tmp_path, indicator, *extra) -> dict:
    path = tmp_path / f"{indicator.replace('/', '_').replace(':', '-')}.csv"
    result = app.test_cli_runner().invoke(
        args=["export", "microdata", PERIOD, "--indicator", indicator, "-o", str(path), *extra]
    )
    assert result.exit_code == 0, result.output
    run = subprocess.run(
        ["Rscript", str(path.with_suffix(".R")), str(path)],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "LANG": "C.UTF-8"},
    )
    assert run.returncode == 0, run.stderr
    return {(row["domain_type"], row["domain"]): row for row in csv.DictReader(run.stdout.splitlines())}


@pytest.mark.parametrize("indicator", INDICATORS)
def test_r_reproduces_every_published_estimate_and_se(demo, tmp_path, indicator):
    require_rscript()
    r_rows = _r_rows(demo, tmp_path, indicator)
    compared = 0
    for row in _published(demo, indicator):
        # Modes and languages are published as tables only, never in the microdata R reads.
        if row.estimate is None or row.domain_type in NOT_IN_MICRODATA:
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
    r_rows = _r_rows(
        demo,
        tmp_path,
        "health-mean-score",
        "--tier",
        "restricted",
        "--purpose",
        "Dr. Lò Văn A, Hanoi Medical University, agreement 12/2026",
    )
    (province,) = [r for r in _published(demo, "health-mean-score") if r.domain_type == "province"]
    assert float(r_rows[("province", "sl")]["estimate"]) == pytest.approx(province.estimate, rel=1e-9)
    assert float(r_rows[("province", "sl")]["se"]) == pytest.approx(province.se, rel=1e-9)


# --- criteria measured by matrix sampling (each respondent asked two per aspect) -----------------

CRITERIA = ["procedure_posted_accurately", "servant_guidance_clear", "result_on_time"]


def _criterion_counts(app) -> dict[str, int]:
    """Valid responses of the period that rated each criterion (its ``item:`` score rows)."""
    from sqlalchemy import func

    from webapp.extensions import db
    from webapp.models import Response, ResponseScore
    from webapp.periods import Period

    with app.app_context():
        quarters = [q.label for q in Period.parse(PERIOD).quarters]
        rows = db.session.execute(
            select(ResponseScore.metric, func.count())
            .join(Response, Response.id == ResponseScore.response_id)
            .where(Response.period.in_(quarters), Response.status == "valid", ResponseScore.metric.like("item:%"))
            .group_by(ResponseScore.metric)
        ).all()
    return {metric.removeprefix("item:"): count for metric, count in rows}


def test_every_criterion_is_published_over_the_respondents_asked_it(demo):
    from surveys import definitions
    from tests.conftest import REPO

    instrument = definitions.load_instrument(REPO / "surveys" / "instruments" / "admin-procedure.v2.yaml")
    criteria = [item.code for item in definitions.criterion_items(instrument)]
    assert len(criteria) == 23
    counts = _criterion_counts(demo)
    aspects = {
        row.metric: row for row in _published(demo, "sat-agencies/aspect:%", like=True) if row.domain_type == "province"
    }
    for code in criteria:
        (province,) = [r for r in _published(demo, f"sat-agencies/item:{code}") if r.domain_type == "province"]
        # n is the respondents who rated the criterion, not everyone who answered the questionnaire.
        assert province.n == counts[code]
        assert province.estimate is not None and province.ci_low < province.estimate < province.ci_high
        section = next(s for s in instrument.sections if any(i.code == code for i in s.items))
        # Two of a section's criteria are drawn for each online respondent: each is asked of fewer
        # people than the aspect's overall question, which everyone is asked.
        assert province.n < aspects[f"sat-agencies/aspect:{section.code}"].n


@pytest.mark.parametrize("criterion", CRITERIA)
def test_r_reproduces_every_published_criterion_rate(demo, tmp_path, criterion):
    require_rscript()
    metric = f"sat-agencies/item:{criterion}"
    r_rows = _r_rows(demo, tmp_path, metric)
    compared = 0
    for row in _published(demo, metric):
        # Modes and languages are published as tables only, never in the microdata R reads.
        if row.estimate is None or row.domain_type in NOT_IN_MICRODATA:
            continue
        mine = r_rows[(row.domain_type, row.domain)]
        assert float(mine["estimate"]) == pytest.approx(row.estimate, rel=1e-9, abs=1e-12)
        assert float(mine["se"]) == pytest.approx(row.se, rel=1e-9, abs=1e-12)
        compared += 1
    assert compared >= 1


def test_criterion_files_mark_who_was_asked(demo):
    """A respondent not asked the criterion is in the file with x = 0 (domain estimation), not dropped."""
    from webapp.publishing.microdata import public_rows

    with demo.app_context():
        rows = public_rows(PERIOD, "sat-agencies/item:procedure_posted_accurately")
    province = [r for r in rows if r["domain_type"] == "province"]
    asked = [r for r in province if int(r["x"]) == 1]
    assert 0 < len(asked) < len(province)
    assert all(int(r["y"]) <= int(r["x"]) for r in province)


def test_indicator_page_lists_the_criteria_with_their_questions(demo):
    """The province's aspects and criteria are on the host indicator's page, each question in words."""
    from bs4 import BeautifulSoup

    from surveys import definitions
    from tests.conftest import REPO

    html = demo.test_client().get("/indicators/sat-agencies?lang=en").get_data(as_text=True)
    page = " ".join(BeautifulSoup(html, "html.parser").get_text().split())
    assert "Satisfaction by aspect, 2026-Q3" in page
    assert "Satisfaction with each detailed criterion, 2026-Q3" in page
    instrument = definitions.load_instrument(REPO / "surveys" / "instruments" / "admin-procedure.v2.yaml")
    criteria = definitions.criterion_items(instrument)
    assert len(criteria) == 23
    for item in criteria:
        assert item.text.en in page
