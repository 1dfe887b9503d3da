"""Issue #12, findings 8–11: safe outputs and bounded work on hostile files.

8. Text that a spreadsheet reads as a formula (a comment ``=HYPERLINK(…)``, a reply ``=1+1``, a
   unit named ``=…``) is written inert to the XLSX report and to the open-data CSV.
9. Control characters are refused in free text at input, and stripped by every writer, so a
   comment stored before the rule never makes a report answer 500.
10. gunicorn's access log masks kiosk keys and receipt codes as the application's own log does.
11. Imports report at most 100 bad rows (with the count of the rest) and refuse numbers that are
    not finite; ``restore`` refuses an archive with an over-long line before using much memory.
"""

from __future__ import annotations

import csv
import gzip
import io
import time
import tracemalloc
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from docx import Document
from openpyxl import load_workbook
from sqlalchemy import func, select

from tests.conftest import csrf_from, empty_all_tables
from tests.webapp.published_demo import NOW, PERIOD, publish_demo_quarters
from webapp.imports.tables import MAX_REPORTED_ROWS
from webapp.models import PopulationMargin, Response, TransactionCount, Unit

HOSTILE_COMMENT = '=HYPERLINK("http://evil.example/steal","Click for details")'
HOSTILE_REPLY = "=1+1"
HOSTILE_UNIT_NAME = "=cmd|' /C calc'!A0"
CONTROL_COMMENT = "Chờ lâu quá\x1b\x0b nhân viên\x00 chậm\ufffe"


def _attempt(build):
    """What ``build()`` returns, or the exception it raises (a report that fails is a 500)."""
    try:
        return build()
    except Exception as error:  # noqa: BLE001 - the test reports any failure
        return error


@pytest.fixture(scope="module")
def outputs(app):
    """Two published quarters with hostile stored text; the files built from them (or the error raised)."""
    from webapp.extensions import db
    from webapp.models.feedback import CommentReview
    from webapp.reports import build_report

    with app.app_context():
        commented = publish_demo_quarters(responses=3000, seed=7)
        assert len(commented) >= 3
        # Old data, stored before the input rules: a formula as the published text and the reply,
        # and control characters (invisible to a moderator) in a published comment.
        # PostgreSQL cannot store NUL at all; every other control character is stored as given.
        postgres = db.engine.dialect.name == "postgresql"
        commented[1].comment = CONTROL_COMMENT.replace("\x00", "") if postgres else CONTROL_COMMENT
        db.session.add_all(
            [
                CommentReview(
                    response_id=commented[0].id,
                    status="published",
                    edited_text=HOSTILE_COMMENT,
                    reply=HOSTILE_REPLY,
                    replied_at=NOW,
                ),
                CommentReview(response_id=commented[1].id, status="published", reply="-2+3 @SUM(A1)", replied_at=NOW),
            ]
        )
        unit = db.session.scalar(select(Unit).where(Unit.code == commented[0].unit.code))
        unit.name_vi = HOSTILE_UNIT_NAME
        unit.name_en = HOSTILE_UNIT_NAME + "\x1b"
        db.session.commit()
        from public.downloads import estimates_csv, find_snapshot

        built = {
            "unit": unit.code,
            "xlsx": _attempt(lambda: build_report(None, PERIOD, "xlsx", locale="vi", now=NOW).content),
            "docx": _attempt(lambda: build_report(None, PERIOD, "docx", locale="vi", now=NOW).content),
            "unit_xlsx": _attempt(lambda: build_report(unit.code, PERIOD, "xlsx", locale="en", now=NOW).content),
            "unit_docx": _attempt(lambda: build_report(unit.code, PERIOD, "docx", locale="en", now=NOW).content),
            "csv": _attempt(lambda: estimates_csv(find_snapshot(PERIOD))),
        }
        db.session.remove()
        empty_all_tables(db)
    return built


def _content(outputs, name: str) -> bytes:
    value = outputs[name]
    assert not isinstance(value, Exception), f"building the {name} failed (a 500 for the user): {value!r}"
    return value


