"""The kiosk drains its offline queue through ``POST /api/v1/responses/batch`` (issue #18), in a real Chromium."""

from __future__ import annotations

import time

from playwright.sync_api import expect

from tests.browser.test_kiosk import SERVICE, kiosk_page, make_device, rate, responses_of, wait_for_responses

__all__ = ["kiosk_page"]  # the fixture, used by name below


def test_ratings_queued_offline_go_out_in_one_batch_and_are_stored_once(kiosk_page, live_app):
    device_id, key = make_device(live_app, "Quầy gửi gộp")
    page = kiosk_page()
    context = page.context
    page.goto(f"/kiosk/{key}?service={SERVICE}")
    expect(page.locator("body")).to_have_attribute("data-queued", "0")
    sent: list[tuple[str, str]] = []
    page.on(
        "request",
        lambda request: sent.append((request.method, request.url)) if "/api/v1/responses" in request.url else None,
    )

    context.set_offline(True)
    for number in range(7):
        rate(page, (5, 4, 3, 2, 1)[number % 5], reason=number % 3 == 0)
    expect(page.locator("body")).to_have_attribute("data-queued", "7")
    assert responses_of(live_app, device_id) == []
    sent.clear()  # requests tried while offline never reached the server

    context.set_offline(False)
    page.evaluate("window.dispatchEvent(new Event('online'))")
    expect(page.locator("body")).to_have_attribute("data-queued", "0", timeout=15_000)
    rows = wait_for_responses(live_app, device_id, 7)
    time.sleep(0.5)  # anything sent twice would show up now
    rows = responses_of(live_app, device_id)
    assert len(rows) == 7 and len({row.client_id for row in rows}) == 7
    assert sorted(row.kiosk_rating for row in rows) == sorted((5, 4, 3, 2, 1)[n % 5] for n in range(7))
    posts = [url for method, url in sent if method == "POST"]
    assert len(posts) == 1 and posts[0].endswith("/api/v1/responses/batch"), sent
    expect(page.locator("body")).to_have_attribute("data-rejected", "0")
