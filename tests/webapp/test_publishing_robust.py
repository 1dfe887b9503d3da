"""Robust publishing and honest counts (issue #13, findings 6, 7 and 9).

Each test builds a small purpose-made database (two or three units, exact responses and
transaction counts) so the expected published numbers can be worked out by hand.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from webapp.models import (
    Instrument,
    PublishedEstimate,
    PublishedSnapshot,
    Response,
    ResponseScore,
    Service,
    TransactionCount,
    Unit,
)
from webapp.periods import Period

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
A, B, C = "sl-ttpvhcc", "sl-stp", "sl-snv"


def add_responses(db, unit: str, service: str, quarter: str, n: int, satisfied: int) -> None:
    """``n`` valid online responses to ``unit`` × ``service`` in ``quarter``, ``satisfied`` of them satisfied."""
    unit_id = db.session.scalar(select(Unit.id).where(Unit.code == unit))
    service_id = db.session.scalar(select(Service.id).where(Service.code == service))
    instrument_id = db.session.scalar(select(Instrument.id).where(Instrument.code == "counter-quick").limit(1))
    start = datetime.combine(Period.parse(quarter).start, datetime.min.time(), tzinfo=UTC) + timedelta(days=10)
    for i in range(n):
        response = Response(
            client_id=uuid.uuid4(),
            instrument_id=instrument_id,
            unit_id=unit_id,
            service_id=service_id,
            channel="online",
            respondent_type="citizen",
            period=quarter,
            answered_at=start + timedelta(hours=i),
            received_at=start + timedelta(hours=i),
            answers={"overall": 3 if i < satisfied else 1},
            status="valid",
        )
        response.scores.append(ResponseScore(metric="sat-agencies", satisfied=1 if i < satisfied else 0))
        db.session.add(response)
    db.session.commit()


def add_count(db, unit: str, service: str, quarter: str, count: int, respondent_type: str = "all") -> None:
    db.session.add(
        TransactionCount(
            period=quarter,
            unit_id=db.session.scalar(select(Unit.id).where(Unit.code == unit)),
            service_id=db.session.scalar(select(Service.id).where(Service.code == service)),
            respondent_type=respondent_type,
            count=count,
            source="test",
        )
    )
    db.session.commit()


def published(db, period: str, domain_type: str, domain: str, metric: str = "sat-agencies") -> PublishedEstimate:
    snapshot = db.session.scalar(
        select(PublishedSnapshot)
        .where(PublishedSnapshot.period == period)
        .order_by(PublishedSnapshot.revision.desc())
        .limit(1)
    )
    return db.session.scalar(
        select(PublishedEstimate).where(
            PublishedEstimate.snapshot_id == snapshot.id,
            PublishedEstimate.metric == metric,
            PublishedEstimate.domain_type == domain_type,
            PublishedEstimate.domain == domain,
        )
    )


# --- finding 6: a zero count beside responses ----------------------------------------------------


def test_finding_06_a_zero_count_with_responses_is_published_not_a_crash(db, registry):
    """Unit A reports land 0 (with 40 land responses) beside construction 500: the 0 is read as missing."""
    from webapp.publishing.publish import publish_period

    add_responses(db, A, "land", "2026-Q1", 40, 36)
    add_responses(db, A, "construction", "2026-Q1", 40, 28)
    add_count(db, A, "land", "2026-Q1", 0)
    add_count(db, A, "construction", "2026-Q1", 500)
    add_responses(db, B, "land", "2026-Q1", 40, 32)
    add_count(db, B, "land", "2026-Q1", 1000)

    publish_period("2026-Q1", now=NOW)

    unit = published(db, "2026-Q1", "unit", A)
    # A zero beside responses is no count: the unit falls back to its own total (500 over 80 responses),
    # so both services weigh alike within the unit.
    assert unit.estimate == pytest.approx((36 + 28) / 80, abs=1e-12)
    province = published(db, "2026-Q1", "province", "sl")
    assert province.estimate == pytest.approx((500 * 64 / 80 + 1000 * 32 / 40) / 1500, abs=1e-12)


def test_finding_06_all_ended_goes_on_past_a_failing_period_and_lists_it(app, db, registry, monkeypatch):
    """One period failing must not stop the others; the failure is listed and the exit status is non-zero."""
    from webapp.publishing import publish as publishing

    add_responses(db, A, "land", "2025-Q4", 40, 36)
    add_count(db, A, "land", "2025-Q4", 1000)
    add_responses(db, A, "land", "2026-Q1", 40, 36)
    add_count(db, A, "land", "2026-Q1", 1000)
    real = publishing.publish_period

    def failing_on_q4(label, *args, **kwargs):
        if label == "2025-Q4":
            raise ValueError("weights must be positive")
        return real(label, *args, **kwargs)

    monkeypatch.setattr(publishing, "publish_period", failing_on_q4)
    result = app.test_cli_runner().invoke(args=["publish", "--all-ended"])
    assert result.exit_code != 0
    assert "2025-Q4" in result.output and "weights must be positive" in result.output
    assert "Traceback" not in result.output
    periods = set(db.session.scalars(select(PublishedSnapshot.period)))
    assert "2026-Q1" in periods and "2025-Q4" not in periods
    # Periods without responses are skipped with a note, not reported as failures.
    assert "without responses" in result.output
    assert "2012-Q1" not in periods


def test_finding_06_an_empty_period_is_skipped_not_failed(db, registry):
    from webapp.publishing.publish import publish_ended_periods

    add_responses(db, A, "land", "2026-Q1", 40, 36)
    add_count(db, A, "land", "2026-Q1", 1000)
    run = publish_ended_periods(now=NOW)
    labels = {p.period for p in run.published}
    assert {"2026-Q1", "2026-H1"} <= labels
    assert not run.failed
    assert "2026-Q2" in {label for label, _ in run.skipped}


# --- finding 7: a unit without counts ------------------------------------------------------------


def _half_year_without_q2_counts(db) -> None:
    """Equal volumes (1000 a quarter) everywhere, but unit A reported no count for 2026-Q2."""
    add_responses(db, A, "land", "2026-Q1", 40, 38)  # 0.95
    add_responses(db, A, "land", "2026-Q2", 40, 24)  # 0.60
    add_count(db, A, "land", "2026-Q1", 1000)
    add_responses(db, B, "land", "2026-Q1", 40, 32)  # 0.80
    add_responses(db, B, "land", "2026-Q2", 40, 32)
    add_count(db, B, "land", "2026-Q1", 1000)
    add_count(db, B, "land", "2026-Q2", 1000)


def test_finding_07_a_unit_without_a_quarter_count_keeps_its_weight_in_the_half_year(db, registry):
    """Before: A's uncounted Q2 got weight 1 beside Q1's 25, so A's H1 read ≈ 0.94 ("met") instead of 0.775."""
    from webapp.publishing.publish import publish_period

    _half_year_without_q2_counts(db)
    for label in ("2026-Q1", "2026-Q2", "2026-H1"):
        publish_period(label, now=NOW)

    unit_h1 = published(db, "2026-H1", "unit", A)
    assert unit_h1.estimate == pytest.approx((0.95 + 0.60) / 2, abs=1e-12)
    assert unit_h1.extra["weighted"] == "imputed"
    assert unit_h1.extra["imputed_cells"] == {"other_quarter": 1}
    # The province in Q2: A and B have equal volumes, so A may not vanish beside B.
    province_q2 = published(db, "2026-Q2", "province", "sl")
    assert province_q2.estimate == pytest.approx((0.60 + 0.80) / 2, abs=1e-12)
    assert province_q2.extra["weighted"] == "imputed"
    # A's transactions are what was reported, never the imputed count.
    assert published(db, "2026-Q2", "province", "sl").extra["transactions"] == 1000
    snapshot = db.session.scalar(select(PublishedSnapshot).where(PublishedSnapshot.period == "2026-Q2"))
    assert snapshot.summary["imputed_cells"] == {"sat-agencies": {"other_quarter": 1}}


