"""Publishing: weights, estimates against the demo's truth, SQL path = per-response path = R, suppression, revisions."""

from __future__ import annotations

import csv
import os
import subprocess
from collections import defaultdict
from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import select

import analysis
from public.readers import ESTIMATE_FIELDS
from tests.conftest import empty_all_tables, require_rscript
from webapp.models import DemoTruth, PublishedEstimate, PublishedSnapshot, Service, Unit
from webapp.publishing.microdata import NOT_IN_MICRODATA

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
QUARTERS = ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]


@pytest.fixture(scope="module")
def published(app):
    """A demo database with recent quarters and a year published."""
    from tests.registry_rows import load_registry
    from webapp.demo.seed import seed_demo
    from webapp.extensions import db
    from webapp.publishing.compute import period_inputs
    from webapp.publishing.publish import publish_period

    with app.app_context():
        load_registry(db)
        from webapp.periods import Period

        seed_demo(responses=30_000, seed=5, now=NOW, first_quarter=Period(2025, "Q", 1))
        inputs = period_inputs()
        for label in QUARTERS[:-1] + ["2026-H1"] + QUARTERS[-1:]:
            publish_period(label, now=NOW, inputs=inputs)
        yield db
        db.session.remove()
        empty_all_tables(db)


def estimates(db, period: str, metric: str = "sat-agencies", domain_type: str | None = None):
    snapshot = db.session.scalar(
        select(PublishedSnapshot).where(PublishedSnapshot.period == period).order_by(PublishedSnapshot.revision.desc())
    )
    query = select(PublishedEstimate).where(
        PublishedEstimate.snapshot_id == snapshot.id, PublishedEstimate.metric == metric
    )
    if domain_type:
        query = query.where(PublishedEstimate.domain_type == domain_type)
    return db.session.scalars(query).all()


def test_every_published_rate_has_interval_n_and_status(published):
    rows = estimates(published, "2026-Q3")
    assert rows
    for row in rows:
        assert row.n >= 10, "cells under 10 are never stored"
        if row.status == "insufficient":
            assert row.estimate is None and row.ci_low is None
        else:
            assert row.ci_low <= row.estimate <= row.ci_high
            assert row.n >= 30 and row.n_eff >= 30
            assert row.status in {"met", "below", "inconclusive"}
            assert row.target == pytest.approx(0.9)  # the 2025 milestone of Resolution 76/NQ-CP is in force


def test_periods_after_june_2025_are_reported_by_commune_not_district(published):
    types = {r.domain_type for r in estimates(published, "2026-Q3")}
    assert "commune" in types and "district" not in types


def _truth(db, quarters, indicator):
    """Per (unit, service): (transactions, true rate) summed over the quarters."""
    truth = defaultdict(lambda: [0.0, 0.0])
    for row in db.session.scalars(
        select(DemoTruth).where(DemoTruth.period.in_(quarters), DemoTruth.indicator_code == indicator)
    ):
        cell = truth[(row.unit_id, row.service_id)]
        cell[0] += row.transactions
        cell[1] += row.transactions * row.rate
    return truth


def test_true_rates_fall_inside_the_published_intervals(published):
    """About 95% of publishable unit and service intervals contain the demo's truth (90–99% accepted)."""
    db = published
    units = {u.code: u.id for u in db.session.scalars(select(Unit))}
    services = {s.code: s.id for s in db.session.scalars(select(Service))}
    hits = total = 0
    for period in QUARTERS + ["2026-H1"]:
        from webapp.periods import Period

        quarters = [q.label for q in Period.parse(period).quarters]
        for indicator in ("sat-agencies", "sat-procedures", "sat-health", "sat-education"):
            truth = _truth(db, quarters, indicator)
            for row in estimates(db, period, indicator):
                if row.estimate is None or row.domain_type not in ("unit", "service"):
                    continue
                if row.domain_type == "unit":
                    cells = [v for (u, _), v in truth.items() if u == units[row.domain]]
                else:
                    cells = [v for (_, s), v in truth.items() if s == services[row.domain]]
                true_rate = sum(v[1] for v in cells) / sum(v[0] for v in cells)
                total += 1
                hits += row.ci_low <= true_rate <= row.ci_high
    assert total >= 60, total
    print(f"coverage of the truth: {hits}/{total} = {hits / total:.3f}")
    assert 0.90 <= hits / total <= 0.99, (hits, total)


