"""Demo data: realistic, reproducible, with known true rates and a selection bias weighting corrects."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select

from surveys import definitions
from tests.conftest import empty_all_tables
from webapp.models import DemoTruth, Instrument, Response, ResponseScore, TransactionCount, Unit

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
RESPONSES = 20_000


@pytest.fixture(scope="module")
def seeded(app):
    """One demo database for the module (seeding takes a few seconds)."""
    from tests.registry_rows import load_registry
    from webapp.demo.seed import seed_demo
    from webapp.extensions import db

    with app.app_context():
        load_registry(db)
        # Enough responses that the selection bias shows above the noise now that three-face kiosk
        # ratings (before the version switch) no longer count in sat-agencies.
        summary = seed_demo(responses=RESPONSES, seed=7, now=NOW)
        yield db, summary
        db.session.remove()
        empty_all_tables(db)


def test_summary_reports_what_was_made(seeded):
    _, summary = seeded
    assert f"{RESPONSES} responses" in summary and "2012-Q1 to 2026-Q4" in summary


def test_counts_for_every_quarter_since_2012(seeded):
    db, _ = seeded
    periods = db.session.scalars(select(TransactionCount.period).distinct()).all()
    assert len(periods) == 60 and min(periods) == "2012-Q1" and max(periods) == "2026-Q4"


def test_reporting_follows_the_tree_valid_in_each_quarter(seeded):
    db, _ = seeded
    before = db.session.scalars(
        select(Unit.kind).join(Response, Response.unit_id == Unit.id).where(Response.period == "2025-Q2").distinct()
    ).all()
    after_units = db.session.scalars(
        select(Unit).join(Response, Response.unit_id == Unit.id).where(Response.period == "2026-Q3").distinct()
    ).all()
    assert "district" in before and after_units
    assert all(u.kind != "district" and (u.valid_to is None) for u in after_units)


def test_no_response_is_in_the_future(seeded):
    db, _ = seeded
    latest = db.session.scalar(select(func.max(Response.answered_at)))
    assert latest <= NOW


def test_answers_are_valid_for_their_instrument_version(seeded):
    db, _ = seeded
    instruments = {
        row.id: definitions.instrument_from_snapshot(row.snapshot) for row in db.session.scalars(select(Instrument))
    }
    residence = {u.code for u in db.session.scalars(select(Unit))}
    responses = db.session.scalars(select(Response).where(Response.status == "valid").limit(400)).all()
    assert len(responses) == 400
    for response in responses:
        errors = definitions.validate_answers(
            instruments[response.instrument_id], response.answers, sources={"residence_units": residence}
        )
        assert errors == [], (response.answers, errors)


def test_responses_answer_version_1_before_the_switch_and_the_active_version_from_it(seeded):
    from webapp.demo.seed import DEMO_VERSION_SWITCH
    from webapp.periods import Period

    db, _ = seeded
    switch = Period.quarter_of(
        datetime.combine(DEMO_VERSION_SWITCH, datetime.min.time(), tzinfo=UTC) + timedelta(days=1)
    ).label
    rows = db.session.execute(
        select(Instrument.code, Instrument.version, Instrument.active, Response.period)
        .join(Response, Response.instrument_id == Instrument.id)
        .group_by(Instrument.code, Instrument.version, Instrument.active, Response.period)
    ).all()
    before = {(code, version) for code, version, _active, period in rows if period < switch}
    after = {(code, version, active) for code, version, active, period in rows if period >= switch}
    assert before and {version for _, version in before} == {1}
    assert after and all(active for _, _, active in after)
    assert ("counter-quick", 2, True) in after


def test_kiosk_ratings_keep_the_scale_of_their_era(seeded):
    """Three faces (1–3, series sat-agencies-3face) before the switch, five (1–5, sat-agencies) from it."""
    db, _ = seeded
    rows = db.session.execute(
        select(Instrument.version, Response.kiosk_rating, ResponseScore.metric, func.count())
        .join(Response, Response.instrument_id == Instrument.id)
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(Instrument.code == "counter-quick")
        .group_by(Instrument.version, Response.kiosk_rating, ResponseScore.metric)
    ).all()
    assert {(version, metric) for version, _rating, metric, _n in rows} == {
        (1, "sat-agencies-3face"),
        (2, "sat-agencies"),
    }
    assert {rating for version, rating, _, _ in rows if version == 1} == {1, 2, 3}
    assert {rating for version, rating, _, _ in rows if version == 2} == {1, 2, 3, 4, 5}
    # No "no opinion" where the instrument has none: every five-face rating is 1–5.
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(Response)
            .join(Instrument, Response.instrument_id == Instrument.id)
            .where(Instrument.code == "counter-quick", Instrument.version == 2, Response.kiosk_rating.is_(None))
        )
        == 0
    )


def test_the_three_face_series_has_its_own_truth_and_reads_higher(seeded):
    db, _ = seeded
    three = db.session.scalar(select(func.avg(DemoTruth.rate)).where(DemoTruth.indicator_code == "sat-agencies-3face"))
    agencies = db.session.scalar(
        select(func.avg(DemoTruth.rate)).where(DemoTruth.indicator_code == "sat-agencies", DemoTruth.period < "2026-Q3")
    )
    assert three > agencies + 0.05
    assert (
        db.session.scalar(
            select(func.count())
            .select_from(DemoTruth)
            .where(DemoTruth.indicator_code == "sat-agencies-3face", DemoTruth.period >= "2026-Q3")
        )
        == 0
    )


def test_no_personal_data_and_demographics_only_with_consent(seeded):
    db, _ = seeded
    without_consent = db.session.scalar(
        select(func.count())
        .select_from(Response)
        .where(Response.consent_demographics.is_(False), Response.ethnicity_group.is_not(None))
    )
    assert without_consent == 0
    with_consent = db.session.scalar(
        select(func.count()).select_from(Response).where(Response.consent_demographics.is_(True))
    )
    assert with_consent > 0


def test_flagged_responses_are_kept_with_a_reason(seeded):
    db, _ = seeded
    flagged = db.session.scalars(select(Response).where(Response.status == "flagged")).all()
    assert flagged, "the demo includes bursts and too-fast forms"
    assert all(r.quality_flags for r in flagged)


def _rates(db, indicator: str):
    """Per (period, unit, service): true rate, N, responses n and satisfied count (valid only)."""
    cells = {}
    for truth in db.session.scalars(select(DemoTruth).where(DemoTruth.indicator_code == indicator)):
        cells[truth.period, truth.unit_id, truth.service_id] = [truth.rate, truth.transactions, 0, 0]
    rows = db.session.execute(
        select(Response.period, Response.unit_id, Response.service_id, ResponseScore.satisfied)
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(ResponseScore.metric == indicator, Response.status == "valid")
    )
    for period, unit_id, service_id, satisfied in rows:
        cell = cells[period, unit_id, service_id]
        cell[2] += 1
        cell[3] += satisfied
    return cells


def test_counter_ratings_run_higher_than_online_ones(seeded):
    db, _ = seeded
    by_channel = defaultdict(lambda: [0, 0])
    rows = db.session.execute(
        select(Response.channel, ResponseScore.satisfied)
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(ResponseScore.metric == "sat-agencies", Response.status == "valid", Response.period >= "2019-Q1")
    )
    for channel, satisfied in rows:
        by_channel[channel][0] += satisfied
        by_channel[channel][1] += 1
    kiosk = by_channel["kiosk"][0] / by_channel["kiosk"][1]
    online = by_channel["online"][0] / by_channel["online"][1]
    assert kiosk > online + 0.015


def test_weighting_corrects_the_selection_bias(seeded):
    """Since 2023, N_h/n_h weights land nearer the truth than the raw mean.

    The truth is taken over the cells that have responses: that is what cell weights can
    correct (cells without any response are the publishing step's business: it collapses them).
    """
    db, _ = seeded
    truth_num = truth_den = weighted_num = weighted_den = raw_num = raw_den = 0.0
    for (period, _unit, _service), (rate, transactions, n, satisfied) in _rates(db, "sat-agencies").items():
        if period < "2023-Q1":
            continue
        if n:
            truth_num += rate * transactions
            truth_den += transactions
            weighted_num += transactions * satisfied / n
            weighted_den += transactions
            raw_num += satisfied
            raw_den += n
    truth = truth_num / truth_den
    weighted = weighted_num / weighted_den
    raw = raw_num / raw_den
    assert raw - truth > 0.01, "happier cells answer more: the raw mean overstates satisfaction"
    assert abs(weighted - truth) < abs(raw - truth) / 2


def test_true_rates_differ_by_unit_service_and_period(seeded):
    db, _ = seeded
    rates = db.session.scalars(select(DemoTruth.rate).where(DemoTruth.indicator_code == "sat-agencies")).all()
    assert 0 < min(rates) < 0.8 < max(rates) < 1
    early = db.session.scalar(select(func.avg(DemoTruth.rate)).where(DemoTruth.period.like("2012-%")))
    late = db.session.scalar(select(func.avg(DemoTruth.rate)).where(DemoTruth.period.like("2026-%")))
    assert late > early + 0.05


def test_seeding_again_is_refused(seeded, app):
    from webapp.demo.seed import DemoError, seed_demo

    with pytest.raises(DemoError, match="already holds"):
        seed_demo(responses=10, now=NOW)


def test_if_empty_flag_skips_a_populated_database(seeded, app):
    result = app.test_cli_runner().invoke(args=["demo", "seed", "--if-empty"])
    assert result.exit_code == 0 and "not added" in result.output


def test_demo_plants_themed_comments_and_action_plans(seeded):
    """Issue #16: the demo's comments carry their themes, and the agencies' plans answer them."""
    from webapp.models.insights import ActionPlan, CommentTheme

    db, _ = seeded
    commented = db.session.scalar(select(func.count()).select_from(Response).where(Response.comment.is_not(None)))
    themed = db.session.scalar(select(func.count(func.distinct(CommentTheme.response_id))))
    assert commented > 0 and themed == commented
    plans = db.session.scalars(select(ActionPlan).order_by(ActionPlan.id)).all()
    assert {p.status for p in plans} == {"done", "in_progress", "planned"}
    assert {(p.aspect, p.theme) for p in plans} >= {("civil_servant", None), (None, "waiting")}


def test_the_demo_draws_the_same_answers_in_every_process():
    """The planted aspects and comments come from streams seeded from the demo's own: the seed must
    not depend on the process (``hash(None)``, part of a Random state, does before Python 3.12)."""
    import subprocess
    import sys

    script = (
        "import random\n"
        "from surveys import definitions\n"
        "from webapp.demo.seed import _AnswerMaker\n"
        "instrument = definitions.load_instrument('surveys/instruments/admin-procedure.v2.yaml')\n"
        "maker = _AnswerMaker(instrument, random.Random(7))\n"
        "print([maker.aspect_rand.random() for _ in range(3)], [maker.comment_rand.random() for _ in range(3)])\n"
    )
    outputs = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True).stdout  # noqa: S603
        for _ in range(3)
    }
    assert len(outputs) == 1, outputs
