"""Admin audit log: search by every filter, newest first, paginated, CSV export; never editable."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

from tests.pages import check_page
from webapp.models import AuditEvent


def add_events(db):
    rows = [
        AuditEvent(
            at=datetime(2026, 1, 5, 3, 0, tzinfo=UTC),
            actor="ann@sonla.gov.vn",
            action="unit.update",
            object_type="unit",
            object_id="sl-stp",
            before={"name_vi": "Sở Tư pháp"},
            after={"name_vi": "Sở Tư pháp tỉnh"},
            detail="renamed",
        ),
        AuditEvent(
            at=datetime(2026, 2, 10, 3, 0, tzinfo=UTC),
            actor="bob@sonla.gov.vn",
            action="device.revoke",
            object_type="device",
            object_id="7",
            detail="lost tablet at Quầy 2",
        ),
        AuditEvent(
            at=datetime(2026, 3, 15, 3, 0, tzinfo=UTC),
            actor="cli",
            action="transactions.import",
            object_type="transaction_counts",
            object_id="2026-Q1",
            detail='=HYPERLINK("http://x")',
        ),
    ]
    db.session.add_all(rows)
    db.session.commit()


def listed(client, query: str) -> str:
    return check_page(client.get(f"/admin/audit?{query}&lang=en")).find("table", class_="audit-table").get_text(" ")


def test_search_by_action_user_object_text_and_dates(admin_client, db):
    add_events(db)
    assert "sl-stp" in listed(admin_client, "action=unit.update")
    by_user = listed(admin_client, "email=BOB@")
    assert "device.revoke" in by_user and "unit.update" not in by_user
    by_object = listed(admin_client, "object_type=device&object_id=7")
    assert "lost tablet" in by_object and "sl-stp" not in by_object
    by_text = listed(admin_client, "q=quầy+2")
    assert "device.revoke" in by_text and "transactions.import" not in by_text
    in_range = listed(admin_client, "since=2026-02-01&until=2026-02-28")
    assert "device.revoke" in in_range and "unit.update" not in in_range and "transactions.import" not in in_range
    percent = admin_client.get("/admin/audit?q=%25&lang=en").get_data(as_text=True)
    assert "No event matches." in percent  # % is searched for literally, not as a wildcard


def test_newest_first_and_paginated(admin_client, db):
    base = datetime(2026, 1, 1, tzinfo=UTC)
    db.session.add_all(
        AuditEvent(
            at=base.replace(day=1 + n % 28, hour=n % 24),
            actor="cli",
            action="test.event",
            object_type="t",
            object_id=str(n),
        )
        for n in range(60)
    )
    db.session.commit()
    first = check_page(admin_client.get("/admin/audit?action=test.event&lang=en"))
    assert "Page 1 of 2" in first.get_text(" ")
    times = [row.th.get_text() for row in first.find("table", class_="audit-table").tbody.find_all("tr")]
    assert len(times) == 50
    second = check_page(admin_client.get("/admin/audit?action=test.event&page=2&lang=en"))
    assert len(second.find("table", class_="audit-table").tbody.find_all("tr")) == 10


def test_csv_export_has_a_bom_the_filters_and_no_formulas(admin_client, db):
    add_events(db)
    answer = admin_client.get("/admin/audit/export.csv?object_type=unit")
    assert answer.status_code == 200 and answer.mimetype == "text/csv"
    assert "attachment" in answer.headers["Content-Disposition"]
    body = answer.get_data()
    assert body.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert [row["action"] for row in rows] == ["unit.update"]
    assert rows[0]["before"] == '{"name_vi": "Sở Tư pháp"}' and rows[0]["actor"] == "ann@sonla.gov.vn"
    everything = list(
        csv.DictReader(io.StringIO(admin_client.get("/admin/audit/export.csv").get_data().decode("utf-8-sig")))
    )
    formula = next(row for row in everything if row["action"] == "transactions.import")
    assert formula["detail"].startswith("'=")
    assert everything[0]["at"] >= everything[-1]["at"]


def test_the_audit_log_has_no_route_that_changes_it(app):
    rules = [rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/admin/audit")]
    assert len(rules) >= 2, "the log and its export"
    for rule in rules:
        assert rule.methods <= {"GET", "HEAD", "OPTIONS"}, rule
