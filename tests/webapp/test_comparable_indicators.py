"""Indicators comparable with the official methods (issue #14): the SIPAS-style index, the Ministry of
Health item-level rate, mean score and come-back rate, and the land/construction/investment
sub-indicator — published for a demo period, on their pages and in the API, disclosure-safe."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from tests.webapp.published_demo import published_app
from webapp.models import Instrument, PublishedEstimate, PublishedSnapshot, Response, ResponseScore, Service

PERIOD, PREVIOUS = "2026-Q3", "2026-Q2"
NEW = ("sipas-index", "health-item-level", "health-mean-score", "health-come-back", "sat-land-construction-investment")
LAND = ("land", "construction", "investment")


@pytest.fixture(scope="module")
def published(app):
    with published_app(app, responses=12_000, seed=14, first_quarter=PREVIOUS, periods=[PREVIOUS, PERIOD]) as ready:
        yield ready


@pytest.fixture()
def session(published):
    from webapp.extensions import db

    with published.app_context():
        yield db.session
        db.session.remove()


def rows(session, metric: str, domain_type: str | None = None, period: str = PERIOD) -> list[PublishedEstimate]:
    snapshot = session.scalar(
        select(PublishedSnapshot).where(PublishedSnapshot.period == period).order_by(PublishedSnapshot.revision.desc())
    )
    query = select(PublishedEstimate).where(
        PublishedEstimate.snapshot_id == snapshot.id, PublishedEstimate.metric == metric
    )
    if domain_type:
        query = query.where(PublishedEstimate.domain_type == domain_type)
    return list(session.scalars(query.order_by(PublishedEstimate.domain)))


def province(session, metric: str) -> PublishedEstimate:
    (row,) = rows(session, metric, "province")
    return row


def valid(period: str = PERIOD):
    return (Response.period == period, Response.status == "valid")


def instrument_ids(session, sector: str) -> list[int]:
    return list(session.scalars(select(Instrument.id).where(Instrument.sector == sector)))


@pytest.mark.parametrize("code", NEW)
def test_each_comparable_indicator_is_published_with_interval_n_and_status(session, code):
    row = province(session, code)
    assert row.estimate is not None, f"{code}: n={row.n}"
    assert row.ci_low < row.estimate < row.ci_high and row.se > 0
    assert row.n >= 30
    # Against its target where it has one; otherwise no made-up bar (an 80% "default" would cry wolf).
    assert row.status in ({"met", "below", "inconclusive"} if row.target is not None else {"no_target"})
    if code != "sat-land-construction-investment":
        # (The three services' answers are spread over many offices in this small demo: no unit reaches 10.)
        assert rows(session, code, "unit"), "every indicator is published per unit too"


def test_the_sipas_index_counts_the_answers_to_the_five_aspects_overall_questions(session):
    row = province(session, "sipas-index")
    admin = instrument_ids(session, "admin")
    aspects = [f"aspect:{code}" for code in ("access", "procedure", "civil_servant", "result", "feedback")]
    answered = (
        select(ResponseScore.response_id)
        .join(Response)
        .where(*valid(), Response.instrument_id.in_(admin), ResponseScore.metric.in_(aspects))
        .distinct()
        .subquery()
    )
    assert row.n == session.scalar(select(func.count()).select_from(answered))
    assert 0 < row.estimate < 1
    assert row.extra["kind"] == "ratio of aspect answers"


def test_the_moh_item_level_rate_replaces_the_secondary_metric(session):
    assert not rows(session, "sat-health/item-level")
    row = province(session, "health-item-level")
    health = instrument_ids(session, "health")
    assert row.n == session.scalar(
        select(func.count())
        .select_from(Response)
        .where(*valid(), Response.instrument_id.in_(health), Response.items_rated > 0)
    )
    # Satisfied with every item is rarer than satisfied with the average item.
    assert province(session, "sat-health/all-items").estimate < row.estimate


def test_the_moh_mean_score_is_on_the_one_to_five_scale_over_the_same_respondents(session):
    row = province(session, "health-mean-score")
    assert 1 < row.ci_low < row.estimate < row.ci_high < 5
    assert row.extra["scale"] == "score" and row.ci_method == "mean"
    assert row.n == province(session, "health-item-level").n
    # Unweighted check of the level: the weighted mean is near the plain mean of the answers.
    health = instrument_ids(session, "health")
    total, rated = session.execute(
        select(func.sum(Response.items_score_sum), func.sum(Response.items_rated)).where(
            *valid(), Response.instrument_id.in_(health)
        )
    ).one()
    assert row.estimate == pytest.approx(total / rated, abs=0.15)


def test_the_come_back_rate_counts_those_who_answered_the_question(session):
    row = province(session, "health-come-back")
    assert row.n == session.scalar(
        select(func.count())
        .select_from(ResponseScore)
        .join(Response)
        .where(*valid(), ResponseScore.metric == "health-come-back")
    )
    assert row.target is None


def test_the_land_construction_investment_indicator_is_its_parents_answers_about_those_services(session):
    row = province(session, "sat-land-construction-investment")
    parent_services = {r.domain: r for r in rows(session, "sat-procedures", "service")}
    # Where the parent's service cells are shown, they add up to at most the sub-indicator's n (a cell
    # the sub-indicator would give away is withheld by complementary suppression).
    assert sum(parent_services[code].n for code in LAND if code in parent_services) <= row.n
    land_ids = list(session.scalars(select(Service.id).where(Service.code.in_(LAND))))
    assert row.n == session.scalar(
        select(func.count())
        .select_from(ResponseScore)
        .join(Response)
        .where(*valid(), ResponseScore.metric == "sat-procedures", Response.service_id.in_(land_ids))
    )
    # Its service cells would repeat the parent's: it is published by province, sector and unit.
    assert {r.domain_type for r in rows(session, "sat-land-construction-investment")} <= {"province", "sector", "unit"}
    assert row.target == pytest.approx(0.85) and row.extra.get("weighted") in ("yes", "imputed")


def test_the_moe_groups_are_the_aspects_of_sat_education(session):
    groups = ("access", "facilities", "environment", "activities", "results")
    for group in groups:
        assert province(session, f"sat-education/aspect:{group}").estimate is not None


def test_the_disclosure_audit_finds_nothing_recoverable(published):
    result = published.test_cli_runner().invoke(args=["disclosure", "audit"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith(": 0 recoverable value(s)."), result.output


def test_a_subset_cell_is_a_sub_table_of_its_parent(session):
    from webapp.publishing.disclosure import _satisfaction_codes, _Universe

    universe = _Universe(2026, {}, _satisfaction_codes())
    universe.keys = {("sat-land-construction-investment", "province", "sl")}
    ((description, members),) = universe._subset_relations(PERIOD)
    assert members == [(PERIOD, "sat-land-construction-investment", "province", "sl")] + [
        (PERIOD, "sat-procedures", "service", code) for code in LAND
    ]


@pytest.fixture()
def web(published):
    from webapp.extensions import limiter

    limiter.reset()
    return published.test_client()


@pytest.mark.parametrize(
    ("code", "line"),
    [
        ("sipas-index", "Following the SIPAS method — not an index published by the Ministry of Home Affairs."),
        ("health-item-level", "Following the method of the Ministry of Health."),
        ("health-come-back", "Following the method of the Ministry of Health."),
        ("sat-education", "Following the guidance of the Ministry of Education and Training."),
    ],
)
def test_each_page_names_the_official_method_it_follows(web, code, line):
    page = web.get(f"/indicators/{code}?lang=en")
    assert page.status_code == 200
    text = " ".join(page.get_data(as_text=True).split())
    assert line in text
    assert "#method-" in text, "the line links to the method's section of the methodology page"


def test_the_mean_score_page_shows_points_out_of_five_not_percent(web, session):
    row = province(session, "health-mean-score")
    vi = " ".join(web.get("/indicators/health-mean-score?lang=vi").get_data(as_text=True).split())
    assert f"{row.estimate:.2f}".replace(".", ",").rstrip("0").rstrip(",") + " / 5" in vi
    en = web.get("/indicators/health-mean-score?lang=en").get_data(as_text=True)
    assert "No target set" in en


def test_the_api_returns_the_comparable_indicators_with_their_scale(web):
    import jsonschema

    schema = web.get("/api/v1/openapi.json").json["components"]["schemas"]["Estimate"]
    for code, scale in (
        ("sipas-index", "share"),
        ("health-mean-score", "score"),
        ("health-come-back", "share"),
        ("sat-land-construction-investment", "share"),
    ):
        document = web.get(f"/api/v1/estimates?indicator={code}&period={PERIOD}").json
        found = {(e["domain_type"], e["domain"]): e for e in document["estimates"]}
        assert found[("province", "sl")]["estimate"] is not None and found[("province", "sl")]["scale"] == scale
        for estimate in document["estimates"]:
            jsonschema.validate(estimate, schema)


def test_a_facility_page_shows_the_moh_rates(web, session):
    units = {r.domain for r in rows(session, "health-item-level", "unit") if r.estimate is not None}
    units &= {r.domain for r in rows(session, "health-mean-score", "unit") if r.estimate is not None}
    unit = sorted(units)[0]
    text = " ".join(web.get(f"/units/{unit}?lang=en").get_data(as_text=True).split())
    for code in ("health-item-level", "health-mean-score", "health-come-back"):
        assert f"/indicators/{code}" in text
    assert " / 5" in text


def test_the_methodology_page_has_a_section_per_official_method(web):
    text = " ".join(web.get("/methodology?lang=en").get_data(as_text=True).split())
    for anchor in ("method-sipas", "method-moh", "method-moe"):
        assert f'id="{anchor}"' in text
    assert "not the SIPAS index the Ministry publishes" in text and "Σwy / Σwx" in text


def test_scoring_stores_the_sum_of_the_rated_answers_for_the_mean_score():
    from surveys import definitions
    from surveys.scoring import score_answers

    instrument = definitions.load_instruments()[("health-outpatient", 1)]
    rated = [item.code for item in definitions.rated_items(instrument)]
    answers = {code: 4 for code in rated} | {rated[0]: 0, rated[1]: 1, rated[2]: 5}
    scores = score_answers(instrument, answers)
    assert scores.items_rated == len(rated) - 1
    assert scores.items_score_sum == 1 + 5 + 4 * (len(rated) - 3)