def _text_cells(workbook):
    for sheet in workbook.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                yield sheet.title, cell


# --- finding 8: formulas ----------------------------------------------------------------------


def test_finding_08_comment_and_reply_are_inert_text_in_the_xlsx_report(outputs):
    workbook = load_workbook(io.BytesIO(_content(outputs, "xlsx")))
    formulas = [(title, cell.coordinate, cell.value) for title, cell in _text_cells(workbook) if cell.data_type == "f"]
    assert formulas == []
    values = [cell.value for _, cell in _text_cells(workbook) if isinstance(cell.value, str)]
    assert "'" + HOSTILE_COMMENT in values
    assert "'" + HOSTILE_REPLY in values
    assert "'-2+3 @SUM(A1)" in values
    # Every text cell that a spreadsheet would evaluate starts with the quote.
    assert [v for v in values if v[:1] in ("=", "+", "-", "@", "\t", "\r")] == []
    # Numbers stay numbers (the change column may be negative).
    indicators = workbook.worksheets[0]
    assert any(isinstance(cell.value, float) for row in indicators.iter_rows(min_row=2) for cell in row)


def test_finding_08_a_unit_named_like_a_formula_is_inert_in_the_unit_report(outputs):
    workbook = load_workbook(io.BytesIO(_content(outputs, "unit_xlsx")))
    assert [cell.coordinate for _, cell in _text_cells(workbook) if cell.data_type == "f"] == []
    values = [cell.value for _, cell in _text_cells(workbook) if isinstance(cell.value, str)]
    assert "'" + HOSTILE_UNIT_NAME in values


def test_finding_08_unit_names_are_inert_in_estimates_csv(outputs):
    text = _content(outputs, "csv").decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    mine = [row for row in rows if row["domain"] == outputs["unit"] and row["domain_type"] == "unit"]
    assert mine, "the hostile unit should have published rows"
    assert {row["domain_name_vi"] for row in mine} == {"'" + HOSTILE_UNIT_NAME}
    assert {row["domain_name_en"] for row in mine} == {"'" + HOSTILE_UNIT_NAME}
    for row in rows:
        for name, value in row.items():
            if value[:1] in ("=", "+", "@", "\t", "\r"):
                pytest.fail(f"{name}={value!r} would be evaluated by a spreadsheet")
            if value.startswith("-"):
                float(value)  # only a negative number may start with a minus


def test_finding_08_microdata_and_audit_csv_cells_are_neutralised():
    from webapp.safe_text import csv_cell, spreadsheet_value

    assert csv_cell("=1+1") == "'=1+1"
    assert csv_cell("@SUM(A1)") == "'@SUM(A1)"
    assert csv_cell("\tx") == "'\tx"
    assert csv_cell(-0.25) == "-0.25" and csv_cell(-3) == "-3"
    assert spreadsheet_value(-0.25) == -0.25
    assert spreadsheet_value("+33 6") == "'+33 6"


# --- finding 9: control characters ----------------------------------------------------------------


def test_finding_09_reports_with_control_characters_in_stored_text_do_not_fail(outputs):
    for name in ("xlsx", "docx", "unit_xlsx", "unit_docx"):
        _content(outputs, name)
    document = Document(io.BytesIO(_content(outputs, "docx")))
    text = "\n".join(paragraph.text for paragraph in document.paragraphs)
    assert "Chờ lâu quá nhân viên chậm" in text
    workbook = load_workbook(io.BytesIO(_content(outputs, "xlsx")))
    values = [cell.value for _, cell in _text_cells(workbook) if isinstance(cell.value, str)]
    assert "Chờ lâu quá nhân viên chậm" in values


