"""``/admin/jobs``: the background jobs, their progress, and a retry button for a failed one.

The detail page refreshes itself (``<meta http-equiv="refresh">``) while the job is queued or
running, so it follows progress without JavaScript.
"""

from __future__ import annotations

from datetime import timedelta

from flask import abort, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from webapp.access import editor_required
from webapp.admin.blueprint import admin
from webapp.admin.common import arg_page, arg_text, paginate
from webapp.admin.forms import ConfirmForm
from webapp.audit import record_event
from webapp.extensions import db
from webapp.jobs.core import reset_for_retry
from webapp.models import Job, utcnow
from webapp.models.jobs import JOB_STATES

#: Seconds between two refreshes of an unfinished job's page.
REFRESH_SECONDS = 3
#: A job still queued this long after it was queued was probably never sent (Redis down at that
#: instant): it may be sent again from its page.
STUCK_AFTER = timedelta(minutes=10)

STATE_NAMES = {
    "queued": _l("Queued"),
    "running": _l("Running"),
    "retrying": _l("Waiting to retry"),
    "done": _l("Done"),
    "failed": _l("Failed"),
}

KIND_NAMES = {
    "publish": _l("Publish a period"),
    "import": _l("Import a file"),
    "deliver": _l("Send a survey link"),
    "report": _l("Make a periodic report"),
}

#: Progress messages handlers report as codes, in the reader's language.
PROGRESS_TEXTS = {
    "publish.compute": _l("Computing the estimates"),
    "publish.store": _l("Checking disclosure and storing the estimates"),
    "import.read": _l("Reading, checking and storing the file"),
    "report.build": _l("Building the report"),
}


def _may_retry(job: Job) -> bool:
    """A failed job, or one queued long ago that never started (its message was lost before Redis)."""
    stuck = job.state == "queued" and job.attempts == 0 and job.created_at < utcnow() - STUCK_AFTER
    return job.state == "failed" or stuck


def _job_or_404(job_id: int) -> Job:
    job = db.session.get(Job, job_id)
    if job is None:
        abort(404)
    return job


@admin.get("/jobs")
def jobs():
    state = arg_text("state", 10)
    kind = arg_text("kind", 60)
    query = select(Job).order_by(Job.id.desc())
    if state in JOB_STATES:
        query = query.where(Job.state == state)
    else:
        state = ""
    if kind:
        query = query.where(Job.kind == kind)
    kinds = list(db.session.scalars(select(Job.kind).distinct().order_by(Job.kind)))
    counts = dict(db.session.execute(select(Job.state, func.count()).group_by(Job.state)).all())
    return render_template(
        "admin/jobs.html",
        page=paginate(query, arg_page()),
        filters={"state": state, "kind": kind},
        kinds=kinds,
        counts=counts,
        states=JOB_STATES,
        state_names=STATE_NAMES,
        kind_names=KIND_NAMES,
    )


@admin.get("/jobs/<int:job_id>")
def job_detail(job_id: int):
    job = _job_or_404(job_id)
    return render_template(
        "admin/job.html",
        job=job,
        refresh=REFRESH_SECONDS if job.state in ("queued", "running", "retrying") else None,
        state_names=STATE_NAMES,
        kind_names=KIND_NAMES,
        progress_text=PROGRESS_TEXTS.get(job.progress_message or "", job.progress_message),
        confirm=ConfirmForm(),
        may_retry=_may_retry(job),
    )


@admin.post("/jobs/<int:job_id>/retry")
@editor_required
def job_retry(job_id: int):

    job = _job_or_404(job_id)
    if not ConfirmForm().validate_on_submit():
        abort(400)
    if not _may_retry(job):
        flash(_l("Only a failed job can be retried."))
        return redirect(url_for("admin.job_detail", job_id=job.id))
    before = {"state": job.state, "attempts": job.attempts, "error": job.error}
    reset_for_retry(job)
    record_event(
        "job.retry",
        object_type="job",
        object_id=job.id,
        before=before,
        after={"state": "queued", "kind": job.kind},
    )
    db.session.commit()
    flash(_l("The job is queued again."))
    return redirect(url_for("admin.job_detail", job_id=job_id))
