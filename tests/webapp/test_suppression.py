"""Small cells never appear in any published table, API answer or download."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select

from webapp.models import PublishedEstimate

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


def test_thin_cells_are_hidden_with_their_complement(app, client, db, make_device, tmp_path, rate):
    from webapp.publishing.publish import publish_period

    device, _ = make_device("sl-ttpvhcc")
    rate("sl-ttpvhcc", overall=3, count=40, start=SEPTEMBER, device=device)
    rate("sl-ttpvhcc", overall=1, count=5, start=SEPTEMBER)
    publish_period("2026-Q3", now=NOW)
    rows = db.session.scalars(select(PublishedEstimate).where(PublishedEstimate.metric == "sat-agencies")).all()
    shown = {(r.domain_type, r.domain): r for r in rows}
    assert shown[("province", "sl")].n == 45
    # online has 5 responses: never shown. kiosk (40) would reveal it as 45 − 40: hidden too.
    assert ("channel", "online") not in shown
    assert ("channel", "kiosk") not in shown
    assert rows and all(r.n >= 10 for r in rows)
    document = client.get("/api/v1/estimates?indicator=sat-agencies&period=2026-Q3&domain_type=channel").json
    assert document["estimates"] == []
    result = app.test_cli_runner().invoke(
        args=["export", "microdata", "2026-Q3", "--indicator", "sat-agencies", "-o", str(tmp_path / "m.csv")]
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "m.csv").read_text(encoding="utf-8")
    assert "online" not in text and "kiosk" not in text


def test_between_ten_and_thirty_only_the_count_is_published(app, db, make_device, rate):
    from webapp.publishing.publish import publish_period

    device, _ = make_device("sl-ttpvhcc")
    rate("sl-ttpvhcc", overall=3, count=20, start=SEPTEMBER, device=device)
    publish_period("2026-Q3", now=NOW)
    province = db.session.scalar(
        select(PublishedEstimate).where(
            PublishedEstimate.metric == "sat-agencies", PublishedEstimate.domain_type == "province"
        )
    )
    assert province.n == 20 and province.status == "insufficient"
    assert province.estimate is None and province.ci_low is None and province.ci_high is None and province.se is None