def test_finding_07_a_unit_never_counted_takes_its_services_response_rate(db, registry):
    """Unit C has no count in any quarter: it is weighted like the counted units of its service, not 1."""
    from webapp.publishing.publish import publish_period

    add_responses(db, A, "land", "2026-Q1", 40, 38)
    add_count(db, A, "land", "2026-Q1", 1000)
    add_responses(db, B, "land", "2026-Q1", 40, 32)
    add_count(db, B, "land", "2026-Q1", 1000)
    add_responses(db, C, "land", "2026-Q1", 40, 20)  # 0.50, no count anywhere

    publish_period("2026-Q1", now=NOW)
    province = published(db, "2026-Q1", "province", "sl")
    # Land's counted units answered 80 of 2000 transactions: C's 40 responses stand for 1000.
    assert province.estimate == pytest.approx((0.95 + 0.80 + 0.50) / 3, abs=1e-12)
    assert province.extra["weighted"] == "imputed"
    assert province.extra["imputed_cells"] == {"service_rate": 1}
    unit = published(db, "2026-Q1", "unit", C)
    assert unit.estimate == pytest.approx(0.5, abs=1e-12)
    assert unit.extra["weighted"] == "imputed"
    assert "transactions" not in unit.extra


# --- finding 9: transactions count every cell -----------------------------------------------------


def test_finding_09_transactions_and_response_rates_count_cells_without_responses(db, registry):
    from webapp.publishing.publish import publish_period

    add_responses(db, A, "land", "2026-Q1", 40, 36)
    add_count(db, A, "land", "2026-Q1", 1000)
    add_count(db, A, "construction", "2026-Q1", 500)  # no response
    add_responses(db, B, "land", "2026-Q1", 40, 32)
    add_count(db, B, "land", "2026-Q1", 600)
    add_count(db, C, "land", "2026-Q1", 300)  # a unit without any response

    publish_period("2026-Q1", now=NOW)
    unit = published(db, "2026-Q1", "unit", A)
    assert unit.extra["transactions"] == 1500
    assert unit.extra["response_rate"] == pytest.approx(40 / 1500)
    province = published(db, "2026-Q1", "province", "sl")
    assert province.extra["transactions"] == 2400
    assert province.extra["response_rate"] == pytest.approx(80 / 2400)
    land = published(db, "2026-Q1", "service", "land")
    assert land.extra["transactions"] == 1900
    channel = published(db, "2026-Q1", "channel", "online")
    assert "transactions" not in channel.extra and "response_rate" not in channel.extra
