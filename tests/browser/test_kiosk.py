"""The counter kiosk in a real Chromium: offline queue, service worker, inactivity, accessibility.

Assertions rest on roles, ids and data attributes, never on Vietnamese wording.
"""

from __future__ import annotations

import time

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.axe import assert_no_axe_violations

UNIT = "sl-ttpvhcc"
SERVICE = "land"


def make_device(live_app, counter: str) -> tuple[int, str]:
    from surveys.devices import create_device
    from webapp.extensions import db
    from webapp.models import Unit

    with live_app.app_context():
        unit = db.session.scalar(select(Unit).where(Unit.code == UNIT))
        new = create_device(unit, counter)
        db.session.commit()
        device_id, key = new.device.id, new.key
        db.session.remove()
    return device_id, key


def revoke(live_app, device_id: int) -> None:
    from surveys.devices import revoke_device
    from webapp.extensions import db
    from webapp.models import Device

    with live_app.app_context():
        revoke_device(db.session.get(Device, device_id))
        db.session.commit()
        db.session.remove()


def responses_of(live_app, device_id: int) -> list[tuple]:
    from webapp.extensions import db
    from webapp.models import Response

    with live_app.app_context():
        rows = db.session.execute(
            select(Response.client_id, Response.kiosk_rating, Response.channel, Response.answers).where(
                Response.device_id == device_id
            )
        ).all()
        db.session.remove()
    return rows


def wait_for_responses(live_app, device_id: int, expected: int, timeout: float = 30) -> list[tuple]:
    deadline = time.monotonic() + timeout
    rows = responses_of(live_app, device_id)
    while len(rows) < expected and time.monotonic() < deadline:
        time.sleep(0.25)
        rows = responses_of(live_app, device_id)
    return rows


def faces(page):
    return page.locator("#rate-form button[name='overall']")


def rate(page, value: int, reason: bool = False) -> None:
    page.locator(f"#rate-form button[name='overall'][value='{value}']").click()
    reasons = page.locator("#stage-reasons")
    expect(reasons).to_be_visible()
    if reason:
        reasons.locator("fieldset:not([hidden]) input[type='checkbox']").first.check()
        page.locator("#kiosk-send").click()
    else:
        page.locator("#kiosk-skip").click()
    expect(page.locator("#stage-thanks")).to_be_visible()
    page.locator("#kiosk-next").click()
    expect(page.locator("#stage-rate")).to_be_visible()


@pytest.fixture()
def kiosk_page(browser, live_server):
    from tests.browser.conftest import open_page

    opened = []

    def factory(**overrides):
        made = open_page(browser, live_server, service_workers="allow", **overrides)
        opened.append(made)
        return made

    yield factory
    for made in opened:
        made.context.close()


def test_twenty_ratings_made_offline_survive_a_reload_and_arrive_exactly_once(kiosk_page, live_app):
    device_id, key = make_device(live_app, "Quầy offline")
    page = kiosk_page()
    context = page.context
    page.goto(f"/kiosk/{key}?service={SERVICE}")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    expect(page.locator("body")).to_have_attribute("data-offline-ready", "true")
    status = page.locator("#kiosk-status")
    expect(status).to_be_visible()

    context.set_offline(True)
    for number in range(20):
        rate(page, (5, 4, 3, 2, 1)[number % 5], reason=number % 2 == 0)
    expect(page.locator("body")).to_have_attribute("data-queued", "20")
    assert status.inner_text().strip(), "the staff status line should say how many ratings wait"
    assert responses_of(live_app, device_id) == [], "nothing may reach the server while offline"

    # The page comes back from the service worker's cache, the queue from IndexedDB.
    reloaded = page.reload()
    assert reloaded is not None and reloaded.from_service_worker
    expect(faces(page)).to_have_count(5)
    expect(page.locator("body")).to_have_attribute("data-queued", "20")

    context.set_offline(False)
    rows = wait_for_responses(live_app, device_id, 20)
    expect(page.locator("body")).to_have_attribute("data-queued", "0", timeout=15_000)
    time.sleep(0.5)  # anything sent twice would show up now
    rows = responses_of(live_app, device_id)
    assert len(rows) == 20
    assert len({row.client_id for row in rows}) == 20
    assert {row.channel for row in rows} == {"kiosk"}
    assert sorted(row.kiosk_rating for row in rows) == sorted((5, 4, 3, 2, 1)[n % 5] for n in range(20))
    assert sum(1 for row in rows if set(row.answers) - {"overall"}) == 10  # the ones sent with a chip


def test_a_revoked_kiosk_is_refused(kiosk_page, live_app):
    device_id, key = make_device(live_app, "Quầy thu hồi")
    revoke(live_app, device_id)
    page = kiosk_page()
    response = page.goto(f"/kiosk/{key}")
    assert response is not None and response.status == 404
    expect(page.locator("h1")).to_have_count(1)
    expect(faces(page)).to_have_count(0)


