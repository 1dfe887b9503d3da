"""Importing transaction counts: validated whole, all-or-nothing, replacing a period, audited."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select

from webapp.models import AuditEvent, TransactionCount


def write(tmp_path, text: str, name: str = "counts.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def total(db) -> int:
    return db.session.scalar(select(func.coalesce(func.sum(TransactionCount.count), 0)))


GOOD = """period,unit,service,count
2026-Q3,sl-ttpvhcc,land,120
2026-Q3,sl-ttpvhcc,construction,45
"""


def test_good_file_is_imported(runner, db, registry, tmp_path):
    result = runner.invoke(args=["import", "transactions", str(write(tmp_path, GOOD))])
    assert result.exit_code == 0, result.output
    assert "Imported 2 transaction counts for 2026-Q3" in result.output
    assert total(db) == 165


def test_reimport_replaces_the_period_and_is_audited(runner, db, registry, tmp_path):
    runner.invoke(args=["import", "transactions", str(write(tmp_path, GOOD))])
    result = runner.invoke(
        args=[
            "import",
            "transactions",
            str(write(tmp_path, "period,unit,service,count\n2026-Q3,sl-ttpvhcc,land,100\n", "v2.csv")),
        ]
    )
    assert result.exit_code == 0, result.output
    assert "replacing 2 earlier rows" in result.output
    assert total(db) == 100
    events = db.session.scalars(
        select(AuditEvent).where(AuditEvent.action == "transactions.import").order_by(AuditEvent.id)
    ).all()
    assert len(events) == 2
    assert events[1].before["totals"] == {"2026-Q3": 165} and events[1].after["totals"] == {"2026-Q3": 100}


def test_unknown_unit_names_file_and_line_and_writes_nothing(runner, db, registry, tmp_path):
    text = GOOD + "2026-Q3,no-such-unit,land,5\n"
    result = runner.invoke(args=["import", "transactions", str(write(tmp_path, text))])
    assert result.exit_code == 1
    assert "counts.csv, line 4, column unit: unknown unit code 'no-such-unit'" in result.output
    assert total(db) == 0


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("2026-07,sl-ttpvhcc,land,5", "column period"),
        ("2026,sl-ttpvhcc,land,5", "counts are per quarter"),
        ("2026-Q3,sl-ttpvhcc,teleport,5", "unknown service code"),
        ("2026-Q3,sl-ttpvhcc,land,-5", "column count"),
        ("2026-Q3,sl-ttpvhcc,land,many", "column count"),
        ("2026-Q3,sl-ttpvhcc,land,120", "appear twice"),
        ("2026-Q3,d116,land,5", "did not exist in 2026-Q3"),
        ("2026-Q3,sl-ttpvhcc,outpatient,5", "does not offer service"),
    ],
)
def test_each_bad_row_is_reported(runner, db, registry, tmp_path, row, message):
    result = runner.invoke(args=["import", "transactions", str(write(tmp_path, GOOD + row + "\n"))])
    assert result.exit_code == 1
    assert "line 4" in result.output and message in result.output
    assert total(db) == 0


def test_split_and_all_cannot_mix(runner, db, registry, tmp_path):
    text = (
        "period,unit,service,respondent_type,count\n2026-Q3,sl-ttpvhcc,land,all,5\n2026-Q3,sl-ttpvhcc,land,business,2\n"
    )
    result = runner.invoke(args=["import", "transactions", str(write(tmp_path, text))])
    assert result.exit_code == 1 and "either split by respondent type" in result.output


def test_xlsx_is_read_like_csv(runner, db, registry, tmp_path):
    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    sheet.append(["Period", "Unit", "Service", "Respondent_type", "Count"])
    sheet.append(["2026-Q3", "sl-ttpvhcc", "business-registration", "business", 30])
    sheet.append(["2026-Q3", "sl-ttpvhcc", "business-registration", "citizen", 12])
    path = tmp_path / "counts.xlsx"
    book.save(path)
    result = runner.invoke(args=["import", "transactions", str(path)])
    assert result.exit_code == 0, result.output
    assert total(db) == 42


def test_wrong_file_type_and_missing_columns(runner, db, registry, tmp_path):
    result = runner.invoke(args=["import", "transactions", str(write(tmp_path, "x", "counts.pdf"))])
    assert result.exit_code == 1 and "use a .csv" in result.output
    result = runner.invoke(args=["import", "transactions", str(write(tmp_path, "period,unit\n2026-Q3,sl\n"))])
    assert result.exit_code == 1 and "missing column(s): service, count" in result.output
