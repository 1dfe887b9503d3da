"""Uploads of transaction counts, population margins and keyed-in paper forms.

Each file goes through the same importer as the command line: a file with any bad row is
refused whole, and the page lists every problem (line, column, what is wrong) in the user's
language; nothing is written then. An accepted file's counts are shown after the redirect.

A file larger than ``IMPORT_JOB_MIN_BYTES`` (default 256 KiB) is imported by a background job
(``import``, :mod:`webapp.jobs.builtin`): the page answers at once with the job's page. The file
travels sealed (encrypted, gone when the job ends); the job's key is the file's hash and the
ten minutes it was sent in, so a double click imports it once (and the same file can be imported
again later, e.g. to restore a quarter's counts).
"""

from __future__ import annotations

import base64
import hashlib
import tempfile
import time
from pathlib import Path

from flask import abort, current_app, flash, redirect, render_template, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from werkzeug.datastructures import FileStorage
from werkzeug.utils import secure_filename

from surveys.paper import import_paper_responses
from webapp import jobs
from webapp.access import editor_required
from webapp.admin.blueprint import admin
from webapp.admin.forms import IMPORT_MAX_BYTES, ImportForm, MarginsImportForm
from webapp.admin.problems import report
from webapp.audit import record_event
from webapp.extensions import db
from webapp.imports.margins import load_margins
from webapp.imports.tables import ImportRejected, RowProblem
from webapp.imports.transactions import import_transactions

KINDS = ("transactions", "margins", "responses")
ALLOWED_SUFFIXES = (".csv", ".txt", ".xlsx")


def _forms(**given) -> dict:
    forms = {
        "transactions": ImportForm(formdata=None, prefix="transactions"),
        "margins": MarginsImportForm(formdata=None, prefix="margins"),
        "responses": ImportForm(formdata=None, prefix="responses"),
    }
    forms.update(given)
    return forms


@admin.get("/imports")
def imports():
    return render_template("admin/imports.html", forms=_forms(), rejected=None)


def _save(upload: FileStorage, folder: str) -> Path:
    """Write the upload into ``folder`` under a safe name that keeps its suffix (the reader needs it)."""
    original = upload.filename or "upload.csv"
    suffix = Path(original).suffix.lower()
    name = secure_filename(original) or f"upload{suffix}"
    if not name.lower().endswith(suffix):
        name += suffix
    path = Path(folder) / name
    data = upload.stream.read(IMPORT_MAX_BYTES + 1)
    if len(data) > IMPORT_MAX_BYTES:
        raise ImportRejected(original, [RowProblem(None, None, "too_large")])
    path.write_bytes(data)
    return path


def _run(kind: str, path: Path, form) -> str:
    """Import ``path``; the message to show after an accepted file."""
    actor = current_user.email
    if kind == "transactions":
        result = import_transactions(path, actor=actor)
        return str(
            _l(
                "Imported %(rows)s transaction counts for %(periods)s (%(replaced)s earlier rows replaced).",
                rows=result.rows,
                periods=", ".join(result.periods),
                replaced=result.replaced,
            )
        )
    if kind == "margins":
        try:
            written = load_margins(
                path, form.dataset.data, source=(form.source.data or "").strip() or None, actor=actor
            )
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
        if not written:
            return str(
                _l(
                    "The dataset %(dataset)s already holds exactly these margins: nothing changed.",
                    dataset=form.dataset.data,
                )
            )
        return str(_l("Loaded %(rows)s margins into the dataset %(dataset)s.", rows=written, dataset=form.dataset.data))

    result = import_paper_responses(path, actor=actor)
    return str(
        _l(
            "Imported %(new)s paper forms (%(already)s already imported earlier, skipped).",
            new=result.new,
            already=result.already,
        )
    )


def _ten_minutes() -> int:
    """The number of the ten-minute window we are in (part of an import job's key)."""
    return int(time.time() // 600)


def _queue_import(kind: str, upload: FileStorage, form):
    """Queue a large upload as an ``import`` job; the redirect to its page, or ``None`` for a small file."""

    data = upload.stream.read(IMPORT_MAX_BYTES + 1)
    upload.stream.seek(0)
    if len(data) < int(current_app.config.get("IMPORT_JOB_MIN_BYTES", 256 * 1024)) or len(data) > IMPORT_MAX_BYTES:
        return None
    original = upload.filename or "upload.csv"
    suffix = Path(original).suffix.lower()
    name = secure_filename(original) or f"upload{suffix}"
    if not name.lower().endswith(suffix):
        name += suffix
    options = (
        {"dataset": form.dataset.data, "source": (form.source.data or "").strip() or None} if kind == "margins" else {}
    )
    digest = hashlib.sha256(data + repr(sorted(options.items())).encode()).hexdigest()[:40]
    window = _ten_minutes()
    job = jobs.enqueue(
        "import",
        {"kind": kind, "filename": name, **options},
        key=f"import:{kind}:{digest}:{window}",
        sealed={"file": base64.b64encode(data).decode("ascii")},
        title=str(_l("Import %(file)s", file=name)),
    )
    db.session.commit()
    return redirect(url_for("admin.job_detail", job_id=job.id))


@admin.post("/imports/<kind>")
@editor_required
def import_file(kind: str):
    if kind not in KINDS:
        abort(404)
    form = MarginsImportForm(prefix=kind) if kind == "margins" else ImportForm(prefix=kind)
    if not form.validate_on_submit():
        return render_template("admin/imports.html", forms=_forms(**{kind: form}), rejected=None, active=kind), 400
    upload: FileStorage = form.file.data
    filename = upload.filename or ""
    try:
        if Path(filename).suffix.lower() not in ALLOWED_SUFFIXES:
            raise ImportRejected(filename, [RowProblem(None, None, "use a .csv (UTF-8) or .xlsx file")])
        queued = _queue_import(kind, upload, form)
        if queued is not None:
            return queued
        with tempfile.TemporaryDirectory(prefix="sonla-import-") as folder:
            message = _run(kind, _save(upload, folder), form)
    except ImportRejected as rejected:
        db.session.rollback()
        counted = {"problems": len(rejected.problems)} | ({"more_rows": rejected.more} if rejected.more else {})
        record_event("import.refused", object_type=kind, detail=f"file {filename}", after=counted)
        db.session.commit()
        # At most the problems of the first MAX_REPORTED_ROWS bad rows: the rest are only counted.
        rows = report(rejected.problems)
        return render_template(
            "admin/imports.html",
            forms=_forms(),
            active=kind,
            rejected={"kind": kind, "file": filename, "rows": rows, "more": rejected.more},
        ), 422
    flash(message)
    return redirect(url_for("admin.imports"))
