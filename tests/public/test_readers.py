"""The read model of published data (:mod:`public.readers`): which snapshot is current, the one field
list of a published estimate, and the API's estimates paged and sorted by the database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from tests.conftest import loaded_rows, sql_statements
from webapp.models.publishing import DOMAIN_TYPES

T0 = datetime(2026, 11, 1, 3, 0, tzinfo=UTC)


def snapshot(db, period: str, revision: int = 1, *, at: datetime = T0):
    from webapp.models import PublishedSnapshot

    row = PublishedSnapshot(
        period=period,
        revision=revision,
        published_at=at,
        published_by="cli",
        reason=None if revision == 1 else "Late paper forms.",
        methodology_version="test",
        instrument_versions={},
        input_hashes={},
        summary={},
    )
    db.session.add(row)
    db.session.flush()
    return row


def estimate(db, snap, metric: str = "sat-agencies", domain_type: str = "province", domain: str = "sl", **values):
    from webapp.models import PublishedEstimate

    fields = {
        "n": 40,
        "estimate": 0.8,
        "se": 0.05,
        "ci_low": 0.7,
        "ci_high": 0.9,
        "ci_method": "wilson-cc-kish",
        "n_eff": 35.0,
        "deff": 1.1,
        "target": 0.75,
        "status": "met",
        "extra": {},
        **values,
    }
    row = PublishedEstimate(snapshot_id=snap.id, metric=metric, domain_type=domain_type, domain=domain, **fields)
    db.session.add(row)
    return row


@pytest.fixture()
def revised(db):
    """Periods of every kind, revisions stored out of order (2026-Q1's revision 2 has the lower id)."""
    snapshot(db, "2026-Q1", 2, at=T0 + timedelta(days=9))
    snapshot(db, "2026-Q1", 1, at=T0)
    snapshot(db, "2025-Q4", 1, at=T0)
    snapshot(db, "2025-Q4", 2, at=T0 + timedelta(days=1))
    snapshot(db, "2025-Q4", 3, at=T0 + timedelta(days=2))
    snapshot(db, "2026-Q2", 1, at=T0 + timedelta(days=3))
    snapshot(db, "2026-H1", 1, at=T0 + timedelta(days=4))
    snapshot(db, "2025", 1, at=T0 + timedelta(days=5))
    db.session.commit()
    db.session.expunge_all()
    return db


def labels(snapshots) -> list[tuple[str, int]]:
    return [(s.period, s.revision) for s in snapshots]


def test_the_latest_revision_of_each_period_by_kind_oldest_first(revised):
    from public import readers

    assert labels(readers.latest_snapshots("Q")) == [("2025-Q4", 3), ("2026-Q1", 2), ("2026-Q2", 1)]
    assert labels(readers.latest_snapshots("H")) == [("2026-H1", 1)]
    assert labels(readers.latest_snapshots("Y")) == [("2025", 1)]
    # Every kind: by the period's last day, a quarter before the half-year and year ending with it.
    assert labels(readers.latest_snapshots()) == [
        ("2025-Q4", 3),
        ("2025", 1),
        ("2026-Q1", 2),
        ("2026-Q2", 1),
        ("2026-H1", 1),
    ]


def test_latest_snapshots_do_not_load_every_revision(revised):
    """The latest revision is chosen by the database: superseded revisions are never loaded."""
    from public import readers
    from webapp.models import PublishedSnapshot

    with loaded_rows(PublishedSnapshot) as rows:
        readers.latest_snapshots()
    assert sorted(rows) == sorted(s.id for s in readers.latest_snapshots())


def test_find_snapshot_and_the_latest_snapshot_of_a_kind(revised):
    from public import readers

    assert labels([readers.find_snapshot("2026-Q1")]) == [("2026-Q1", 2)]
    assert labels([readers.find_snapshot("2025-Q4")]) == [("2025-Q4", 3)]
    assert readers.find_snapshot("2024-Q1") is None
    assert labels([readers.latest_snapshot("Q")]) == [("2026-Q2", 1)]
    assert labels([readers.latest_snapshot("H")]) == [("2026-H1", 1)]
    assert labels([readers.latest_snapshot("Y")]) == [("2025", 1)]
    # The API's default: the period published most recently (2026-Q1's revision 2, nine days on).
    assert labels([readers.last_published()]) == [("2026-Q1", 2)]


def test_nothing_published(db):
    from public import readers

    assert readers.latest_snapshots() == [] and readers.latest_snapshots("Q") == []
    assert readers.latest_snapshot("Q") is None and readers.last_published() is None
    assert readers.find_snapshot("2026-Q1") is None


def test_the_two_meanings_of_latest_stay_as_documented(revised, client):
    """``/api/v1/estimates`` without a period answers the most recently published period;
    ``/data/latest/…`` is the latest quarter."""
    from webapp.models import PublishedSnapshot

    year = revised.session.scalar(select(PublishedSnapshot).where(PublishedSnapshot.period == "2025"))
    year.published_at = T0 + timedelta(days=30)
    revised.session.commit()
    answer = client.get("/api/v1/estimates").json
    assert (answer["period"], answer["revision"]) == ("2025", 1)
    document = client.get("/data/latest/estimates.json").json
    assert (document["period"], document["revision"]) == ("2026-Q2", 1)


def test_the_headline_is_the_latest_revision_even_stored_first(db):
    """The home page's figure: revision 2 of the latest quarter, whatever the order the rows were stored in."""
    from public.summaries import fetch_headlines
    from webapp.models import Indicator

    db.session.add(Indicator(code="sat-agencies", name_vi="Hài lòng", name_en="Satisfaction", kind="satisfaction"))
    second = snapshot(db, "2026-Q1", 2, at=T0 + timedelta(days=9))
    first = snapshot(db, "2026-Q1", 1, at=T0)
    estimate(db, second, estimate=0.81, ci_low=0.7, ci_high=0.9)
    estimate(db, first, estimate=0.61, ci_low=0.5, ci_high=0.7)
    db.session.commit()
    (headline,) = fetch_headlines()
    assert headline.period == "2026-Q1" and headline.estimate.estimate == pytest.approx(0.81)


# --- one field list ----------------------------------------------------------------------------


def test_one_field_list_for_the_api_the_downloads_and_the_schema(db, client):
    from public import readers
    from public.downloads import FIELD_NAMES

    snap = snapshot(db, "2026-Q1")
    estimate(db, snap, extra={"weighted": "yes", "transactions": 120, "scale": "share"})
    estimate(
        db,
        snap,
        domain_type="unit",
        domain="sl-x",
        n=12,
        status="insufficient",
        **dict.fromkeys(("estimate", "se", "ci_low", "ci_high", "n_eff", "deff"), None),
    )
    db.session.commit()
    rows = client.get("/api/v1/estimates?period=2026-Q1").json["estimates"]
    assert len(rows) == 2
    province, unit = rows
    assert set(province) == {*readers.ESTIMATE_FIELDS, "weighted", "transactions"}
    assert set(unit) == set(readers.ESTIMATE_FIELDS)
    assert set(readers.ESTIMATE_EXTRAS) <= set(readers.ESTIMATE_FIELDS + readers.ESTIMATE_EXTRAS)
    schema = client.get("/api/v1/openapi.json").json["components"]["schemas"]["Estimate"]
    assert schema["required"] == list(readers.ESTIMATE_FIELDS)
    assert set(schema["properties"]) >= set(readers.ESTIMATE_FIELDS)
    # The CSV: every field but the nested ones, and the domain's names.
    flat = [name for name in (*readers.ESTIMATE_FIELDS, *readers.ESTIMATE_EXTRAS) if name not in ("change", "funnel")]
    assert sorted(FIELD_NAMES) == sorted([*flat, "domain_name_vi", "domain_name_en"])
    document = client.get("/data/2026-Q1/estimates.json").json
    assert [list(row) for row in document["estimates"]] == [
        [
            *readers.ESTIMATE_FIELDS[:5],
            "domain_name_vi",
            "domain_name_en",
            *readers.ESTIMATE_FIELDS[5:],
            *readers.ESTIMATE_EXTRAS,
        ]
    ] * 2


def test_estimate_record_reads_the_row_and_its_snapshot(db):
    from public import readers

    snap = snapshot(db, "2026-Q1", 1)
    row = estimate(db, snap, metric="sat-agencies/aspect:time", extra={"scale": "score", "funnel": {"lo": 1}})
    db.session.flush()
    record = readers.estimate_record(row, snap)
    assert list(record) == [*readers.ESTIMATE_FIELDS, "funnel"]
    assert record["indicator"] == "sat-agencies" and record["metric"] == "sat-agencies/aspect:time"
    assert (record["period"], record["revision"], record["scale"]) == ("2026-Q1", 1, "score")
    complete = readers.estimate_record(row, snap, every_extra=True)
    assert list(complete) == [*readers.ESTIMATE_FIELDS, *readers.ESTIMATE_EXTRAS]
    assert complete["weighted"] is None and complete["funnel"] == {"lo": 1}


def test_publishing_stores_every_column_of_a_computed_estimate():
    """The insert of a publication writes the model's columns, named in one place."""
    from dataclasses import fields

    from public import readers
    from webapp.models import PublishedEstimate
    from webapp.publishing.compute import EstimateRecord

    stored = {c.name for c in PublishedEstimate.__table__.columns} - {"id", "snapshot_id"}
    assert set(readers.STORED_ESTIMATE_COLUMNS) == stored
    assert stored <= {f.name for f in fields(EstimateRecord)}


# --- the API's page, sorted and cut by the database ---------------------------------------------


#: Metrics and domains whose order differs between a byte-wise sort and a language's collation
#: ("-" before "/", capitals before lower case), and domain types out of alphabetical order.
METRICS = ("sat-agencies", "sat-agencies/aspect:time", "sat-agencies-b", "sat-health", "sat-Zeta")
DOMAINS = (("province", "sl"), ("channel", "kiosk"), ("unit", "sl-b"), ("unit", "sl-a-2"), ("unit", "sl-a"))


def many(db, period: str = "2026-Q1", copies: int = 1):
    snap = snapshot(db, period)
    for copy in range(copies):
        for metric in METRICS:
            for domain_type, domain in DOMAINS:
                estimate(db, snap, metric, domain_type, domain if copy == 0 else f"{domain}.{copy}")
    db.session.commit()
    return snap


def test_pages_add_up_to_the_whole_list_in_the_documented_order(db, client):
    many(db)
    whole = client.get("/api/v1/estimates?aspects=1&limit=5000").json
    rows = whole["estimates"]
    assert whole["count"] == len(rows) == len(METRICS) * len(DOMAINS)
    keys = [(r["metric"], DOMAIN_TYPES.index(r["domain_type"]), r["domain"]) for r in rows]
    assert keys == sorted(keys), "by metric, the domain types' own order, then domain; as Python compares text"
    pages = []
    for page in range(1, 5):
        answer = client.get(f"/api/v1/estimates?aspects=1&limit=7&page={page}").json
        assert answer["count"] == len(rows)
        pages += answer["estimates"]
    assert pages == rows
    unit = client.get("/api/v1/estimates?aspects=1&domain_type=unit&limit=4&page=2").json
    only_units = [r for r in rows if r["domain_type"] == "unit"]
    assert unit["count"] == len(only_units) and unit["estimates"] == only_units[4:8]


def test_an_api_page_loads_only_its_rows_in_a_fixed_number_of_statements(db, client):
    from webapp.models import PublishedEstimate

    many(db)
    client.get("/api/v1/estimates?period=2026-Q1&limit=5")  # warm up: the first request loads what every request shares
    with sql_statements(db.engine) as small, loaded_rows(PublishedEstimate) as rows_small:
        assert len(client.get("/api/v1/estimates?period=2026-Q1&limit=5").json["estimates"]) == 5
    db.session.remove()
    many(db, "2026-Q2", copies=8)
    with sql_statements(db.engine) as large, loaded_rows(PublishedEstimate) as rows_large:
        answer = client.get("/api/v1/estimates?period=2026-Q2&limit=5&page=3").json
    assert answer["count"] == 8 * len(DOMAINS) * 4 and len(answer["estimates"]) == 5
    assert len(large) == len(small), "the same statements however many rows the period has"
    assert len(rows_small) == len(rows_large) == 5, "only the page's rows are read"