def test_a_kiosk_revoked_while_it_runs_stops_sending_and_says_so(kiosk_page, live_app):
    device_id, key = make_device(live_app, "Quầy tắt")
    page = kiosk_page()
    page.goto(f"/kiosk/{key}?service={SERVICE}")
    expect(page.locator("body")).to_have_attribute("data-queued", "0")
    revoke(live_app, device_id)
    page.locator("#rate-form button[name='overall'][value='3']").click()
    page.locator("#kiosk-skip").click()
    expect(page.locator("#kiosk-inactive")).to_be_visible()
    expect(page.locator("#kiosk-inactive")).to_have_attribute("role", "alert")
    expect(page.locator("body")).to_have_attribute("data-queued", "1")  # kept, not thrown away
    assert responses_of(live_app, device_id) == []


def test_inactivity_warning_is_focused_and_continue_keeps_the_screen(kiosk_page, live_app):
    device_id, key = make_device(live_app, "Quầy chờ")
    page = kiosk_page()
    page.goto(f"/kiosk/{key}?service={SERVICE}&lang=en")
    expect(page.locator("body")).to_have_attribute("data-queued", "0")
    page.evaluate("Object.assign(document.body.dataset, {idleMs: '600', graceMs: '60000'})")

    page.locator("#rate-form button[name='overall'][value='1']").click()
    page.locator("#stage-reasons fieldset:not([hidden]) input[type='checkbox']").first.check()
    dialog = page.get_by_role("alertdialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_role("button")).to_be_focused()
    assert page.evaluate("document.getElementById('kiosk-idle').contains(document.activeElement)")
    assert_no_axe_violations(page, "kiosk inactivity warning, en")

    dialog.get_by_role("button").click()
    expect(dialog).to_be_hidden()
    expect(page.locator("#stage-reasons")).to_be_visible()
    expect(page.locator("#stage-reasons fieldset:not([hidden]) input[type='checkbox']").first).to_be_checked()
    page.evaluate("document.body.dataset.graceMs = '1000'")

    # Warned again and left alone: the face is sent without details and the screen starts again.
    expect(dialog).to_be_visible()
    expect(page.locator("#stage-rate")).to_be_visible(timeout=5_000)
    expect(dialog).to_be_hidden()
    rows = wait_for_responses(live_app, device_id, 1)
    assert [(row.kiosk_rating, row.answers) for row in rows] == [(1, {"overall": 1})]


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_the_kiosk_has_no_axe_violations(kiosk_page, live_app, lang):
    _, key = make_device(live_app, f"Quầy axe {lang}")
    page = kiosk_page()
    page.goto(f"/kiosk/{key}?lang={lang}")
    expect(page.locator("html")).to_have_attribute("lang", lang)
    expect(page.locator("#kiosk-status")).to_be_visible()
    assert_no_axe_violations(page, f"kiosk, {lang}")

    page.locator("#kiosk-service").select_option(SERVICE)
    page.evaluate("document.body.dataset.thanksMs = '60000'")
    page.locator("#rate-form button[name='overall'][value='2']").click()
    expect(page.locator("#stage-reasons")).to_be_visible()
    assert_no_axe_violations(page, f"kiosk reasons, {lang}")
    page.locator("#kiosk-send").click()
    expect(page.locator("#stage-thanks")).to_be_visible()
    expect(page.locator("#q-thanks")).to_be_focused()
    assert_no_axe_violations(page, f"kiosk thank-you, {lang}")


def test_a_face_is_reached_and_chosen_with_the_keyboard_only(kiosk_page, live_app):
    """Tab reaches the faces, the arrow keys and End move between them, Enter and Space choose."""
    device_id, key = make_device(live_app, "Quầy bàn phím")
    page = kiosk_page()
    page.goto(f"/kiosk/{key}?service={SERVICE}&lang=en")
    expect(page.locator("body")).to_have_attribute("data-queued", "0")
    focused_face = "document.activeElement.name === 'overall' ? Number(document.activeElement.value) : null"
    for _ in range(15):
        page.keyboard.press("Tab")
        if page.evaluate(focused_face) is not None:
            break
    assert page.evaluate(focused_face) == 1, "Tab reaches the first face"
    for key_name in ("ArrowRight", "ArrowRight", "ArrowDown", "ArrowLeft", "ArrowRight"):
        page.keyboard.press(key_name)
    assert page.evaluate(focused_face) == 4
    page.keyboard.press("Enter")
    expect(page.locator("#stage-reasons")).to_be_visible()
    expect(page.locator("#q-went_well")).to_be_focused()
    page.keyboard.press("Tab")
    page.keyboard.press("Space")  # the first "what went well" chip
    while page.evaluate("document.activeElement.id") != "kiosk-send":
        page.keyboard.press("Tab")
    page.keyboard.press("Space")
    expect(page.locator("#q-thanks")).to_be_focused()
    page.keyboard.press("Tab")
    expect(page.locator("#kiosk-next")).to_be_focused()
    page.keyboard.press("Enter")  # "Next person"
    expect(page.locator("#stage-rate")).to_be_visible()

    page.keyboard.press("Tab")
    while page.evaluate(focused_face) is None:
        page.keyboard.press("Tab")
    page.keyboard.press("End")
    assert page.evaluate(focused_face) == 5
    page.keyboard.press("Home")
    page.keyboard.press("ArrowLeft")  # stays on the first face
    assert page.evaluate(focused_face) == 1
    page.keyboard.press("Space")
    expect(page.locator("#q-went_badly")).to_be_focused()
    while page.evaluate("document.activeElement.id") != "kiosk-skip":
        page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    rows = wait_for_responses(live_app, device_id, 2)
    assert sorted((row.kiosk_rating, row.answers.get("went_well")) for row in rows) == [(1, None), (4, ["on_time"])]


def test_five_large_labelled_faces_are_chosen_by_touch(kiosk_page, live_app):
    device_id, key = make_device(live_app, "Quầy chạm")
    page = kiosk_page(viewport={"width": 1024, "height": 768}, has_touch=True)
    page.goto(f"/kiosk/{key}?service={SERVICE}&lang=vi")
    expect(page.locator("body")).to_have_attribute("data-queued", "0")
    expect(faces(page)).to_have_count(5)
    for index in range(5):
        face = faces(page).nth(index)
        expect(face.locator(".kiosk-face-label")).to_be_visible()
        assert face.inner_text().strip(), "every face shows its words"
        box = face.bounding_box()
        assert box["width"] >= 96 and box["height"] >= 96, box  # well above the 44 px minimum target
    sizes = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1], sizes
    page.tap("#rate-form button[name='overall'][value='3']")
    expect(page.locator("fieldset[data-chips='went_badly']")).to_be_visible()
    expect(page.locator("fieldset[data-chips='went_well']")).to_be_hidden()
    page.tap("#stage-reasons fieldset:not([hidden]) label.kiosk-chip >> nth=1")
    page.tap("#kiosk-send")
    expect(page.locator("#stage-thanks")).to_be_visible()
    rows = wait_for_responses(live_app, device_id, 1)
    assert [(row.kiosk_rating, row.answers) for row in rows] == [(3, {"overall": 3, "went_badly": ["clear_guidance"]})]