def test_weighting_brings_the_province_estimate_nearer_the_truth(published):
    """The demo's happier cells answer more: the raw mean overshoots, the weighted estimate does not."""
    db = published
    weighted_error = raw_error = 0.0
    for period in QUARTERS:
        truth = _truth(db, [period], "sat-agencies")
        true_rate = sum(v[1] for v in truth.values()) / sum(v[0] for v in truth.values())
        province = next(r for r in estimates(db, period, "sat-agencies", "province"))
        from webapp.models import Response, ResponseScore

        raw = (
            db.session.execute(
                select(ResponseScore.satisfied)
                .join(Response, Response.id == ResponseScore.response_id)
                .where(Response.period == period, Response.status == "valid", ResponseScore.metric == "sat-agencies")
            )
            .scalars()
            .all()
        )
        weighted_error += abs(province.estimate - true_rate)
        raw_error += abs(float(np.mean(raw)) - true_rate)
    assert weighted_error < raw_error


def _microdata(runner, tmp_path, period="2026-Q3", indicator="sat-agencies", *extra):
    path = tmp_path / f"{indicator}-{period}.csv"
    result = runner.invoke(args=["export", "microdata", period, "--indicator", indicator, "-o", str(path), *extra])
    assert result.exit_code == 0, result.output
    with path.open(encoding="utf-8") as handle:
        return path, list(csv.DictReader(handle))


def test_sql_path_equals_the_per_response_path(published, app, tmp_path):
    """The published estimates (SQL GROUP BY sums) equal estimate_proportion on the microdata to 1e-12."""
    _, rows = _microdata(
        app.test_cli_runner(),
        tmp_path,
        "2026-Q3",
        "sat-agencies",
        "--tier",
        "restricted",
        "--purpose",
        "Test of the SQL path against the per-response path",
    )
    y = np.array([float(r["satisfied"]) for r in rows])
    w = np.array([float(r["weight"]) for r in rows])
    strata = [r["cell"] for r in rows]
    for domain_type in ("province", "unit", "service", "channel", "commune"):
        domains = None if domain_type == "province" else [r[domain_type] or "(hidden)" for r in rows]
        result = analysis.estimate_proportion(y, w, strata, domains=domains, lonely_psu="adjust", target=0.9)
        computed = {"sl": result.overall} if domains is None else {row.domain: row for row in result.domains}
        published_rows = estimates(published, "2026-Q3", "sat-agencies", domain_type)
        assert published_rows, domain_type
        for published_row in published_rows:
            if published_row.estimate is None:
                continue
            mine = computed[published_row.domain]
            assert mine.n == published_row.n
            assert mine.estimate == pytest.approx(published_row.estimate, rel=1e-12, abs=1e-12)
            assert mine.se == pytest.approx(published_row.se, rel=1e-12, abs=1e-12)
            assert mine.ci_low == pytest.approx(published_row.ci_low, rel=1e-12, abs=1e-12)


def test_microdata_hides_what_is_not_published_and_has_no_personal_data(published, app, tmp_path):
    _, rows = _microdata(app.test_cli_runner(), tmp_path)
    # Issue #13 (finding 2): one domain per row, labelled only where its rate is published.
    assert set(rows[0]) == {"domain_type", "domain", "cell", "weight", "satisfied"}
    published_units = {
        r.domain for r in estimates(published, "2026-Q3", "sat-agencies", "unit") if r.estimate is not None
    }
    shown = {r["domain"] for r in rows if r["domain_type"] == "unit" and r["domain"]}
    assert shown and shown <= published_units


