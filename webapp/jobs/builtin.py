"""The handlers of the site's own long work: publishing a period from the admin page."""

from __future__ import annotations

from sqlalchemy import func, select

from webapp.extensions import db
from webapp.jobs.core import JobContext, PermanentError, handler


@handler("publish", max_retries=2, min_backoff_ms=5000)
def publish(ctx: JobContext, payload: dict, sealed: dict | None) -> dict:
    """Publish ``payload["period"]`` with ``payload["reason"]`` — the same service as ``flask publish``.

    Idempotent: ``payload["revision_before"]`` is the revision current when the job was queued;
    if a newer one exists, an earlier run of this job published it, and that is the result.
    """
    from webapp.models import PublishedEstimate
    from webapp.publishing.publish import PublishError, current_snapshot, publish_period

    label = payload["period"]
    current = current_snapshot(label)
    if current is not None and current.revision > int(payload.get("revision_before") or 0):
        count = db.session.scalar(
            select(func.count()).select_from(PublishedEstimate).where(PublishedEstimate.snapshot_id == current.id)
        )
        return {"period": label, "revision": current.revision, "estimates": count or 0, "snapshot_id": current.id}
    try:
        published = publish_period(label, reason=payload.get("reason"), actor=ctx.created_by, progress=ctx.progress)
    except PublishError as error:
        raise PermanentError(str(error)) from None
    return {
        "period": published.period,
        "revision": published.revision,
        "estimates": published.estimates,
        "snapshot_id": published.snapshot_id,
    }