def test_finding_09_survey_comments_with_control_characters_are_refused(app):
    from surveys import definitions
    from surveys.messages import describe
    from surveys.submission import FieldError

    instrument = next(
        i for i in definitions.latest_instruments().values() if any(item.type == "text" for item in i.items)
    )
    item = next(item for item in instrument.items if item.type == "text")
    errors = definitions.validate_answers(instrument, {item.code: "Chậm\x1b\x0b quá"})
    assert [(e.item, e.code) for e in errors if e.item == item.code] == [(item.code, "control_characters")]
    # Line breaks and tabs typed in a text box are fine.
    errors = definitions.validate_answers(instrument, {item.code: "Dòng một\r\nDòng hai\tba"})
    assert [e for e in errors if e.item == item.code] == []
    with app.test_request_context("/?lang=en"):
        message = describe(FieldError(f"answers.{item.code}", "control_characters"))
        fallback = describe(FieldError(f"answers.{item.code}", "no-such-code"))
    assert message != fallback


def test_finding_09_moderator_edits_and_replies_with_control_characters_are_refused(db, make_user):
    from webapp.agency import moderation
    from webapp.models.feedback import CommentReview

    registry_loaded(db)
    response = _commented_response(db, "Nhân viên chậm")
    db.session.add(CommentReview(response_id=response.id, status="published"))
    db.session.commit()
    user = make_user("admin")
    assert user.id  # loaded now, not by an autoflush in the middle of an update
    with pytest.raises(moderation.ModerationError):
        moderation.set_reply(response, "Cảm ơn\x1b", user)
    with pytest.raises(moderation.ModerationError):
        moderation.edit_text(response, "Nhân viên\x0b chậm", user)
    review = db.session.get(CommentReview, response.id)
    assert review.reply is None and review.edited_text is None
    moderation.set_reply(response, "Cảm ơn,\r\nchúng tôi sẽ sửa.", user)
    assert review.reply == "Cảm ơn,\r\nchúng tôi sẽ sửa."


def test_finding_09_paper_forms_with_control_characters_are_refused(db, runner, tmp_path):
    registry_loaded(db)
    path = tmp_path / "paper.csv"
    day = (datetime.now(UTC) - timedelta(days=2)).date().isoformat()
    path.write_text(
        f"form_id,unit,service,answered_on,overall,comment\n1,sl-ttpvhcc,land,{day},4,Tốt\x1b lắm\n",
        encoding="utf-8",
    )
    result = runner.invoke(args=["import", "responses", str(path)])
    assert result.exit_code != 0
    assert "comment" in result.output
    assert db.session.scalar(select(func.count()).select_from(Response)) == 0


def registry_loaded(db) -> None:
    from tests.registry_rows import load_registry

    load_registry(db)


def _commented_response(db, comment: str) -> Response:
    from surveys.stored import definition_of
    from webapp.models import Instrument, Service

    unit = db.session.scalar(select(Unit).where(Unit.code == "sl-ttpvhcc"))
    service = db.session.scalar(select(Service).where(Service.code == "land"))
    instrument = db.session.scalar(select(Instrument).where(Instrument.code == service.instrument_code))
    definition_of(instrument)
    response = Response(
        client_id=uuid.uuid4(),
        instrument_id=instrument.id,
        unit_id=unit.id,
        service_id=service.id,
        channel="online",
        respondent_type="citizen",
        answered_at=NOW,
        received_at=NOW,
        period="2026-Q4",
        answers={"overall": 4},
        comment=comment,
        status="valid",
    )
    db.session.add(response)
    db.session.commit()
    return response


# --- finding 10: gunicorn's access log ---------------------------------------------------------------


def test_finding_10_gunicorn_access_log_masks_kiosk_keys_and_receipt_codes(tmp_path):
    from tests.webapp.test_ops_faults import gunicorn, http, prepare_database

    url = f"sqlite:///{tmp_path / 'access-log.sqlite3'}"
    [key] = prepare_database(url, devices=1)
    token, code = "RcptTokenABCDEF123456", "RCPTCODE9876"
    with gunicorn(url, tmp_path, workers=1, GUNICORN_ACCESS_LOG="-") as server:
        assert http("GET", f"{server.base}/kiosk/{key}")[0] == 200
        http("GET", f"{server.base}/kiosk/{key}/manifest.webmanifest")
        http("GET", f"{server.base}/r/{token}")
        http("GET", f"{server.base}/r?code={code}&lang=en")
        http("GET", f"{server.base}/healthz", headers={"Referer": f"{server.base}/kiosk/{key}", "X-Device-Key": key})
        time.sleep(0.5)
        log = server.log_text()
    assert "GET /kiosk/***" in log, log[-2000:]  # the access log is on, and masked
    assert key not in log and token not in log and code not in log


