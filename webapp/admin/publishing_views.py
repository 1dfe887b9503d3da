"""Publishing: the ended periods with their current snapshot, (re)publication, revision diffs.

Publishing runs as a background job (``publish``, :mod:`webapp.jobs.builtin`): the form is checked
at once (period ended, a reason for a revision, responses to publish), then the request queues the
job and redirects to its page, which shows the progress. The job's key is the period with a hash
of the request (the revision it follows and the reason), so a double click queues one job.
"""

from __future__ import annotations

import hashlib
import json

from flask import abort, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from public import readers
from webapp import jobs
from webapp.access import editor_required
from webapp.admin.blueprint import admin
from webapp.admin.common import arg_page, page_of
from webapp.admin.diff import diff_snapshots
from webapp.admin.forms import PublishForm
from webapp.extensions import db
from webapp.models import Indicator, PublishedEstimate, PublishedSnapshot, Response, utcnow
from webapp.periods import VIETNAM, Period
from webapp.publishing.publish import ended_periods, has_valid_responses

#: Most changed estimates listed on the diff page (the counts always cover all of them).
DIFF_ROWS = 1000


def _period_or_404(label: str) -> Period:
    try:
        period = Period.parse(label)
    except ValueError:
        abort(404)
    if period.label != label:
        abort(404)
    return period


def _ended(period: Period) -> bool:
    return period.end < utcnow().astimezone(VIETNAM).date()


def listed_periods() -> list[Period]:
    """Every ended quarter, half-year and year from the first year with responses, newest first."""
    first = db.session.scalar(select(func.min(Response.period)))
    published = db.session.scalar(select(func.min(PublishedSnapshot.period)))
    years = [int(label[:4]) for label in (first, published) if label]
    if not years:
        return []
    return list(reversed(ended_periods(Period(min(years), "Y", 1))))


def latest_snapshots() -> dict[str, PublishedSnapshot]:
    """Period label → its latest revision."""
    return {snapshot.period: snapshot for snapshot in readers.latest_snapshots()}


@admin.get("/publishing")
def publishing():
    return render_template(
        "admin/publishing.html", page=page_of(listed_periods(), arg_page(), size=28), latest=latest_snapshots()
    )


def _revisions(period: Period) -> list[tuple[PublishedSnapshot, int]]:
    counts = (
        select(PublishedEstimate.snapshot_id, func.count().label("n"))
        .group_by(PublishedEstimate.snapshot_id)
        .subquery()
    )
    rows = db.session.execute(
        select(PublishedSnapshot, func.coalesce(counts.c.n, 0))
        .outerjoin(counts, counts.c.snapshot_id == PublishedSnapshot.id)
        .where(PublishedSnapshot.period == period.label)
        .order_by(PublishedSnapshot.revision.desc())
    ).all()
    return [(snapshot, count) for snapshot, count in rows]


def _render_period(period: Period, form: PublishForm, problems: tuple = (), status: int = 200):
    return render_template(
        "admin/period.html",
        period=period,
        revisions=_revisions(period),
        form=form,
        ended=_ended(period),
        problems=problems,
    ), status


@admin.get("/publishing/<label>")
def period_detail(label: str):
    return _render_period(_period_or_404(label), PublishForm(formdata=None))


@admin.post("/publishing/<label>")
@editor_required
def period_publish(label: str):
    period = _period_or_404(label)
    form = PublishForm()
    if not form.validate_on_submit():
        return _render_period(period, form, status=400)
    if not _ended(period):
        return _render_period(
            period,
            form,
            (str(_l("%(period)s has not ended yet: its figures are still provisional.", period=period.label)),),
            409,
        )
    reason = (form.reason.data or "").strip()
    existing = readers.find_snapshot(period.label)
    if existing is not None and not reason:
        form.reason.errors = [
            str(_l("Say why the period is published again: the reason is shown to the public with the new revision"))
        ]
        return _render_period(period, form, status=400)
    if not has_valid_responses(period):
        return _render_period(
            period, form, (str(_l("%(period)s has no responses to publish.", period=period.label)),), 409
        )
    revision_before = existing.revision if existing is not None else 0
    request_hash = hashlib.sha256(json.dumps([period.label, revision_before, reason]).encode()).hexdigest()[:24]
    job = jobs.enqueue(
        "publish",
        {"period": period.label, "reason": reason or None, "revision_before": revision_before},
        key=f"publish:{period.label}:{request_hash}",
        title=str(_l("Publish %(period)s", period=period.label)),
    )
    db.session.commit()
    return redirect(url_for("admin.job_detail", job_id=job.id))


@admin.get("/publishing/<label>/diff")
def period_diff(label: str):
    period = _period_or_404(label)
    revisions = {snapshot.revision: snapshot for snapshot, _ in _revisions(period)}
    old_text, new_text = request.args.get("old", ""), request.args.get("new", "")
    if (
        not all(text.isascii() and text.isdigit() and len(text) < 10 for text in (old_text, new_text))
        or int(old_text) not in revisions
        or int(new_text) not in revisions
    ):
        abort(404)
    old, new = revisions[int(old_text)], revisions[int(new_text)]
    diff = diff_snapshots(old.id, new.id)
    indicators = {indicator.code: indicator for indicator in db.session.scalars(select(Indicator))}
    return render_template(
        "admin/diff.html",
        period=period,
        old=old,
        new=new,
        diff=diff,
        rows=diff.changes[:DIFF_ROWS],
        limit=DIFF_ROWS,
        indicators=indicators,
    )
