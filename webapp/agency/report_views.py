"""Periodic reports of a unit (DOCX or XLSX), from published snapshots only, built by a background job.

The form (period, format, language) is checked at once — a problem answers the form with 400 and
queues nothing. A valid choice queues a ``report`` job (:mod:`webapp.reports.jobs`) and redirects to
the job's page, which refreshes itself (``<meta http-equiv="refresh">``, no JavaScript needed) until
the file is ready, then links to it. The job's key is the unit, period, format, language and the
period's current snapshot revision: asking twice gives the same job, a new revision a new report.

The form stays a GET, as before: viewers may download reports, and they may not POST anything in
the agency area. Asking is safe to repeat (the key makes it one job per report and revision).

Scope: the job's page and its file answer 404 unless the URL's unit is in the user's scope
(``unit_or_404``) and is the job's unit. The province's report is the report of the unit ``sl``,
which only users whose scope is the whole province (administrators, or accounts of ``sl``) reach.
"""

from __future__ import annotations

from flask import Response, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from public import readers
from webapp.access import unit_or_404
from webapp.agency.blueprint import agency
from webapp.extensions import db
from webapp.i18n import current_language
from webapp.models import Job, Unit
from webapp.periods import Period
from webapp.publishing.publish import current_snapshot
from webapp.reports import FORMATS
from webapp.reports import jobs as report_jobs  # registers the ``report`` job handler

PERIOD_KINDS = ("Q", "H", "Y")
#: Seconds between two refreshes of an unfinished report job's page.
REFRESH_SECONDS = 3

STATE_NAMES = {
    "queued": _l("Waiting to start"),
    "running": _l("Being prepared"),
    "retrying": _l("Waiting to try again"),
    "done": _l("Ready"),
    "failed": _l("Could not be made"),
}


def published_periods() -> dict[str, list[str]]:
    """Published period labels by kind (quarter, half-year, year), newest first."""
    return {kind: [s.period for s in reversed(readers.latest_snapshots(kind))] for kind in PERIOD_KINDS}


def _render(unit: Unit, *, chosen: dict, problems: list[str], status: int = 200):
    return (
        render_template(
            "agency/reports.html",
            unit=unit,
            periods=published_periods(),
            chosen=chosen,
            problems=problems,
        ),
        status,
    )


@agency.get("/units/<code>/reports")
def reports(code: str):
    """Choose a published period and a format; asking for the report answers the same form."""
    unit = unit_or_404(code)
    chosen = {"period": "", "format": "docx", "language": current_language()}
    return _render(unit, chosen=chosen, problems=[])


@agency.get("/units/<code>/reports/download")
def download_report(code: str):
    """Queue the report's job and redirect to its page, or the form again with the reason (400)."""

    unit = unit_or_404(code)
    period = (request.args.get("period") or "").strip()[:10]
    fmt = request.args.get("format", "docx")
    language = request.args.get("language", current_language())
    chosen = {"period": period, "format": fmt, "language": language}
    problems = []
    snapshot = None
    if not period:
        problems.append(_("Choose a period."))
    else:
        try:
            parsed = Period.parse(period)
        except ValueError:
            parsed = None
        snapshot = current_snapshot(period) if parsed is not None and parsed.label == period else None
        if snapshot is None:
            problems.append(_("Choose one of the published periods."))
    if fmt not in FORMATS:
        problems.append(_("Choose the format: Word (DOCX) or Excel (XLSX)."))
    if language not in ("vi", "en"):
        problems.append(_("Choose the language of the report."))
    if problems:
        return _render(unit, chosen=chosen, problems=problems, status=400)
    job = report_jobs.request_report(unit, period, fmt, language, snapshot.revision)
    return redirect(url_for("agency.report_job", code=unit.code, job_id=job.id))


def _job_in_scope_or_404(code: str, job_id: int) -> tuple[Unit, Job]:
    """The unit (in the user's scope) and its report job ``job_id``; 404 for any other job."""
    unit = unit_or_404(code)
    job = db.session.get(Job, job_id)
    if job is None or job.kind != report_jobs.KIND or job.unit_id is None or job.unit_id != unit.id:
        abort(404)
    return unit, job


@agency.get("/units/<code>/reports/jobs/<int:job_id>")
def report_job(code: str, job_id: int):
    """The report's progress while it is made, then its download link, or why it could not be made."""
    unit, job = _job_in_scope_or_404(code, job_id)
    stored = report_jobs.report_file(job) if job.state == "done" else None
    return render_template(
        "agency/report_job.html",
        unit=unit,
        job=job,
        stored=stored,
        refresh=REFRESH_SECONDS if job.state in ("queued", "running", "retrying") else None,
        state_names=STATE_NAMES,
    )


@agency.get("/units/<code>/reports/jobs/<int:job_id>/file")
def report_job_file(code: str, job_id: int):
    """The finished report as an attachment (404 while it is not ready, or once it was deleted)."""
    _, job = _job_in_scope_or_404(code, job_id)
    stored = report_jobs.report_file(job) if job.state == "done" else None
    if stored is None:
        abort(404)
    response = Response(stored.content, mimetype=stored.mimetype)
    response.headers["Content-Disposition"] = f'attachment; filename="{stored.filename}"'
    return response