def test_the_service_chosen_by_staff_is_remembered(kiosk_page, live_app):
    _, key = make_device(live_app, "Quầy nhớ")
    page = kiosk_page()
    page.goto(f"/kiosk/{key}")
    page.locator("#kiosk-service").select_option("construction")
    page.reload()
    expect(page.locator("#kiosk-service")).to_have_value("construction")


def test_the_kiosk_fits_a_narrow_screen_without_sideways_scrolling(kiosk_page, live_app):
    _, key = make_device(live_app, "Quầy hẹp")
    page = kiosk_page(viewport={"width": 320, "height": 640}, is_mobile=True, has_touch=True)
    page.goto(f"/kiosk/{key}?lang=en")
    sizes = page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")
    assert sizes[0] <= sizes[1], sizes
    box = page.locator("#rate-form button[name='overall']").first.bounding_box()
    assert box["height"] >= 96 and box["width"] >= 96, box


def test_a_rating_the_server_refuses_is_set_aside_and_does_not_block_the_queue(kiosk_page, live_app):
    device_id, key = make_device(live_app, "Quầy từ chối")
    page = kiosk_page()
    page.goto(f"/kiosk/{key}?lang=en")
    expect(page.locator("body")).to_have_attribute("data-queued", "0")
    # A service this office does not offer: the server answers 422, now and forever.
    page.evaluate("""() => {
        const option = document.createElement('option');
        option.value = 'outpatient'; option.textContent = 'outpatient';
        document.getElementById('kiosk-service').append(option);
    }""")
    page.locator("#kiosk-service").select_option("outpatient")
    rate(page, 3)
    page.locator("#kiosk-service").select_option(SERVICE)
    rate(page, 2)
    expect(page.locator("body")).to_have_attribute("data-rejected", "1")
    expect(page.locator("body")).to_have_attribute("data-queued", "0")
    expect(page.locator("#kiosk-status")).to_contain_text("1")
    rows = wait_for_responses(live_app, device_id, 1)
    assert [row.kiosk_rating for row in rows] == [2]
