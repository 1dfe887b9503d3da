"""De-identified microdata of a published period and indicator, as files on the open data page.

The files are made by :func:`webapp.publishing.microdata.export_microdata`, public tier
(publication-safe by design: no free text, no demographics, only domains whose rate is
published are labelled, one domain per row so no combination of quasi-identifiers is
published; the R script's header says what was coarsened) the first time
someone asks, and kept in a cache directory keyed by the database, the snapshot and its
revision: a new revision gets new files, and any server can rebuild them.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from flask import current_app
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Indicator, PublishedSnapshot
from webapp.publishing.microdata import MICRODATA_KINDS, export_microdata

#: Part of the cache key: files of an older layout are never served again.
FORMAT_VERSION = "public-v2"


@dataclass(frozen=True)
class MicrodataFiles:
    csv_path: Path
    script_path: Path
    etag: str


def satisfaction_indicators() -> list[Indicator]:
    """The indicators microdata exist for (coverage is a count of units, not a survey)."""
    return list(db.session.scalars(select(Indicator).where(Indicator.kind.in_(MICRODATA_KINDS)).order_by(Indicator.id)))


def file_stem(snapshot: PublishedSnapshot, indicator_code: str) -> str:
    return f"son-la-microdata-{snapshot.period}-{indicator_code}"


def cache_dir() -> Path:
    """``MICRODATA_CACHE_DIR``, or ``microdata-cache`` in the instance folder."""
    configured = current_app.config.get("MICRODATA_CACHE_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "microdata-cache"


def _key(snapshot: PublishedSnapshot, indicator_code: str) -> str:
    # The database URL is part of the key: two databases can hold different snapshots with the same id.
    identity = "|".join(
        (
            FORMAT_VERSION,
            str(db.engine.url),
            str(snapshot.id),
            snapshot.period,
            str(snapshot.revision),
            snapshot.published_at.isoformat(),
            indicator_code,
        )
    )
    return hashlib.sha256(identity.encode("utf-8")).hexdigest()[:32]


def microdata_files(snapshot: PublishedSnapshot, indicator_code: str) -> MicrodataFiles:
    """The CSV and R script of ``indicator_code`` in ``snapshot``, exported now if not cached yet."""

    key = _key(snapshot, indicator_code)
    stem = file_stem(snapshot, indicator_code)
    target = cache_dir() / key
    files = MicrodataFiles(target / f"{stem}.csv", target / f"{stem}.R", f"microdata-{key[:20]}")
    if files.csv_path.exists() and files.script_path.exists():
        return files
    cache_dir().mkdir(parents=True, exist_ok=True)
    # Written aside, then renamed in one step: a concurrent request sees all of it or nothing.
    work = Path(tempfile.mkdtemp(prefix=".export-", dir=cache_dir()))
    try:
        export_microdata(snapshot.period, indicator_code, work / f"{stem}.csv", tier="public")
        try:
            os.rename(work, target)
        except OSError:
            if not (files.csv_path.exists() and files.script_path.exists()):
                raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return files
