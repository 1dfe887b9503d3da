"""Questions read aloud in a real Chromium (issue #17): the kiosk plays an approved recording from its
"Nghe" (listen) button, by keyboard, online and offline, and the online survey shows the same button.

The clips are tones from ``tests/webapp/data/audio`` (see its README), approved by a second administrator.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from tests.browser.axe import assert_no_axe_violations
from tests.browser.conftest import ensure_staff
from tests.browser.test_kiosk import SERVICE, make_device

AUDIO = Path(__file__).resolve().parents[1] / "webapp" / "data" / "audio"
QUESTION = "#stage-rate button[data-listen='item-overall']"
#: Waits for the next 'playing' (or 'error') event of the question's audio element; the result lands in window.audioState.
WATCH = """(id) => {
  window.audioState = null;
  const audio = document.getElementById(id);
  audio.addEventListener('playing', () => { window.audioState = 'playing'; }, { once: true });
  audio.addEventListener('error', () => { window.audioState = 'error ' + (audio.error && audio.error.code); }, { once: true });
}"""


@pytest.fixture(scope="module")
def recordings(live_app) -> Iterator[dict[str, str]]:
    """Approved recordings of counter-quick's question and of its fifth face, in Vietnamese: ``{target: url}``."""
    from webapp.audio import service
    from webapp.extensions import db
    from webapp.models import Instrument, User

    with live_app.app_context(), live_app.test_request_context("/"):
        ensure_staff("audio-uploader@sonla.gov.vn")
        ensure_staff("audio-reviewer@sonla.gov.vn")
        uploader = db.session.scalar(select(User).where(User.email == "audio-uploader@sonla.gov.vn"))
        reviewer = db.session.scalar(select(User).where(User.email == "audio-reviewer@sonla.gov.vn"))
        instrument = db.session.scalar(
            select(Instrument).where(Instrument.code == "counter-quick", Instrument.active.is_(True))
        )
        for target, name in (("item:overall", "tone-mono.opus"), ("option:overall:5", "tone-mono.mp3")):
            if target not in service.clip_urls(instrument, "vi"):
                clip = service.upload(instrument, target, "vi", (AUDIO / name).read_bytes(), actor=uploader)
                service.approve(clip, actor=reviewer)
        db.session.commit()
        urls = service.clip_urls(instrument, "vi")
        db.session.remove()
    yield urls
    # The other browser tests share the live application: leave them a kiosk without recordings.
    from webapp.models.audio import QuestionAudio

    with live_app.app_context():
        db.session.execute(QuestionAudio.__table__.delete())
        db.session.commit()
        db.session.remove()


def read_aloud_modes(live_app, device_id: int) -> list[str]:
    from webapp.extensions import db
    from webapp.models import Response

    with live_app.app_context():
        modes = list(db.session.scalars(select(Response.mode).where(Response.device_id == device_id)))
        db.session.remove()
    return modes


