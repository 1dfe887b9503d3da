"""The unit badge and widget, the embed snippets, and published comments with replies, on purpose-built data."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from xml.etree import ElementTree

import pytest
from sqlalchemy import select

from tests.pages import check_page
from tests.public.test_api_paging import NOW, SEPTEMBER

PERCENT = re.compile(r"\d\s?%")
UNIT = "sl-ttpvhcc"


def _publish() -> None:
    from webapp.extensions import db
    from webapp.publishing.publish import publish_period

    publish_period("2026-Q3", now=NOW)
    db.session.commit()


@pytest.fixture(autouse=True)
def microdata_cache(app, tmp_path, monkeypatch):
    monkeypatch.setitem(app.config, "MICRODATA_CACHE_DIR", str(tmp_path / "microdata"))


@pytest.fixture()
def kiosk(make_device):
    device, _ = make_device(UNIT)
    return device


def svg_text(response) -> str:
    root = ElementTree.fromstring(response.get_data())
    return " ".join(" ".join(root.itertext()).split())


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_badge_shows_name_rate_interval_status_and_period(client, kiosk, lang, rate):
    rate(UNIT, overall=3, count=60, start=SEPTEMBER, device=kiosk)
    _publish()
    response = client.get(f"/units/{UNIT}/badge.svg?lang={lang}")
    assert response.status_code == 200 and response.mimetype == "image/svg+xml"
    root = ElementTree.fromstring(response.get_data())
    assert root.get("role") == "img" and root.get("aria-label")
    text = svg_text(response)
    assert "2026-Q3" in text and PERCENT.search(text)
    if lang == "en":
        assert "Trung tâm" not in text or "Centre" in text
        assert "95% interval" in text and any(w in text for w in ("Target met", "Not yet clear", "Below target"))
    assert response.headers["ETag"]
    again = client.get(f"/units/{UNIT}/badge.svg?lang={lang}", headers={"If-None-Match": response.headers["ETag"]})
    assert again.status_code == 304


def test_widget_is_a_small_card_with_a_link_and_no_script(client, kiosk, rate):
    rate(UNIT, overall=3, count=60, start=SEPTEMBER, device=kiosk)
    _publish()
    response = client.get(f"/units/{UNIT}/widget?lang=en")
    soup = check_page(response, lang="en")
    assert soup.find("script") is None and "style=" not in response.get_data(as_text=True)
    link = soup.find("a", href=re.compile(rf"/units/{UNIT}$"))
    assert link is not None and link["target"] == "_blank"
    text = " ".join(soup.get_text().split())
    assert "2026-Q3" in text and PERCENT.search(text) and "95% interval" in text
    assert len(response.get_data()) < 4000, "tiny"


def test_badge_and_widget_may_be_framed_by_other_sites(app, client, kiosk, rate):
    rate(UNIT, overall=3, count=60, start=SEPTEMBER, device=kiosk)
    _publish()
    for endpoint in ("public_pages.unit_badge", "public_pages.unit_widget"):
        assert getattr(app.view_functions[endpoint], "embeddable", False), endpoint
    assert not getattr(app.view_functions["public_pages.unit_page"], "embeddable", False)


def test_suppressed_and_unpublished_units_say_so_without_a_rate(client, kiosk, rate):
    """On thin data: 20 ratings (count only) at one unit; nothing at another."""
    rate(UNIT, overall=3, count=20, start=SEPTEMBER, device=kiosk)
    _publish()
    text = svg_text(client.get(f"/units/{UNIT}/badge.svg?lang=en"))
    assert "20 ratings" in text and "too few" in text and not PERCENT.search(text)
    widget = " ".join(check_page(client.get(f"/units/{UNIT}/widget?lang=en")).get_text().split())
    assert "too few to publish a rate" in widget and not PERCENT.search(widget)
    empty = svg_text(client.get("/units/sl/badge.svg?lang=en"))
    assert "no published figure yet" in empty and not PERCENT.search(empty)
    widget = " ".join(check_page(client.get("/units/sl/widget?lang=en")).get_text().split())
    assert "No figures have been published" in widget


def test_thin_cells_never_reach_the_badge_or_widget(client, kiosk, db, rate):
    """5 online ratings are never published, nor is their complement (40 kiosk): no channel anywhere."""
    rate(UNIT, overall=3, count=40, start=SEPTEMBER, device=kiosk)
    rate(UNIT, overall=1, count=5, start=SEPTEMBER)
    _publish()
    for lang in ("vi", "en"):
        badge = client.get(f"/units/{UNIT}/badge.svg?lang={lang}").get_data(as_text=True)
        widget = client.get(f"/units/{UNIT}/widget?lang={lang}").get_data(as_text=True)
        for body in (badge, widget):
            assert "online" not in body.lower() and "kiosk" not in body.lower()

    # The microdata download leaves the hidden channel empty too.
    microdata = client.get("/data/2026-Q3/microdata/sat-agencies.csv").get_data(as_text=True)
    assert microdata.count("\n") > 1 and (microdata.count("\n") - 1) % 45 == 0, "a header and 45 responses per block"
    assert "online" not in microdata and "kiosk" not in microdata


def test_a_unit_under_ten_ratings_shows_not_even_its_count(client, kiosk, rate):
    rate(UNIT, overall=3, count=5, start=SEPTEMBER, device=kiosk)
    rate("n04240", overall=3, count=40, start=SEPTEMBER)
    _publish()
    for body in (
        svg_text(client.get(f"/units/{UNIT}/badge.svg?lang=en")),
        " ".join(check_page(client.get(f"/units/{UNIT}/widget?lang=en")).get_text().split()),
    ):
        assert "5 ratings" not in body and not PERCENT.search(body)


@pytest.mark.parametrize(
    "path", ["/units/no-such-unit/badge.svg", "/units/no-such-unit/widget", f"/units/{UNIT}/badge.svg?indicator=nope"]
)
def test_unknown_unit_or_indicator_is_404(client, registry, path):
    assert client.get(path).status_code == 404


def test_unit_page_offers_the_embed_snippets(client, kiosk, rate):
    rate(UNIT, overall=3, count=60, start=SEPTEMBER, device=kiosk)
    _publish()
    soup = check_page(client.get(f"/units/{UNIT}?lang=en"))
    codes = [code.get_text() for code in soup.select("pre.embed-code code")]
    assert len(codes) == 2
    assert codes[0].startswith("<a href=") and f"/units/{UNIT}/badge.svg" in codes[0] and "<img" in codes[0]
    assert "<iframe" in codes[1] and f"/units/{UNIT}/widget" in codes[1] and "title=" in codes[1]
    assert all(code.count("http://sonla-index.test.invalid") >= 1 for code in codes), "absolute addresses"


# --- comments ------------------------------------------------------------------------------


def _comment(db, text: str, *, minutes: int, status: str | None, reply: str | None = None, edited: str | None = None):
    """Give the response stored ``minutes`` after the first one a comment, and review it (``status`` None: pending)."""
    from webapp.models import Response
    from webapp.models.feedback import CommentReview

    responses = db.session.scalars(select(Response).order_by(Response.answered_at)).all()
    response = responses[minutes]
    response.comment = text
    if status is not None:
        db.session.add(
            CommentReview(
                response_id=response.id,
                status=status,
                hidden_reason="abuse" if status == "hidden" else None,
                edited_text=edited,
                reply=reply,
                replied_at=datetime(2026, 10, 2, tzinfo=UTC) if reply else None,
            )
        )
    db.session.commit()
    return response


def test_only_published_comments_show_newest_first_with_replies(client, kiosk, db, rate):
    rate(UNIT, overall=3, count=12, start=SEPTEMBER, device=kiosk)
    _comment(db, "Pending: nobody read me yet", minutes=0, status=None)
    _comment(db, "Hidden: rude words", minutes=1, status="hidden")
    _comment(db, "Older: the queue was long", minutes=2, status="published", reply="We opened a second counter.")
    _comment(db, "Newer: staff were kind [masked name]", minutes=3, status="published", edited="Newer: staff were kind")
    soup = check_page(client.get(f"/units/{UNIT}?lang=en"))
    section = soup.find(id="comments-heading").find_parent("section")
    text = " ".join(section.get_text().split())
    assert "Pending" not in text and "Hidden" not in text
    items = section.select("li.comment")
    assert [" ".join(li.blockquote.get_text().split()) for li in items] == [
        "Newer: staff were kind",
        "Older: the queue was long",
    ]
    assert "[masked name]" not in text, "the moderator's edited text replaces the comment"
    assert "We opened a second counter." in items[1].get_text()
    assert "No answer from the unit yet." in items[0].get_text()
    assert "2026-Q3" in text


def test_comments_are_paged_twenty_at_a_time(client, kiosk, db, rate):
    from public.comments import PER_PAGE

    rate(UNIT, overall=3, count=PER_PAGE + 5, start=SEPTEMBER, device=kiosk)
    for i in range(PER_PAGE + 5):
        _comment(db, f"Comment number {i}", minutes=i, status="published")
    first = check_page(client.get(f"/units/{UNIT}?lang=en"))
    items = first.select("li.comment blockquote")
    assert len(items) == PER_PAGE and items[0].get_text(strip=True) == f"Comment number {PER_PAGE + 4}"
    older = first.find("a", rel="next")
    assert older is not None and "page=2" in older["href"]
    second = check_page(client.get(older["href"]))
    assert [b.get_text(strip=True) for b in second.select("li.comment blockquote")] == [
        f"Comment number {i}" for i in range(4, -1, -1)
    ]
    assert second.find("a", rel="prev") is not None and second.find("a", rel="next") is None
    assert check_page(client.get(f"/units/{UNIT}?page=nonsense&lang=en")).select("li.comment")
    assert check_page(client.get(f"/units/{UNIT}?page=999&lang=en")).select("li.comment"), "clamped to the last page"


def test_comments_of_other_units_do_not_show(client, kiosk, db, make_device, rate):
    rate(UNIT, overall=3, count=3, start=SEPTEMBER, device=kiosk)
    _comment(db, "About the one-stop centre", minutes=0, status="published")
    text = check_page(client.get("/units/sl?lang=en")).get_text()
    assert "About the one-stop centre" not in text and "No comments have been published" in text


def test_published_comments_and_replies_are_masked_again_on_the_public_page(client, kiosk, db, rate):
    """A row stored unmasked (before a masking rule existed) never shows personal data publicly."""
    rate(UNIT, overall=3, count=12, start=SEPTEMBER, device=kiosk)
    _comment(
        db,
        "Gọi anh Tuấn số 0912 345 678, CCCD 034095001234 để hỏi",
        minutes=0,
        status="published",
        reply="Đã liên hệ lại qua số +84 912345678.",
    )
    text = " ".join(check_page(client.get(f"/units/{UNIT}?lang=en")).get_text().split())
    for personal in ("0912 345 678", "034095001234", "912345678", "Tuấn"):
        assert personal not in text
