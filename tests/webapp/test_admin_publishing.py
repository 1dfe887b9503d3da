"""Admin publishing: publish an ended period, republish only with a reason, compare revisions."""

from __future__ import annotations

from sqlalchemy import select, update

from tests.pages import check_page
from tests.webapp.test_admin_pages import audit_rows, post
from webapp.models import IndicatorTarget, PublishedSnapshot
from webapp.periods import current_quarter


def test_publish_republish_with_reason_and_diff(admin_client, db):
    from webapp.demo.seed import seed_demo

    last = current_quarter().previous()
    seed_demo(responses=3000, seed=7, first_quarter=last)
    label = last.label

    listing = check_page(admin_client.get("/admin/publishing?lang=en")).get_text(" ")
    assert label in listing and "not published" in listing

    # Publishing runs as a job: the answer redirects at once to the job's page (inline in tests: already done).
    first = post(admin_client, f"/admin/publishing/{label}", {"reason": ""})
    assert first.status_code == 302 and "/admin/jobs/" in first.headers["Location"]
    job_page = check_page(admin_client.get(first.headers["Location"] + "?lang=en")).get_text(" ")
    assert "Done" in job_page and f"{label} is published (revision 1" in job_page
    snapshot = db.session.scalar(select(PublishedSnapshot).where(PublishedSnapshot.period == label))
    assert snapshot.revision == 1 and snapshot.published_by == admin_client.admin.email

    no_reason = post(admin_client, f"/admin/publishing/{label}?lang=en", {"reason": "  "})
    assert "Say why the period is published again" in check_page(no_reason, status=400).get_text(" ")
    assert len(db.session.scalars(select(PublishedSnapshot)).all()) == 1

    db.session.execute(update(IndicatorTarget).values(value=0.123))
    db.session.commit()
    second = post(admin_client, f"/admin/publishing/{label}", {"reason": "Targets corrected"})
    assert second.status_code == 302 and second.headers["Location"] != first.headers["Location"]
    revisions = db.session.scalars(
        select(PublishedSnapshot).where(PublishedSnapshot.period == label).order_by(PublishedSnapshot.revision)
    ).all()
    assert [(r.revision, r.reason) for r in revisions] == [(1, None), (2, "Targets corrected")]
    events = audit_rows(db, "period.publish")
    assert [e.after["revision"] for e in events] == [1, 2] and events[1].detail == "Targets corrected"
    assert all(e.actor == admin_client.admin.email for e in events)

    page = check_page(admin_client.get(f"/admin/publishing/{label}?lang=en")).get_text(" ")
    assert "Compare two revisions" in page and "Targets corrected" in page
    diff = check_page(admin_client.get(f"/admin/publishing/{label}/diff?old=1&new=2&lang=en"))
    text = diff.get_text(" ")
    assert "Targets corrected" in text
    changed = diff.find("dt", string="Estimates changed").find_next("dd").get_text()
    assert int(changed.replace(",", "")) > 0
    same = check_page(admin_client.get(f"/admin/publishing/{label}/diff?old=2&new=2&lang=en")).get_text(" ")
    assert "The two revisions publish the same figures." in same


def test_diff_counts_added_removed_and_changed_rows(app, db):
    from webapp.admin.diff import diff_snapshots
    from webapp.models import PublishedEstimate, utcnow

    def snapshot(revision, rows):
        made = PublishedSnapshot(
            period="2025-Q1",
            revision=revision,
            published_at=utcnow(),
            published_by="cli",
            reason="r" if revision > 1 else None,
            methodology_version="1",
            instrument_versions={},
            input_hashes={},
            summary={},
        )
        made.estimates = [
            PublishedEstimate(
                metric="sat-agencies",
                domain_type="unit",
                domain=domain,
                n=n,
                estimate=e,
                se=0.01,
                ci_low=e - 0.02,
                ci_high=e + 0.02,
                ci_method="wilson",
                status="met",
            )
            for domain, n, e in rows
        ]
        db.session.add(made)
        db.session.flush()
        return made.id

    old = snapshot(1, [("a", 50, 0.9), ("b", 50, 0.8), ("c", 40, 0.7)])
    new = snapshot(2, [("a", 50, 0.9), ("b", 51, 0.81), ("d", 40, 0.7)])
    diff = diff_snapshots(old, new)
    assert (diff.count("changed"), diff.count("added"), diff.count("removed"), diff.unchanged) == (1, 1, 1, 1)
    assert [c.domain for c in diff.changes] == ["b", "c", "d"]


def test_a_period_not_yet_ended_cannot_be_published(admin_client, db):
    label = current_quarter().label
    page = check_page(admin_client.get(f"/admin/publishing/{label}?lang=en")).get_text(" ")
    assert "has not ended yet" in page
    answer = post(admin_client, f"/admin/publishing/{label}?lang=en", {"reason": ""})
    assert answer.status_code == 409
    empty = post(admin_client, "/admin/publishing/2013-Q1?lang=en", {"reason": ""})
    assert empty.status_code == 409 and "has no responses to publish" in empty.get_data(as_text=True)
    assert db.session.scalar(select(PublishedSnapshot)) is None
