"""/plan shows the latest value the Department entered for targets the survey does not measure."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.pages import check_page


def card(soup, text: str):
    heading = next(h for h in soup.select(".card h4") if " ".join(h.get_text().split()) == text)
    return heading.find_parent(class_="card")


def words(tag) -> str:
    return " ".join(tag.get_text().split())


def add_value(db, target_id: str, value: float, as_of: datetime, source: str, note: str | None = None) -> None:
    from webapp.models.feedback import PlanProgressValue

    db.session.add(PlanProgressValue(target_id=target_id, value=value, as_of=as_of, source=source, note=note))
    db.session.commit()


def test_latest_value_with_source_date_and_status(client, db):
    add_value(db, "e-office", 0.41, datetime(2014, 12, 31, tzinfo=UTC), "Báo cáo 12/BC-SNV năm 2014")
    add_value(db, "e-office", 0.72, datetime(2016, 12, 31, tzinfo=UTC), "Báo cáo 98/BC-SNV năm 2016", note="Sở, ngành")
    add_value(db, "one-stop", 0.96, datetime(2016, 6, 30, tzinfo=UTC), "Báo cáo 45/BC-UBND")
    add_value(db, "one-it", 0.9, datetime(2016, 6, 30, tzinfo=UTC), "an id that is not in the plan: ignored")
    soup = check_page(client.get("/plan?lang=en"), lang="en")
    e_office = words(
        card(soup, "Over 60% of state administrative agencies at all levels use e-office software in their work")
    )
    assert "72" in e_office and "41" not in e_office, "only the latest value"
    assert "Báo cáo 98/BC-SNV năm 2016" in e_office and "31 Dec 2016" in e_office and "Sở, ngành" in e_office
    assert "Target met" in e_office
    one_stop = words(
        card(soup, "One-stop / inter-agency one-stop mechanism at 100% of state administrative agencies at all levels")
    )
    assert "96" in one_stop and "Not met by the deadline" in one_stop and "Báo cáo 45/BC-UBND" in one_stop
    assert words(soup).count("No value entered yet by the Department of Home Affairs.") == 10
    check_page(client.get("/plan?lang=vi"), lang="vi")


@pytest.mark.parametrize(
    ("value", "target", "comparison", "year", "deadline", "expected"),
    [
        (1.0, 1.0, "eq", 2015, 2015, "met"),
        (0.9999999999, 1.0, "eq", 2015, 2015, "met"),
        (0.99, 1.0, "eq", 2014, 2015, "not-yet"),
        (0.99, 1.0, "eq", 2016, 2015, "missed"),
        (0.5, 0.5, "ge", 2015, 2015, "met"),
        (0.8, 0.8, "gt", 2020, 2020, "not-yet"),
        (0.81, 0.8, "gt", 2020, 2020, "met"),
    ],
)
def test_progress_status(value, target, comparison, year, deadline, expected):
    from public.info import progress_status

    assert progress_status(value, target, comparison, year, deadline) == expected
