"""``import portal-ratings``: the national portal's per-dossier ratings, in their own table, never in clear."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from sqlalchemy import func, select, text

from webapp.models import AuditEvent
from webapp.models.portal import PortalImport, PortalRating

DATA = Path(__file__).parent / "data" / "portal"
SAMPLE = Path(__file__).resolve().parents[2] / "webapp" / "demo" / "portal_sample.csv"


def stored(db) -> int:
    return db.session.scalar(select(func.count()).select_from(PortalRating))


def run(runner, path):
    return runner.invoke(args=["import", "portal-ratings", str(path)])


def test_good_file_is_imported_with_quarters_levels_and_a_batch(runner, db, registry):
    result = run(runner, DATA / "good.csv")
    assert result.exit_code == 0, result.output
    assert "Imported 4 national portal ratings for 2026-Q3, 2026-Q4" in result.output
    rows = db.session.scalars(select(PortalRating).order_by(PortalRating.id)).all()
    assert [r.level for r in rows] == [3, 2, 1, 3]
    assert [r.period for r in rows] == ["2026-Q3", "2026-Q3", "2026-Q3", "2026-Q4"]
    # The administrative code 03688 names the old commune until 2025-06-30 and the new one after.
    assert [r.unit.code for r in rows] == ["sl-ttpvhcc", "sl-ttpvhcc", "n03688", "n03688"]
    assert rows[3].service is None and rows[2].service.code == "civil-status"
    batch = db.session.scalar(select(PortalImport))
    assert {r.batch_id for r in rows} == {batch.id}
    assert batch.rows_added == 4 and batch.file_name == "good.csv"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "portal_ratings.import"))
    assert event.after["rows_added"] == 4


def test_reimporting_the_same_file_changes_nothing(runner, db, registry, tmp_path):
    assert run(runner, DATA / "good.csv").exit_code == 0
    copy = tmp_path / "again.csv"
    shutil.copy(DATA / "good.csv", copy)
    result = run(runner, copy)
    assert result.exit_code == 0, result.output
    assert "Nothing new: all 4 ratings of the file were imported before." in result.output
    assert stored(db) == 4
    assert db.session.scalar(select(func.count()).select_from(PortalImport)) == 1


def test_a_file_with_old_and_new_dossiers_adds_only_the_new(runner, db, registry, tmp_path):
    assert run(runner, DATA / "good.csv").exit_code == 0
    more = tmp_path / "more.csv"
    more.write_text(
        (DATA / "good.csv").read_text(encoding="utf-8") + "SL-TEST-0005,sl-ttpvhcc,land,2026-09-12,2\n",
        encoding="utf-8",
    )
    result = run(runner, more)
    assert result.exit_code == 0, result.output
    assert "Imported 1 national portal ratings" in result.output and "4 rows were imported before" in result.output
    assert stored(db) == 5


def test_the_same_dossier_with_another_rating_is_refused(runner, db, registry, tmp_path):
    assert run(runner, DATA / "good.csv").exit_code == 0
    changed = tmp_path / "changed.csv"
    changed.write_text(
        "dossier_number,unit,service,rated_on,rating\nSL-TEST-0001,sl-ttpvhcc,land,2026-09-10,1\n", encoding="utf-8"
    )
    result = run(runner, changed)
    assert result.exit_code == 1
    assert "line 2, column dossier_number: this dossier was imported before" in result.output
    assert (
        db.session.scalar(select(PortalRating.level).where(PortalRating.period == "2026-Q3").order_by(PortalRating.id))
        == 3
    )


def test_bad_rows_are_reported_by_line_and_nothing_is_stored(runner, db, registry):
    result = run(runner, DATA / "bad.csv")
    assert result.exit_code == 1
    output = result.output
    assert "bad.csv, line 3, column unit: unknown unit code 'no-such-unit'" in output
    assert "line 4, column rated_on" in output
    assert "line 5, column rating" in output
    assert "line 6, column dossier_number: the same dossier is on line 2" in output
    assert "line 2," not in output.replace("on line 2", "")
    # The dossier numbers are never echoed, even in a refusal.
    assert "SL-TEST-01" not in output
    assert stored(db) == 0
    assert db.session.scalar(select(func.count()).select_from(PortalImport)) == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (",sl-ttpvhcc,land,2026-09-10,3", "column dossier_number: empty"),
        ("X1,sl-ttpvhcc,land,2099-01-01,3", "is in the future"),
        ("X1,sl-ttpvhcc,land,2015-01-01,3", "before the national portal opened"),
        ("X1,sl-ttpvhcc,teleport,2026-09-10,3", "unknown service code"),
        ("X1,sl-ttpvhcc,outpatient,2026-09-10,3", "does not offer service"),
        ("X1,n03688,,2024-09-10,3", "did not exist on 2024-09-10"),
        ("X1,sl-ttpvhcc,land,2026-09-10,4", "is not a rating"),
    ],
)
def test_each_bad_row_is_reported(runner, db, registry, tmp_path, row, message):
    path = tmp_path / "one.csv"
    path.write_text("dossier_number,unit,service,rated_on,rating\n" + row + "\n", encoding="utf-8")
    result = run(runner, path)
    assert result.exit_code == 1
    assert "line 2" in result.output and message in result.output
    assert stored(db) == 0


def test_dossier_numbers_are_stored_only_as_keyed_hashes(runner, db, registry, app):
    assert run(runner, DATA / "good.csv").exit_code == 0
    from webapp.portal.ratings import dossier_digest

    digests = set(db.session.scalars(select(PortalRating.dossier_digest)))
    assert dossier_digest("SL-TEST-0001") in digests
    assert dossier_digest(" sl-test-0001 ") == dossier_digest("SL-TEST-0001")
    # Keyed: a plain SHA-256 of the number is not what is stored.
    import hashlib

    assert hashlib.sha256(b"SL-TEST-0001").hexdigest() not in digests
    dump = " ".join(str(v) for row in db.session.execute(text("SELECT * FROM portal_ratings")) for v in row)
    dump += " ".join(str(v) for row in db.session.execute(text("SELECT * FROM audit_events")) for v in row)
    assert "SL-TEST" not in dump and "sl-test" not in dump.lower()


def test_xlsx_file_and_the_documented_sample(runner, db, registry, tmp_path):
    from datetime import datetime

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Dossier_Number", "Unit", "Service", "Rated_On", "Rating"])
    sheet.append(["XL-1", "sl-ttpvhcc", "land", datetime(2026, 9, 10), 3])
    sheet.append(["XL-2", "sl-ttpvhcc", None, "11/09/2026", "Hài lòng"])
    path = tmp_path / "portal.xlsx"
    book.save(path)
    result = run(runner, path)
    assert result.exit_code == 0, result.output
    assert stored(db) == 2
    result = run(runner, SAMPLE)
    assert result.exit_code == 0, result.output
    assert stored(db) == 2 + 48


def test_portal_ratings_never_enter_our_responses_or_estimates(runner, db, registry):
    from webapp.models import Response

    assert run(runner, SAMPLE).exit_code == 0
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def test_two_imports_at_once_store_each_dossier_once(app, db, registry, tmp_path):
    """Two runs racing on overlapping files: every dossier stored once; a loser is refused whole, never half-written."""
    import threading

    from webapp.imports.tables import ImportRejected
    from webapp.portal.ratings import import_portal_ratings

    header = "dossier_number,unit,service,rated_on,rating\n"
    shared = "".join(f"RACE-{i},sl-ttpvhcc,land,2026-09-10,3\n" for i in range(200))
    files = []
    for name in ("a", "b"):
        path = tmp_path / f"{name}.csv"
        path.write_text(header + shared + f"ONLY-{name},sl-ttpvhcc,land,2026-09-11,2\n", encoding="utf-8")
        files.append(path)
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def run_one(path):
        with app.app_context():
            barrier.wait()
            try:
                outcomes.append(str(import_portal_ratings(path)))
            except ImportRejected as error:
                outcomes.append(str(error))
            finally:
                db.session.remove()

    threads = [threading.Thread(target=run_one, args=(path,)) for path in files]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(outcomes) == 2
    digests = db.session.scalars(select(PortalRating.dossier_digest)).all()
    assert len(digests) == len(set(digests))
    imported = [o for o in outcomes if o.startswith("Imported")]
    assert imported, outcomes
    # Each batch row matches what it stored: no half-written import.
    batches = db.session.scalars(select(PortalImport)).all()
    assert batches
    for batch in batches:
        assert db.session.scalar(select(func.count()).where(PortalRating.batch_id == batch.id)) == batch.rows_added
    assert len(digests) == sum(b.rows_added for b in db.session.scalars(select(PortalImport)))
    assert len(digests) in (201, 202)
