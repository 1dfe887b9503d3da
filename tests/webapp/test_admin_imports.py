"""Admin imports: refused files show a row-by-row report and write nothing; accepted ones show counts."""

from __future__ import annotations

import io
from datetime import date, timedelta

from sqlalchemy import func, select

from surveys import definitions
from tests.conftest import csrf_from
from tests.pages import check_page
from tests.webapp.test_admin_pages import audit_rows
from webapp.models import PopulationMargin, Response, TransactionCount

GOOD_COUNTS = "period,unit,service,count\n2026-Q1,sl-ttpvhcc,land,120\n2026-Q1,sl-ttpvhcc,construction,45\n"
BAD_COUNTS = (
    "period,unit,service,count\n2026-Q1,sl-ttpvhcc,land,120\n2026-Q9,sl-ttpvhcc,land,1\n"
    "2026-Q1,nowhere,land,5\n2026-Q1,sl-ttpvhcc,land,-3\n"
)


def upload(client, kind: str, content: bytes | str, filename: str = "counts.csv", lang: str = "en", **fields):
    token = csrf_from(client.get("/admin/imports"))
    data = {f"{kind}-csrf_token": token, **{f"{kind}-{name}": value for name, value in fields.items()}}
    body = content.encode("utf-8") if isinstance(content, str) else content
    data[f"{kind}-file"] = (io.BytesIO(body), filename)
    return client.post(f"/admin/imports/{kind}?lang={lang}", data=data, content_type="multipart/form-data")


def count_rows(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def report_rows(answer) -> list[list[str]]:
    soup = check_page(answer, status=422)
    table = soup.find("table", class_="import-report")
    return [
        [" ".join(cell.get_text().split()) for cell in row.find_all(["th", "td"])] for row in table.tbody.find_all("tr")
    ]


def test_a_bad_transactions_file_is_refused_row_by_row_and_nothing_is_written(admin_client, db):
    answer = upload(admin_client, "transactions", BAD_COUNTS)
    rows = report_rows(answer)
    assert ["3", "period", "The period “2026-Q9”: there is no such quarter or half-year."] in rows
    assert ["4", "unit", "Unknown unit code “nowhere”."] in rows
    assert any(row[:2] == ["5", "count"] and "is not a whole number" in row[2] for row in rows)
    assert count_rows(db, TransactionCount) == 0
    [refused] = audit_rows(db, "import.refused")
    assert refused.object_type == "transactions" and refused.after == {"problems": 3}


def test_the_report_is_said_through_the_catalog_in_the_users_language(app, admin_client, db):
    from flask_babel import gettext

    answer = upload(admin_client, "transactions", BAD_COUNTS, lang="vi")
    check_page(answer, status=422, lang="vi")
    with app.test_request_context("/?lang=vi"):
        expected = gettext("Unknown unit code %(value)s.", value="“nowhere”")
    assert ["4", "unit", expected] in report_rows(answer)
    assert count_rows(db, TransactionCount) == 0


def test_a_good_transactions_file_shows_its_counts_and_is_audited(admin_client, db):
    answer = upload(admin_client, "transactions", GOOD_COUNTS)
    assert answer.status_code == 302
    page = admin_client.get("/admin/imports?lang=en").get_data(as_text=True)
    assert "Imported 2 transaction counts for 2026-Q1" in page
    assert count_rows(db, TransactionCount) == 2
    [event] = audit_rows(db, "transactions.import")
    assert event.actor == admin_client.admin.email and event.after == {"totals": {"2026-Q1": 165}, "rows": 2}


def test_wrong_kind_of_file_empty_upload_and_too_large(admin_client, db):
    answer = upload(admin_client, "transactions", "x", filename="counts.pdf")
    assert report_rows(answer) == [["whole file", "–", "Use a .csv (UTF-8) or .xlsx file."]]
    token = csrf_from(admin_client.get("/admin/imports"))
    missing = admin_client.post(
        "/admin/imports/transactions?lang=en",
        data={"transactions-csrf_token": token},
        content_type="multipart/form-data",
    )
    assert "Choose a file to upload" in check_page(missing, status=400).get_text(" ")
    big = upload(admin_client, "transactions", b"period,unit,service,count\n" + b"0" * (4 * 1024 * 1024 + 10))
    assert big.status_code in {413, 422}
    broken = upload(admin_client, "transactions", b"\xff\xfe not utf-8")
    assert "not UTF-8" in " ".join(row[2] for row in report_rows(broken))
    assert count_rows(db, TransactionCount) == 0
    unknown = admin_client.post("/admin/imports/other", data={"csrf_token": token})
    assert unknown.status_code == 404


def test_margins_are_loaded_into_a_named_dataset(admin_client, db):
    text = "variable,category,total\ngender,male,100\ngender,female,100\nresidence_area,urban,50\nresidence_area,rural,150\n"
    assert (
        upload(admin_client, "margins", text, filename="m.csv", dataset="census-2029", source="GSO").status_code == 302
    )
    assert count_rows(db, PopulationMargin) >= 4
    assert audit_rows(db, "margins.load")[-1].object_id == "census-2029"
    uneven = "variable,category,total\ngender,male,100\ngender,female,100\nresidence_area,urban,50\n"
    rows = report_rows(upload(admin_client, "margins", uneven, filename="m.csv", dataset="census-2030"))
    assert any("must describe one population" in row[2] for row in rows)
    assert not db.session.scalars(select(PopulationMargin).where(PopulationMargin.dataset == "census-2030")).all()
    bad_name = upload(admin_client, "margins", text, filename="m.csv", dataset="Census 2029!")
    assert "Use lower-case letters" in check_page(bad_name, status=400).get_text(" ")


def test_paper_forms_are_imported_once_and_bad_rows_refuse_the_file(admin_client, db):
    instrument = definitions.latest_instruments()["admin-procedure"]
    rated = [item.code for item in instrument.items if item.type == "scale5"]
    header = "form_id,unit,service,answered_on,respondent_type," + ",".join(rated) + "\n"
    day = (date.today() - timedelta(days=3)).isoformat()
    good = header + "".join(
        f"P-{n},sl-ttpvhcc,land,{day},citizen," + ",".join("4" for _ in rated) + "\n" for n in (1, 2)
    )
    first = upload(admin_client, "responses", good, filename="paper.csv")
    assert first.status_code == 302, report_rows(first)
    assert count_rows(db, Response) == 2
    assert upload(admin_client, "responses", good, filename="paper.csv").status_code == 302
    assert "2 already imported earlier" in admin_client.get("/admin/imports?lang=en").get_data(as_text=True)
    bad = (
        header
        + f"P-3,sl-ttpvhcc,land,{day},citizen,"
        + ",".join("4" for _ in rated)
        + "\n"
        + "P-4,sl-ttpvhcc,land,yesterday,citizen,"
        + ",".join("4" for _ in rated)
        + "\n"
    )
    rows = report_rows(upload(admin_client, "responses", bad, filename="paper.csv"))
    assert ["3", "answered_on", "“yesterday” is not a date (YYYY-MM-DD)."] in rows
    assert count_rows(db, Response) == 2
