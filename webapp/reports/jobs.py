"""The ``report`` job: build an agency report (DOCX/XLSX) in the background and keep the file.

Payload (no personal data): ``unit`` (code), ``period``, ``format``, ``language`` and the
``revision`` of the period's published snapshot when it was asked for. The bytes are stored in a
:class:`~webapp.models.JobFile` row for the job's download link; report files older than
:data:`KEEP_FILES` are deleted whenever a new one is stored.

Idempotent: a job whose file is already stored returns it without building it again.
"""

from __future__ import annotations

from datetime import timedelta

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from sqlalchemy import delete, select

from webapp import reports  # build_report looked up when called (tests replace it)
from webapp.extensions import db
from webapp.jobs.core import JobContext, PermanentError, enqueue, handler, reset_for_retry
from webapp.models import Job, JobFile, Unit, utcnow

#: How long a generated report is kept for download.
KEEP_FILES = timedelta(days=7)
#: The kind of the jobs this module handles.
KIND = "report"


def _result(stored) -> dict:
    return {"file_id": stored.id, "filename": stored.filename, "size": stored.size}


def report_file(job: Job) -> JobFile | None:
    """The stored file of a ``report`` job, once it is built (and until it is purged)."""
    return db.session.scalar(select(JobFile).where(JobFile.job_id == job.id))


def request_report(unit: Unit, period: str, fmt: str, language: str, revision: int) -> Job:
    """Queue the report of ``unit`` for a published ``period`` at snapshot ``revision``; committed.

    One job per unit, period, format, language and revision: asking again returns the same job,
    and tries again when it failed or when its file was deleted (files are kept :data:`KEEP_FILES`).
    """
    job = enqueue(
        KIND,
        {"unit": unit.code, "period": period, "format": fmt, "language": language, "revision": revision},
        key=f"report:{unit.code}:{period}:{fmt}:{language}:r{revision}",
        unit_id=unit.id,
        title=str(_l("Report %(unit)s %(period)s (%(format)s)", unit=unit.code, period=period, format=fmt)),
    )
    if job.state == "failed" or (job.state == "done" and report_file(job) is None):
        reset_for_retry(job)
    db.session.commit()
    return job


def purge_old_report_files(now) -> int:
    """Delete the files of ``report`` jobs stored before ``now - KEEP_FILES``; how many were deleted."""

    old_jobs = select(Job.id).where(Job.kind == KIND)
    deleted = db.session.execute(
        delete(JobFile).where(JobFile.created_at < now - KEEP_FILES, JobFile.job_id.in_(old_jobs)),
        execution_options={"synchronize_session": False},
    )
    return deleted.rowcount or 0


@handler(KIND, max_retries=2, min_backoff_ms=5000)
def build_report_file(ctx: JobContext, payload: dict, sealed: dict | None) -> dict:
    """Build the report of ``payload`` with :func:`webapp.reports.build_report` and store the bytes."""

    existing = db.session.scalar(select(JobFile).where(JobFile.job_id == ctx.job_id))
    if existing is not None:  # an earlier run of this job stored it
        return _result(existing)
    language = payload.get("language") or "vi"
    ctx.progress(0, 1, "report.build")
    try:
        report = reports.build_report(payload["unit"], payload["period"], payload["format"], locale=language)
    except reports.ReportError as error:
        with force_locale(language if language in ("vi", "en") else "vi"):
            reason = str(error)
        raise PermanentError(reason) from None
    now = utcnow()
    purge_old_report_files(now)
    stored = JobFile(
        job_id=ctx.job_id,
        filename=report.filename[:200],
        mimetype=report.mimetype,
        size=len(report.content),
        content=report.content,
        created_at=now,
    )
    db.session.add(stored)
    db.session.commit()
    return _result(stored)
