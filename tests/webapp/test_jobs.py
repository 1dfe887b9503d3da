"""The job queue (issue #15): idempotent enqueueing, commit/rollback, retries, sealed data, admin pages.

Tests run in the inline mode: a job runs right after the transaction that enqueued it commits.
The kill test with a real Redis and worker processes is in ``test_jobs_worker.py``.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from tests.conftest import csrf_from, make_app
from tests.pages import check_page
from tests.webapp import test_jobs_handlers as handlers
from tests.webapp.test_admin_pages import audit_rows
from webapp import jobs
from webapp.models import Job, utcnow

PHONE = "0912345678"
EMAIL = "citizen.secret@example.vn"


@pytest.fixture(autouse=True)
def _clean_handlers():
    handlers.SEEN.clear()
    handlers.FAIL.clear()
    yield
    handlers.SEEN.clear()
    handlers.FAIL.clear()


def seen(kind: str) -> list[tuple]:
    return [entry for entry in handlers.SEEN if entry[0] == kind]


def test_a_job_runs_after_the_commit_and_its_result_is_stored(db):
    job = jobs.enqueue("test.echo", {"value": 42}, title="Echo")
    assert job.state == "queued" and seen("test.echo") == []  # not before the commit
    db.session.commit()
    db.session.refresh(job)
    assert (job.state, job.attempts, job.result) == ("done", 1, {"echo": 42, "sealed_received": False})
    assert job.started_at is not None and job.finished_at is not None and job.created_by == "system"


def test_enqueue_is_idempotent_by_key(db):
    first = jobs.enqueue("test.echo", {"value": 1}, key="echo:1")
    db.session.commit()
    again = jobs.enqueue("test.echo", {"value": 2}, key="echo:1")
    db.session.commit()
    assert again.id == first.id
    assert db.session.scalars(select(Job)).all() == [first]
    assert len(seen("test.echo")) == 1  # queued and run once
    # A different key is another job.
    other = jobs.enqueue("test.echo", {"value": 3}, key="echo:2")
    db.session.commit()
    assert other.id != first.id and len(seen("test.echo")) == 2


def test_a_rolled_back_enqueue_sends_nothing(db):
    jobs.enqueue("test.echo", {"value": "rolled back"}, key="gone")
    db.session.rollback()
    kept = jobs.enqueue("test.echo", {"value": "kept"})
    db.session.commit()
    assert [entry[3]["value"] for entry in seen("test.echo")] == ["kept"]
    assert [job.id for job in db.session.scalars(select(Job))] == [kept.id]
    assert db.session.scalar(select(Job).where(Job.key == "gone")) is None


def test_a_rolled_back_savepoint_drops_its_job_only(db):
    outer = jobs.enqueue("test.echo", {"value": "outer"})
    savepoint = db.session.begin_nested()
    jobs.enqueue("test.echo", {"value": "inner"})
    savepoint.rollback()
    db.session.commit()
    assert [entry[3]["value"] for entry in seen("test.echo")] == ["outer"]
    assert db.session.get(Job, outer.id).state == "done"


def test_transient_errors_are_retried_with_exponential_back_off(db):
    job = jobs.enqueue("test.flaky", {"succeed_on": 3})
    db.session.commit()
    db.session.refresh(job)
    assert (job.state, job.attempts, job.error) == ("retrying", 1, "gateway busy (attempt 1)")
    # The first back-off is min_backoff (1 s) to twice that; the second doubles it.
    due = job.next_attempt_at
    assert timedelta(0) < due - utcnow() <= timedelta(seconds=2)
    assert jobs.drain() == 0  # not due yet
    assert jobs.drain(now=due + timedelta(milliseconds=1)) == 1
    db.session.refresh(job)
    assert (job.state, job.attempts) == ("retrying", 2)
    wait = job.next_attempt_at - utcnow()
    assert timedelta(seconds=1) < wait <= timedelta(seconds=4)
    assert jobs.drain(now=utcnow() + timedelta(minutes=5)) == 1
    db.session.refresh(job)
    assert (job.state, job.attempts, job.result, job.error) == ("done", 3, {"attempt": 3}, None)


def test_retry_after_is_respected(db):
    job = jobs.enqueue("test.flaky", {"succeed_on": 2, "retry_after_ms": 120_000})
    db.session.commit()
    db.session.refresh(job)
    assert job.state == "retrying" and job.next_attempt_at - utcnow() > timedelta(seconds=100)
    assert jobs.drain(now=utcnow() + timedelta(seconds=60)) == 0


def test_a_permanent_error_fails_at_once(db):
    job = jobs.enqueue("test.permanent", {})
    db.session.commit()
    db.session.refresh(job)
    assert (job.state, job.attempts, job.error) == ("failed", 1, "the input can never work")
    assert jobs.drain(now=utcnow() + timedelta(days=1)) == 0
    assert len(seen("test.permanent")) == 1


def test_other_exceptions_are_retried_then_fail(db):
    job = jobs.enqueue("test.broken", {})
    db.session.commit()
    db.session.refresh(job)
    assert (job.state, job.attempts, job.error) == ("retrying", 1, "RuntimeError: boom")
    jobs.drain(now=utcnow() + timedelta(minutes=1))
    db.session.refresh(job)
    assert (job.state, job.attempts, job.error) == ("failed", 2, "RuntimeError: boom")
    assert job.finished_at is not None


def test_an_unknown_kind_fails_with_a_clear_error(db):
    job = jobs.enqueue("test.nobody-handles-this", {})
    db.session.commit()
    db.session.refresh(job)
    assert job.state == "failed" and "no handler" in job.error


def _every_stored_text(db) -> str:
    """Every row of every table, as text (the whole database, for a search)."""
    chunks = []
    with db.engine.connect() as connection:
        for table in db.metadata.sorted_tables:
            for row in connection.execute(table.select()):
                chunks.append(repr(tuple(row)))
    return "\n".join(chunks)


def test_sealed_data_reaches_the_handler_and_never_the_database_nor_the_logs(db, caplog):
    caplog.set_level(logging.DEBUG)
    done = jobs.enqueue("test.echo", {"value": "with contact"}, sealed={"phone": PHONE, "email": EMAIL})
    waiting = jobs.enqueue("test.flaky", {"succeed_on": 2}, sealed={"phone": PHONE, "email": EMAIL})
    failing = jobs.enqueue("test.permanent", {}, sealed={"phone": PHONE})
    db.session.commit()
    assert seen("test.echo")[0][4] == {"phone": PHONE, "email": EMAIL}
    assert seen("test.flaky")[0][4] == {"phone": PHONE, "email": EMAIL}
    stored = _every_stored_text(db)
    assert PHONE not in stored and EMAIL not in stored
    db.session.refresh(waiting)
    assert waiting.state == "retrying" and waiting.sealed  # kept encrypted for the next attempt
    jobs.drain(now=utcnow() + timedelta(minutes=1))
    assert seen("test.flaky")[1][4] == {"phone": PHONE, "email": EMAIL}
    for job in (done, waiting, failing):
        db.session.refresh(job)
        assert job.state in ("done", "failed") and job.sealed is None  # wiped when the job ends
    stored = _every_stored_text(db)
    assert PHONE not in stored and EMAIL not in stored
    logged = "\n".join(record.getMessage() for record in caplog.records) + caplog.text
    assert PHONE not in logged and EMAIL not in logged


def test_sealed_data_is_encrypted_with_a_key_of_the_app(db):
    from webapp.jobs.core import seal, unseal

    token = seal({"phone": PHONE})
    assert PHONE not in token and unseal(token) == {"phone": PHONE}
    with pytest.raises(jobs.PermanentError):
        unseal(token[:-4] + "AAAA")


def test_progress_is_on_the_job_page_which_refreshes_itself(admin_client, db):
    job = jobs.enqueue("test.progress", {}, title="Half-way job")
    db.session.commit()
    page = check_page(admin_client.get(f"/admin/jobs/{job.id}?lang=en"))
    bar = page.find("progress")
    assert (bar["value"], bar["max"]) == ("3", "7")
    text = page.get_text(" ")
    assert "Step 3 of 7" in text and "third step of seven" in text and "Waiting to retry" in text
    assert page.find("meta", attrs={"http-equiv": "refresh"}) is not None
    listing = check_page(admin_client.get("/admin/jobs?lang=en&state=retrying")).get_text(" ")
    assert "Half-way job" in listing and "3 / 7" in listing
    assert "Half-way job" not in check_page(admin_client.get("/admin/jobs?lang=en&state=done")).get_text(" ")
    assert check_page(admin_client.get("/admin/jobs?lang=en&kind=test.progress&state=bogus&page=x"))
    assert admin_client.get("/admin/jobs/999999").status_code == 404


def test_the_retry_button_queues_a_failed_job_again_and_is_audited(admin_client, db):
    handlers.FAIL.add("test.echo")
    job = jobs.enqueue("test.echo", {"value": "again"})
    db.session.commit()
    db.session.refresh(job)
    assert job.state == "failed"
    page = admin_client.get(f"/admin/jobs/{job.id}?lang=en")
    soup = check_page(page)
    assert soup.find("meta", attrs={"http-equiv": "refresh"}) is None  # finished: no refresh
    assert "Retry this job" in soup.get_text(" ")
    # Without the CSRF token: refused, nothing queued.
    assert admin_client.post(f"/admin/jobs/{job.id}/retry").status_code == 400
    assert audit_rows(db, "job.retry") == []
    handlers.FAIL.clear()
    answer = admin_client.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": csrf_from(page)})
    assert answer.status_code == 302
    db.session.refresh(job)
    assert (job.state, job.attempts, job.result["echo"]) == ("done", 2, "again")
    events = audit_rows(db, "job.retry")
    assert len(events) == 1 and events[0].actor == admin_client.admin.email and events[0].object_id == str(job.id)
    # A job that did not fail cannot be retried.
    again = admin_client.post(f"/admin/jobs/{job.id}/retry", data={"csrf_token": csrf_from(page)})
    assert again.status_code == 302 and len(audit_rows(db, "job.retry")) == 1
    db.session.refresh(job)
    assert job.attempts == 2


def test_job_pages_are_for_administrators_only(client, db, make_user, sign_in):
    job = jobs.enqueue("test.echo", {"value": 1})
    db.session.commit()
    assert client.get(f"/admin/jobs/{job.id}").status_code == 302  # to the sign-in page
    sign_in(make_user("agency_manager", "sl-ttpvhcc"))
    assert client.get("/admin/jobs").status_code == 403
    assert client.get(f"/admin/jobs/{job.id}").status_code == 403


def test_a_double_click_on_publish_queues_one_job(admin_client, db):
    from tests.webapp.test_admin_pages import post
    from webapp.demo.seed import seed_demo
    from webapp.models import PublishedSnapshot
    from webapp.periods import current_quarter

    last = current_quarter().previous()
    seed_demo(responses=1500, seed=3, first_quarter=last)
    # The worker is "busy": the first click's job is queued but not yet run.
    app = admin_client.application
    app.config["JOBS_MODE"] = "embedded"
    try:
        first = post(admin_client, f"/admin/publishing/{last.label}", {"reason": ""})
        second = post(admin_client, f"/admin/publishing/{last.label}", {"reason": ""})
    finally:
        app.config["JOBS_MODE"] = "inline"
    assert first.status_code == second.status_code == 302
    assert first.headers["Location"] == second.headers["Location"]
    assert len(db.session.scalars(select(Job)).all()) == 1
    page = check_page(admin_client.get(first.headers["Location"] + "?lang=en"))
    assert "Queued" in page.get_text(" ") and page.find("meta", attrs={"http-equiv": "refresh"}) is not None
    assert jobs.drain() == 1
    snapshots = db.session.scalars(select(PublishedSnapshot)).all()
    assert [s.revision for s in snapshots] == [1]
    job = db.session.scalar(select(Job))
    db.session.refresh(job)
    assert job.state == "done" and job.result["revision"] == 1 and (job.progress_done, job.progress_total) == (3, 3)
    # The handler is idempotent: running the same job again publishes nothing new.
    db.session.execute(update(Job).values(state="queued"))
    db.session.commit()
    assert jobs.drain() == 1
    assert [s.revision for s in db.session.scalars(select(PublishedSnapshot))] == [1]


def test_embedded_mode_runs_again_a_job_left_running_by_a_dead_process(app, db):
    from webapp.extensions import db as database
    from webapp.jobs.runners import embedded_runner

    # A process died in the middle of this job: the row says running, first attempt.
    job = Job(
        kind="test.echo",
        payload={"value": "survivor"},
        state="running",
        attempts=1,
        progress_done=0,
        created_by="system",
        started_at=utcnow(),
    )
    other = Job(
        kind="test.echo", payload={"value": "waiting"}, state="queued", attempts=0, progress_done=0, created_by="system"
    )
    db.session.add_all([job, other])
    db.session.commit()
    embedded = make_app(app.config["SQLALCHEMY_DATABASE_URI"], JOBS_MODE="embedded", JOBS_POLL_SECONDS=1)
    runner = embedded_runner(embedded)
    runner.start()  # recovers, then runs what is due
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            states = set(db.session.scalars(select(Job.state)))
            db.session.commit()
            if states == {"done"}:
                break
            time.sleep(0.2)
    finally:
        runner.stop()
        with embedded.app_context():
            database.engine.dispose()
    db.session.refresh(job)
    db.session.refresh(other)
    assert (job.state, job.attempts, job.result["echo"]) == ("done", 2, "survivor")
    assert (other.state, other.attempts) == ("done", 1)
    assert sorted(entry[3]["value"] for entry in seen("test.echo")) == ["survivor", "waiting"]


def test_embedded_mode_enqueue_keeps_the_job_in_the_table_until_the_runner_takes_it(app, db):
    embedded = make_app(app.config["SQLALCHEMY_DATABASE_URI"], JOBS_MODE="embedded")
    from webapp.extensions import db as database
    from webapp.jobs.runners import embedded_runner

    with embedded.app_context():
        job_id = jobs.enqueue("test.echo", {"value": "later"}, sealed={"phone": PHONE}).id
        database.session.commit()
        assert database.session.get(Job, job_id).state == "queued" and seen("test.echo") == []
        assert PHONE not in _every_stored_text(database)
        assert embedded_runner(embedded).run_due() == 1
        database.session.expire_all()
        assert database.session.get(Job, job_id).state == "done"
        assert seen("test.echo")[0][4] == {"phone": PHONE}
        database.session.remove()
        database.engine.dispose()


def test_a_job_queued_long_ago_and_never_started_can_be_sent_again(admin_client, db):
    # Its message was lost between the commit and the broker (Redis down at that instant).
    stuck = Job(
        kind="test.echo",
        payload={"value": "lost"},
        state="queued",
        attempts=0,
        progress_done=0,
        created_by="system",
        created_at=utcnow() - timedelta(hours=1),
    )
    fresh = Job(
        kind="test.echo", payload={"value": "fresh"}, state="queued", attempts=0, progress_done=0, created_by="system"
    )
    db.session.add_all([stuck, fresh])
    db.session.commit()
    page = admin_client.get(f"/admin/jobs/{fresh.id}?lang=en")
    assert "Retry this job" not in check_page(page).get_text(" ")
    refused = admin_client.post(f"/admin/jobs/{fresh.id}/retry", data={"csrf_token": csrf_from(page)})
    assert refused.status_code == 302 and audit_rows(db, "job.retry") == []
    page = admin_client.get(f"/admin/jobs/{stuck.id}?lang=en")
    assert "Retry this job" in check_page(page).get_text(" ")
    assert admin_client.post(f"/admin/jobs/{stuck.id}/retry", data={"csrf_token": csrf_from(page)}).status_code == 302
    db.session.refresh(stuck)
    db.session.refresh(fresh)
    assert (stuck.state, stuck.attempts, fresh.state) == ("done", 1, "queued")
    assert len(audit_rows(db, "job.retry")) == 1


def test_a_broker_message_runs_the_job_only_with_its_current_nonce(db):
    from webapp.jobs.core import execute

    job = Job(
        kind="test.echo",
        payload={"value": "n"},
        state="running",
        attempts=1,
        progress_done=0,
        created_by="system",
        message_nonce="current",
    )
    db.session.add(job)
    db.session.commit()
    # The table-driven runners never take a job another runner holds.
    assert execute(job.id) is None
    # An older message of a job sent again by hand is dropped.
    assert execute(job.id, redelivered=True, nonce="older") is None and seen("test.echo") == []
    # The current message, redelivered because its worker died, runs it again.
    assert execute(job.id, redelivered=True, nonce="current").state == "done"
    # A duplicate after the end does nothing.
    assert execute(job.id, redelivered=True, nonce="current") is None
    db.session.refresh(job)
    assert (job.state, job.attempts, len(seen("test.echo"))) == ("done", 2, 1)


@pytest.fixture()
def large_imports_as_jobs(app, monkeypatch):
    from webapp.admin import imports_views

    monkeypatch.setattr(imports_views, "_ten_minutes", lambda: 1)  # the uploads of a test are one double click
    app.config["IMPORT_JOB_MIN_BYTES"] = 10
    yield
    app.config["IMPORT_JOB_MIN_BYTES"] = 256 * 1024


def test_a_large_import_runs_as_a_job_once_and_keeps_no_copy_of_the_file(
    admin_client, db, large_imports_as_jobs, monkeypatch
):
    from tests.webapp.test_admin_imports import GOOD_COUNTS, upload
    from webapp.admin import imports_views
    from webapp.models import TransactionCount

    first = upload(admin_client, "transactions", GOOD_COUNTS)
    again = upload(admin_client, "transactions", GOOD_COUNTS)  # the same upload twice: one job
    assert first.status_code == again.status_code == 302 and "/admin/jobs/" in first.headers["Location"]
    assert first.headers["Location"] == again.headers["Location"]
    [job] = db.session.scalars(select(Job)).all()
    assert (job.kind, job.state, job.sealed) == ("import", "done", None)
    assert job.result == {"kind": "transactions", "rows": 2, "periods": ["2026-Q1"], "replaced": 0}
    assert len(db.session.scalars(select(TransactionCount)).all()) == 2
    text = check_page(admin_client.get(first.headers["Location"] + "?lang=en")).get_text(" ")
    assert "Done" in text and "2026-Q1" in text
    events = audit_rows(db, "transactions.import")
    assert [event.actor for event in events] == [admin_client.admin.email]
    # Later (another ten minutes), the same file may be imported again, e.g. to restore the quarter.
    monkeypatch.setattr(imports_views, "_ten_minutes", lambda: 2)
    later = upload(admin_client, "transactions", GOOD_COUNTS)
    assert later.headers["Location"] != first.headers["Location"]
    assert db.session.scalars(select(Job.state)).all() == ["done", "done"]


def test_a_large_refused_import_fails_its_job_and_is_audited(admin_client, db, large_imports_as_jobs):
    from tests.webapp.test_admin_imports import BAD_COUNTS, upload
    from webapp.models import TransactionCount

    answer = upload(admin_client, "transactions", BAD_COUNTS)
    assert answer.status_code == 302
    job = db.session.scalar(select(Job))
    assert job.state == "failed" and job.sealed is None
    assert (
        job.error == "counts.csv was refused and nothing was written: 3 problem(s); the first at line 3, column period"
    )
    assert "nowhere" not in job.error  # where, never the cells' values
    assert db.session.scalars(select(TransactionCount)).all() == []
    [refused] = audit_rows(db, "import.refused")
    assert refused.actor == admin_client.admin.email and refused.after == {"problems": 3}
    page = check_page(admin_client.get(answer.headers["Location"] + "?lang=en")).get_text(" ")
    assert "Failed" in page and "3 problem(s)" in page


def test_embedded_runners_of_several_processes_take_turns(app, db):
    from webapp.extensions import db as database
    from webapp.jobs.runners import EmbeddedRunner

    url = app.config["SQLALCHEMY_DATABASE_URI"]
    one, two = (make_app(url, JOBS_MODE="embedded", JOBS_POLL_SECONDS=1) for _ in range(2))
    first, second = EmbeddedRunner(one), EmbeddedRunner(two)
    try:
        assert first.start() is True
        assert second.start() is False  # the first holds the lock: the second runs nothing
        first.stop()  # (or its process dies: the system releases the lock)
        second._last_try = float("-inf")  # its next try, ten seconds later
        assert second.start() is True
    finally:
        first.stop()
        second.stop()
        for each in (one, two):
            with each.app_context():
                database.engine.dispose()


def test_jobs_run_only_after_the_real_commit_not_when_a_savepoint_is_released(db):
    first = jobs.enqueue("test.echo", {"value": "a"}, key="sp:a")  # (PostgreSQL: inside a savepoint)
    second = jobs.enqueue("test.echo", {"value": "b"}, key="sp:b")
    with db.session.begin_nested():
        jobs.enqueue("test.echo", {"value": "c"})
    assert seen("test.echo") == []  # nothing ran before the commit
    db.session.commit()
    assert sorted(entry[3]["value"] for entry in seen("test.echo")) == ["a", "b", "c"]
    assert {db.session.get(Job, job.id).state for job in (first, second)} == {"done"}