def test_finding_10_the_logger_class_masks_every_atom():
    from types import SimpleNamespace

    from gunicorn.config import Config

    from webapp.ops.access_log import MaskingLogger

    config = Config()
    config.set("accesslog", "-")
    logger = MaskingLogger(config)
    environ = {
        "REQUEST_METHOD": "GET",
        "RAW_URI": "/kiosk/SeCrEtKeY/manifest.webmanifest?code=ABCD1234",
        "PATH_INFO": "/kiosk/SeCrEtKeY/manifest.webmanifest",
        "QUERY_STRING": "code=ABCD1234",
        "SERVER_PROTOCOL": "HTTP/1.1",
        "HTTP_REFERER": "https://example.org/r/TOKEN5678",
        "HTTP_X_DEVICE_KEY": "SeCrEtKeY",
    }
    request = SimpleNamespace(headers=[("REFERER", "https://example.org/r/TOKEN5678"), ("X-DEVICE-KEY", "SeCrEtKeY")])
    response = SimpleNamespace(status="200 OK", sent=10, headers=[("Location", "/r/TOKEN5678")])
    atoms = logger.atoms(response, request, environ, SimpleNamespace(seconds=0, microseconds=5))
    text = repr(atoms)
    for secret in ("SeCrEtKeY", "ABCD1234", "TOKEN5678"):
        assert secret not in text
    assert atoms["r"] == "GET /kiosk/***/manifest.webmanifest?code=*** HTTP/1.1"


# --- finding 11: bounded work ----------------------------------------------------------------------


#: A transactions file of this many bad rows: MAX_REPORTED_ROWS reported, the others only counted.
BAD_ROWS = 60_000
UNLISTED = BAD_ROWS - MAX_REPORTED_ROWS


def _many_bad_counts(rows: int) -> str:
    return "period,unit,service,count\n" + "".join(f"2026-Q1,nowhere-{i},land,5\n" for i in range(rows))


