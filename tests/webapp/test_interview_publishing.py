"""Breakdowns by mode (self, read aloud, assisted, SMS) and by language: published like channels,
under the same disclosure rules (issue #17)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from tests.conftest import add_dossier_counts
from webapp.models import PublishedEstimate

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


def shown(db, metric="sat-agencies"):
    rows = db.session.scalars(select(PublishedEstimate).where(PublishedEstimate.metric == metric)).all()
    return {(r.domain_type, r.domain): r for r in rows}


def test_modes_and_languages_are_published_as_partitions_of_the_province(app, db, registry, client, rate):
    from webapp.publishing.publish import publish_period

    add_dossier_counts("sl-ttpvhcc", "land", {"2026-Q3": 400})
    rate(overall=5, count=40, start=SEPTEMBER)
    rate(overall=4, count=35, start=SEPTEMBER, mode="assisted")
    rate(overall=2, count=30, start=SEPTEMBER, mode="read_aloud", language="en")
    publish_period("2026-Q3", now=NOW)
    rows = shown(db)
    assert rows[("province", "sl")].n == 105
    assert (
        rows[("mode", "self")].n == 40 and rows[("mode", "assisted")].n == 35 and rows[("mode", "read_aloud")].n == 30
    )
    assert rows[("mode", "self")].estimate == 1.0 and rows[("mode", "read_aloud")].estimate == 0.0
    assert rows[("language", "vi")].n == 75 and rows[("language", "en")].n == 30
    # How people answered is not counted at the counter: no transactions, no response rate.
    for key in [("mode", "self"), ("mode", "assisted"), ("language", "vi")]:
        assert "response_rate" not in rows[key].extra and "transactions" not in rows[key].extra
    assert "response_rate" in rows[("unit", "sl-ttpvhcc")].extra
    document = client.get("/api/v1/estimates?indicator=sat-agencies&period=2026-Q3&domain_type=mode").json
    assert {e["domain"] for e in document["estimates"]} == {"self", "assisted", "read_aloud"}


def test_modes_and_languages_stay_out_of_the_microdata(app, db, registry, tmp_path, rate):
    """The microdata's disclosure rules cover its quasi-identifiers only: no block by mode or language."""
    import csv

    from webapp.publishing.publish import publish_period

    rate(overall=5, count=40, start=SEPTEMBER)
    rate(overall=4, count=35, start=SEPTEMBER, mode="assisted", language="en")
    publish_period("2026-Q3", now=NOW)
    assert ("mode", "assisted") in shown(db)
    for tier in (["--tier", "public"], ["--tier", "restricted", "--purpose", "Checking the blocks of the file"]):
        path = tmp_path / f"m-{tier[1]}.csv"
        result = app.test_cli_runner().invoke(
            args=["export", "microdata", "2026-Q3", "--indicator", "sat-agencies", "-o", str(path), *tier]
        )
        assert result.exit_code == 0, result.output
        with path.open(encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
        assert rows and not {"mode", "language"} & set(rows[0])
        assert not {"mode", "language"} & {row.get("domain_type") for row in rows}


def test_a_thin_mode_is_hidden_with_its_complement(app, db, registry, rate):
    from webapp.publishing.publish import publish_period

    rate(overall=5, count=40, start=SEPTEMBER)
    rate(overall=1, count=5, start=SEPTEMBER, mode="assisted", language="en")
    publish_period("2026-Q3", now=NOW)
    rows = shown(db)
    assert rows[("province", "sl")].n == 45
    # 5 assisted interviews are never shown; 40 self-completed would reveal them as 45 − 40.
    assert ("mode", "assisted") not in rows and ("mode", "self") not in rows
    assert ("language", "en") not in rows and ("language", "vi") not in rows
    result = app.test_cli_runner().invoke(args=["disclosure", "audit", "2026-Q3"])
    assert result.exit_code == 0, result.output


def test_a_count_only_mode_keeps_its_rate_out_of_reach(app, db, registry, rate):
    """Between the two minimums only the count is shown, and the other mode's rate is withheld too,
    since province = self + assisted would give it away."""
    from webapp.publishing.publish import publish_period

    rate(overall=5, count=60, start=SEPTEMBER)
    rate(overall=1, count=15, start=SEPTEMBER, mode="assisted")
    publish_period("2026-Q3", now=NOW)
    rows = shown(db)
    assisted = rows[("mode", "assisted")]
    assert assisted.n == 15 and assisted.status == "insufficient" and assisted.estimate is None
    assert rows[("province", "sl")].estimate is not None
    assert rows[("mode", "self")].estimate is None
    result = app.test_cli_runner().invoke(args=["disclosure", "audit", "2026-Q3"])
    assert result.exit_code == 0, result.output