def test_r_survey_package_reproduces_the_published_numbers(published, app, tmp_path):
    """The exported script, run by R's survey package, gives the published estimates and SEs to 1e-9."""
    require_rscript()
    path, _ = _microdata(app.test_cli_runner(), tmp_path)
    output = subprocess.run(
        ["Rscript", str(path.with_suffix(".R")), str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
        env={**os.environ, "LANG": "C.UTF-8"},
    ).stdout
    r_rows = {(row["domain_type"], row["domain"]): row for row in csv.DictReader(output.splitlines())}
    compared = 0
    for published_row in estimates(published, "2026-Q3", "sat-agencies"):
        if published_row.estimate is None or published_row.domain_type in NOT_IN_MICRODATA:
            continue
        r_row = r_rows[(published_row.domain_type, published_row.domain)]
        assert float(r_row["estimate"]) == pytest.approx(published_row.estimate, rel=1e-9, abs=1e-12)
        assert float(r_row["se"]) == pytest.approx(published_row.se, rel=1e-9, abs=1e-12)
        compared += 1
    assert compared > 20


def test_a_period_is_revised_only_with_a_reason_and_old_revisions_stay(published, app):
    from webapp.publishing.publish import PublishError, publish_period

    with pytest.raises(PublishError, match="give the reason"):
        publish_period("2026-Q3", now=NOW)
    revised = publish_period("2026-Q3", reason="Late paper forms from Mộc Châu were keyed in.", now=NOW)
    assert revised.revision == 2
    snapshots = published.session.scalars(select(PublishedSnapshot).where(PublishedSnapshot.period == "2026-Q3")).all()
    assert [s.revision for s in snapshots] == [1, 2]
    assert snapshots[1].reason.startswith("Late paper forms")
    assert snapshots[0].estimates, "the first revision stays readable"
    client = app.test_client()
    document = client.get("/api/v1/estimates?indicator=sat-agencies&period=2026-Q3").json
    assert {row["revision"] for row in document["estimates"]} == {2}


def test_an_unfinished_period_cannot_be_published(published):
    from webapp.publishing.publish import PublishError, publish_period

    with pytest.raises(PublishError, match="has not ended"):
        publish_period("2026-Q4", now=NOW)


def test_the_api_answers_the_contract(published, app):
    client = app.test_client()
    document = client.get("/api/v1/estimates?indicator=sat-agencies&period=2026-Q3").json
    province = next(e for e in document["estimates"] if e["domain_type"] == "province")
    assert set(province) >= set(ESTIMATE_FIELDS)
    assert province["indicator"] == "sat-agencies" and province["period"] == "2026-Q3" and province["domain"] == "sl"
    assert province["ci_low"] < province["estimate"] < province["ci_high"]
    assert province["ci_method"] == analysis.DEFAULT_CI_METHOD
    insufficient = [e for e in document["estimates"] if e["status"] == "insufficient"]
    assert all(  # may be empty: whether a domain falls short depends on the demo
        e["estimate"] is None and e["se"] is None and e["ci_low"] is None and e["ci_high"] is None for e in insufficient
    )
    assert document["estimates"]
    assert all(e["n"] >= 10 for e in document["estimates"])
    unit = client.get("/api/v1/estimates?indicator=sat-agencies&period=2026-Q3&unit=sl-ttpvhcc").json["estimates"]
    assert [e["domain"] for e in unit] == ["sl-ttpvhcc"]
    assert client.get("/api/v1/estimates?period=2026-13").status_code == 400
    import jsonschema

    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Estimate"]
    for estimate in document["estimates"]:
        jsonschema.validate(estimate, schema)


def test_change_from_the_previous_quarter_has_an_interval(published):
    province = next(r for r in estimates(published, "2026-Q3", "sat-agencies", "province"))
    change = province.extra["change"]
    assert change["from_period"] == "2026-Q2"
    assert change["ci_low"] < change["difference"] < change["ci_high"]


def test_units_carry_funnel_limits_from_their_effective_size(published):
    units = [r for r in estimates(published, "2026-Q3", "sat-agencies", "unit") if r.estimate is not None]
    assert units
    for row in units:
        funnel = row.extra["funnel"]
        assert funnel["lower998"] <= funnel["lower95"] <= funnel["reference"] <= funnel["upper95"] <= funnel["upper998"]


def test_ministry_of_health_item_level_and_all_items_rates_are_published(published):
    # The item-level rate is the indicator health-item-level (issue #14), no longer sat-health/item-level.
    assert not estimates(published, "2026-Q3", "sat-health/item-level", "province")
    item_level = estimates(published, "2026-Q3", "health-item-level", "province")
    all_items = estimates(published, "2026-Q3", "sat-health/all-items", "province")
    assert item_level and all_items
    assert item_level[0].ci_low < item_level[0].estimate < item_level[0].ci_high
    # Satisfied with every item is rarer than satisfied with the average item.
    assert all_items[0].estimate < item_level[0].estimate