def audio_state(page, timeout: float = 10) -> str | None:
    """What the watched audio element did: 'playing', 'error <code>', or None if nothing within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    state = page.evaluate("() => window.audioState")
    while state is None and time.monotonic() < deadline:
        time.sleep(0.1)
        state = page.evaluate("() => window.audioState")
    return state


def press_listen_and_wait(page) -> str | None:
    page.evaluate(WATCH, "audio-item-overall")
    page.keyboard.press("Enter")
    return audio_state(page)


def tab_to(page, selector: str, tabs: int = 30) -> None:
    for _ in range(tabs):
        page.keyboard.press("Tab")
        if page.evaluate("(s) => document.activeElement.matches(s)", selector):
            return
    pytest.fail(f"Tab never reached {selector}")


def test_the_kiosk_plays_the_recording_by_keyboard_online_and_offline(browser, live_server, live_app, recordings):
    from tests.browser.conftest import open_page

    device_id, key = make_device(live_app, "Quầy nghe")
    page = open_page(browser, live_server, service_workers="allow")
    try:
        context = page.context
        page.goto(f"/kiosk/{key}?service={SERVICE}&lang=vi")
        expect(page.locator("body")).to_have_attribute("data-offline-ready", "true")
        listen = page.locator(QUESTION)
        expect(listen).to_be_visible()
        expect(listen).to_have_accessible_name(re.compile(r"^Nghe câu hỏi: \S"))
        box = listen.bounding_box()
        assert box["width"] >= 48 and box["height"] >= 48, "a large touch target"
        audio = page.locator("#audio-item-overall")
        assert audio.get_attribute("src") == recordings["item:overall"]
        assert audio.get_attribute("preload") == "none"
        # The fifth face has its own recording; faces without one have no button (no Vietnamese voice here).
        expect(page.locator("#stage-rate button[data-listen='option-overall-5']")).to_be_visible()
        assert_no_axe_violations(page, "kiosk with listen buttons")

        tab_to(page, QUESTION)
        assert press_listen_and_wait(page) == "playing"
        assert page.evaluate("document.getElementById('audio-item-overall').currentSrc").endswith(
            recordings["item:overall"]
        )
        assert page.evaluate("document.getElementById('audio-item-overall').paused") is False

        # The rating given after listening is stored as read aloud.
        page.locator("#rate-form button[name='overall'][value='5']").click()
        page.locator("#kiosk-skip").click()
        expect(page.locator("#stage-thanks")).to_be_visible()
        deadline = time.monotonic() + 20
        while not read_aloud_modes(live_app, device_id) and time.monotonic() < deadline:
            time.sleep(0.25)
        assert read_aloud_modes(live_app, device_id) == ["read_aloud"]

        # Offline: the page and the recording come from the service worker's cache.
        context.set_offline(True)
        reloaded = page.reload()
        assert reloaded is not None and reloaded.from_service_worker
        expect(page.locator(QUESTION)).to_be_visible()
        tab_to(page, QUESTION)
        assert press_listen_and_wait(page) == "playing"
        assert page.evaluate("document.getElementById('audio-item-overall').paused") is False
        # The fifth face's recording was never played online: the service worker stored it when it installed.
        assert page.evaluate("async (url) => Boolean(await caches.match(url))", recordings["option:overall:5"])
        page.evaluate(WATCH, "audio-option-overall-5")
        page.locator("#stage-rate button[data-listen='option-overall-5']").focus()
        page.keyboard.press("Enter")
        assert audio_state(page) == "playing"
    finally:
        page.context.close()


def test_without_recordings_or_voices_the_kiosk_shows_no_listen_button(browser, live_server, live_app, recordings):
    from tests.browser.conftest import open_page

    _, key = make_device(live_app, "Quầy không nghe")
    page = open_page(browser, live_server)
    try:
        page.goto(f"/kiosk/{key}?service={SERVICE}&lang=en")  # recordings are Vietnamese only
        expect(page.locator("#rate-form button[name='overall']")).to_have_count(5)
        expect(page.locator("button[data-listen]:visible")).to_have_count(0)
    finally:
        page.context.close()


def test_the_online_survey_shows_the_listen_button(page, live_app, recordings):
    page.goto(f"/survey/sl-ttpvhcc/counter-quick?service={SERVICE}&lang=vi")
    listen = page.locator("button[data-listen='item-overall']")
    expect(listen).to_be_visible()
    expect(listen).to_have_accessible_name(re.compile(r"^Nghe câu hỏi: \S"))
    assert page.locator("#audio-item-overall").get_attribute("src") == recordings["item:overall"]
    # Only the question and the answer that have a recording (no Vietnamese voice in this browser).
    expect(page.locator("button[data-listen]:visible")).to_have_count(2)
    assert_no_axe_violations(page, "online survey with listen buttons")
    page.evaluate(WATCH, "audio-item-overall")
    listen.focus()
    page.keyboard.press("Enter")
    assert audio_state(page) == "playing"
    # The form tells the server that the questions were read aloud.
    assert page.locator("input[name='read_aloud']").input_value() == "1"
