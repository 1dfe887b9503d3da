"""The handlers of the site's own long work: publishing a period from the admin page."""

from __future__ import annotations

import base64
import tempfile
from pathlib import Path

from sqlalchemy import func, select

from surveys.paper import import_paper_responses
from webapp.audit import record_event
from webapp.extensions import db
from webapp.imports.margins import load_margins
from webapp.imports.tables import ImportRejected
from webapp.imports.transactions import import_transactions
from webapp.jobs.core import JobContext, PermanentError, handler
from webapp.models import PublishedEstimate
from webapp.publishing.publish import PublishError, current_snapshot, publish_period


@handler("publish", max_retries=2, min_backoff_ms=5000)
def publish(ctx: JobContext, payload: dict, sealed: dict | None) -> dict:
    """Publish ``payload["period"]`` with ``payload["reason"]`` — the same service as ``flask publish``.

    Idempotent: ``payload["revision_before"]`` is the revision current when the job was queued;
    if a newer one exists, an earlier run of this job published it, and that is the result.
    """

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


@handler("import", max_retries=2, min_backoff_ms=5000)
def import_file(ctx: JobContext, payload: dict, sealed: dict | None) -> dict:
    """Import a large file uploaded at Admin → Imports, with the same importers as ``flask import``.

    The file travels sealed (it may hold paper forms' answers) and is gone once the job ends.
    Idempotent like the importers: a quarter's counts are replaced, a paper form already imported is
    skipped, identical margins change nothing. A refused file is audited like a refused upload; the
    error says how many problems and where the first is, without the cells' values.
    """

    if not sealed or "file" not in sealed:
        raise PermanentError("the uploaded file is no longer kept: upload it again")
    kind, name = payload["kind"], Path(payload["filename"]).name
    ctx.progress(0, 1, "import.read")
    with tempfile.TemporaryDirectory(prefix="sonla-import-job-") as folder:
        path = Path(folder) / name
        path.write_bytes(base64.b64decode(sealed["file"]))
        try:
            return _import(kind, path, payload, ctx.created_by)
        except ImportRejected as rejected:
            db.session.rollback()
            counted = {"problems": len(rejected.problems)} | ({"more_rows": rejected.more} if rejected.more else {})
            record_event("import.refused", actor=ctx.created_by, object_type=kind, detail=f"file {name}", after=counted)
            db.session.commit()
            first = rejected.problems[0] if rejected.problems else None
            where = ""
            if first is not None:
                where = f"; the first at line {first.line}" if first.line else "; the file as a whole"
                where += f", column {first.column}" if first.column else ""
            total = len(rejected.problems) + rejected.more
            raise PermanentError(f"{name} was refused and nothing was written: {total} problem(s){where}") from None


def _import(kind: str, path, payload: dict, actor: str) -> dict:
    if kind == "transactions":
        counts = import_transactions(path, actor=actor)
        return {"kind": kind, "rows": counts.rows, "periods": list(counts.periods), "replaced": counts.replaced}
    if kind == "margins":
        written = load_margins(path, payload["dataset"], source=payload.get("source"), actor=actor)
        db.session.commit()
        return {"kind": kind, "rows": written, "dataset": payload["dataset"]}
    if kind == "responses":
        forms = import_paper_responses(path, actor=actor)
        return {"kind": kind, "new": forms.new, "already": forms.already}
    raise PermanentError(f"unknown import kind {kind!r}")