def test_finding_11_a_transactions_file_with_60k_bad_rows_reports_100_and_counts_the_rest(db, runner, tmp_path):
    from webapp.imports.tables import ImportRejected
    from webapp.imports.transactions import import_transactions

    registry_loaded(db)
    path = tmp_path / "bad.csv"
    path.write_text(_many_bad_counts(BAD_ROWS), encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(ImportRejected) as refused:
        import_transactions(path)
    assert time.monotonic() - started < 10
    assert len(refused.value.problems) == MAX_REPORTED_ROWS
    assert refused.value.more == UNLISTED
    assert f"and {UNLISTED:,} more rows with errors" in str(refused.value)
    result = runner.invoke(args=["import", "transactions", str(path)])
    assert result.exit_code != 0 and f"{UNLISTED:,} more rows with errors" in result.output


def test_finding_11_the_admin_page_shows_at_most_100_bad_rows(admin_client, db, monkeypatch):
    """Imported in the request (a file under the background-job threshold): at most 100 rows listed."""
    monkeypatch.setitem(admin_client.application.config, "IMPORT_JOB_MIN_BYTES", 10**9)
    answer_started = time.monotonic()
    token = csrf_from(admin_client.get("/admin/imports"))
    body = _many_bad_counts(BAD_ROWS).encode()
    answer = admin_client.post(
        "/admin/imports/transactions?lang=en",
        data={"transactions-csrf_token": token, "transactions-file": (io.BytesIO(body), "bad.csv")},
        content_type="multipart/form-data",
    )
    elapsed = time.monotonic() - answer_started
    assert answer.status_code == 422
    page = answer.get_data(as_text=True)
    assert page.count('<tr><th scope="row">') <= MAX_REPORTED_ROWS
    assert len(page) < 200_000
    assert f"{UNLISTED:,} more rows with errors" in page
    assert elapsed < 10
    assert db.session.scalar(select(func.count()).select_from(TransactionCount)) == 0


def test_finding_11_a_large_bad_file_fails_its_import_job_with_a_short_report(admin_client, db):
    """A file over the threshold is imported by a background job: its page gives the count of
    problems and where the first one is, never the rows themselves, and nothing is stored."""
    token = csrf_from(admin_client.get("/admin/imports"))
    body = _many_bad_counts(BAD_ROWS).encode()
    assert len(body) >= admin_client.application.config["IMPORT_JOB_MIN_BYTES"]
    answer = admin_client.post(
        "/admin/imports/transactions?lang=en",
        data={"transactions-csrf_token": token, "transactions-file": (io.BytesIO(body), "bad.csv")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert answer.status_code == 200
    page = answer.get_data(as_text=True)
    assert len(page) < 200_000
    assert f"{BAD_ROWS} problem(s); the first at line 2" in page
    assert db.session.scalar(select(func.count()).select_from(TransactionCount)) == 0


@pytest.mark.parametrize("total", ["inf", "-inf", "nan", "1e309", "Infinity", "1e15"])
def test_finding_11_margins_refuse_numbers_that_are_not_finite_or_absurd(db, runner, tmp_path, total):
    path = tmp_path / "margins.csv"
    path.write_text(f"variable,category,total\ngender,male,{total}\ngender,female,{total}\n", encoding="utf-8")
    result = runner.invoke(args=["import", "margins", str(path), "--dataset", "census-2029"])
    assert result.exit_code != 0, result.output
    assert db.session.scalar(select(func.count()).select_from(PopulationMargin)) == 0


def test_finding_11_transaction_counts_in_other_digits_are_refused_not_a_crash(db, tmp_path):
    from webapp.imports.tables import ImportRejected
    from webapp.imports.transactions import import_transactions

    registry_loaded(db)
    path = tmp_path / "digits.csv"
    path.write_text(
        "period,unit,service,count\n2026-Q1,sl-ttpvhcc,land,²\n2026-Q1,sl-ttpvhcc,land," + "9" * 5000 + "\n"
    )
    with pytest.raises(ImportRejected) as refused:
        import_transactions(path)
    assert [p.column for p in refused.value.problems] == ["count", "count"]


def _gzip_with_long_line(path, megabytes: int, header: str | None) -> None:
    """A small gzip holding one line of ``megabytes`` MB, after a valid header of revision ``header``."""
    with gzip.open(path, "wb", compresslevel=9) as handle:
        if header:
            handle.write(f'{{"format":"sonla-backup","version":1,"revision":"{header}","rows":{{}}}}\n'.encode())
        chunk = b"[" + b" " * (1024 * 1024 - 1)
        handle.write(chunk)
        for _ in range(megabytes - 1):
            handle.write(b" " * (1024 * 1024))
        handle.write(b"]\n")


@pytest.mark.parametrize("header", [False, True], ids=["first-line", "after-the-header"])
def test_finding_11_restore_refuses_a_long_line_quickly_and_in_little_memory(db, runner, tmp_path, header):
    from webapp.ops.backup import BackupError, open_archive, schema_revision

    with db.engine.connect() as connection:
        revision = schema_revision(connection)
    path = tmp_path / "long-line.jsonl.gz"
    _gzip_with_long_line(path, 100, revision if header else None)
    assert path.stat().st_size < 400_000
    tracemalloc.start()
    started = time.monotonic()
    try:
        with pytest.raises(BackupError) as refused, gzip.open(path, "rt", encoding="utf-8") as handle:
            archive = open_archive(handle)
            for _ in archive.lines:
                pass
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 50 * 1024 * 1024, f"peak {peak / 1e6:.0f} MB"
    assert time.monotonic() - started < 10
    assert "line" in str(refused.value)
    db.session.rollback()
    result = runner.invoke(args=["restore", str(path)])
    assert result.exit_code != 0 and "Traceback" not in result.output
    assert "too long" in result.output or "not a backup archive" in result.output
