"""Questions read aloud: uploading, reviewing, serving and the coverage of recorded clips (issue #17).

The clips in ``tests/webapp/data/audio`` are tones, not recordings (see its README).
"""

from __future__ import annotations

import hashlib
import io
import re
from pathlib import Path

import pytest
from sqlalchemy import select

from surveys import languages
from tests.conftest import csrf_from
from webapp.models import AuditEvent, Instrument
from webapp.models.audio import QuestionAudio

AUDIO = Path(__file__).parent / "data" / "audio"


def clip_bytes(name: str) -> bytes:
    return (AUDIO / name).read_bytes()


def active(db, code: str = "counter-quick") -> Instrument:
    return db.session.scalar(select(Instrument).where(Instrument.code == code, Instrument.active.is_(True)))


@pytest.fixture()
def admins(make_user, sign_in, app):
    """Two signed-in administrators: one uploads, the other reviews."""
    uploader, reviewer = make_user("admin"), make_user("admin")
    first, second = app.test_client(), app.test_client()
    sign_in(uploader, first)
    sign_in(reviewer, second)
    first.user, second.user = uploader, reviewer
    for http in (first, second):
        http.get("/?lang=en")  # messages are asserted in English (remembered in the session)
    return first, second


def upload(
    http, instrument: Instrument, *, target="item:overall", language="vi", data=None, name="clip.opus", token=None
):
    page = http.get(f"/admin/audio/instruments/{instrument.id}")
    form = {"csrf_token": token if token is not None else csrf_from(page), "target": target, "language": language}
    if data is not None:
        form["file"] = (io.BytesIO(data), name)
    return http.post(f"/admin/audio/instruments/{instrument.id}", data=form, content_type="multipart/form-data")


def review(http, clip_id: int, action: str, **form):
    token = csrf_from(http.get("/admin/audio/review"))
    return http.post(f"/admin/audio/clips/{clip_id}/{action}", data={"csrf_token": token, **form})


def clips(db) -> list[QuestionAudio]:
    db.session.expire_all()
    return list(db.session.scalars(select(QuestionAudio).order_by(QuestionAudio.id)))


def file(name: str, data: bytes | None = None) -> dict:
    """The upload arguments of a file ``name`` (its bytes from the test clips unless given)."""
    return {"name": name, "data": data if data is not None else clip_bytes(name)}


@pytest.mark.parametrize(
    ("form", "message"),
    [
        (file("tone-stereo.mp3"), "mono"),
        (file("tone-stereo.opus"), "mono"),
        (file("long-mono.mp3"), "at most 30 KB"),
        (file("too-long-mono.opus"), "between 0.3 and 30 seconds"),
        (file("clip.mp3", b"RIFF\x00\x00\x00\x00WAVEfmt " + bytes(200)), "not an Ogg Opus or MP3"),
        (file("clip.opus", b"OggS" + bytes(60)), "not an Ogg Opus or MP3"),
        (file("clip.mp3", b"ID3\x03\x00\x00\x00\x00\x00\x00" + bytes(500)), "not an Ogg Opus or MP3"),
        (file("clip.mp3", b"<svg xmlns='http://www.w3.org/2000/svg'/>"), "not an Ogg Opus or MP3"),
        ({"target": "item:nope"}, "Choose a question or answer"),
        ({"target": ""}, "Choose a question or answer"),
        ({"language": "fr"}, "Choose the language"),
        ({"data": None}, "Choose an audio file"),
    ],
)
def test_bad_uploads_are_refused_with_a_message_and_store_nothing(admins, db, form, message):
    """Files are judged by their content, never by their name; bad targets and languages are refused too."""
    first, _ = admins
    answer = upload(first, active(db), **{"data": clip_bytes("tone-mono.opus"), **form})
    assert answer.status_code == 400
    assert message in answer.get_data(as_text=True)
    assert clips(db) == []


def test_the_file_name_does_not_decide_the_type(admins, db):
    first, _ = admins
    answer = upload(first, active(db), data=clip_bytes("tone-mono.mp3"), name="clip.opus")
    assert answer.status_code == 302
    [clip] = clips(db)
    assert (clip.content_type, clip.extension, clip.status) == ("audio/mpeg", "mp3", "pending")
    assert 1400 <= clip.duration_ms <= 1700


def test_refusals_are_in_vietnamese(admins, db):
    first, _ = admins
    first.get("/?lang=vi")
    answer = upload(first, active(db), data=clip_bytes("tone-stereo.mp3"), name="x.mp3")
    assert answer.status_code == 400
    assert "đơn kênh" in answer.get_data(as_text=True)


def test_upload_without_csrf_is_refused(admins, db):
    first, _ = admins
    answer = upload(first, active(db), data=clip_bytes("tone-mono.opus"), token="")
    assert answer.status_code == 400
    assert clips(db) == []


def test_four_eyes_review_and_replacement(admins, db):
    first, second = admins
    instrument = active(db)
    assert upload(first, instrument, data=clip_bytes("tone-mono.opus")).status_code == 302
    [clip] = clips(db)
    # The uploader may not approve their own clip, and nothing changes.
    answer = review(first, clip.id, "approve")
    assert answer.status_code == 403
    assert "another administrator" in answer.get_data(as_text=True)
    assert clips(db)[0].status == "pending"
    # Not served while pending.
    assert second.get(f"/audio/{clip.sha256}.opus").status_code == 404
    assert review(second, clip.id, "approve").status_code == 302
    assert clips(db)[0].status == "approved"
    # A second approval of the same clip is refused.
    assert review(second, clip.id, "approve").status_code == 409
    # A new clip for the same target replaces the approved one only once it is approved.
    assert upload(first, instrument, data=clip_bytes("tone-mono.mp3"), name="v2.mp3").status_code == 302
    old, new = clips(db)
    assert (old.status, new.status) == ("approved", "pending")
    assert review(second, new.id, "approve").status_code == 302
    old, new = clips(db)
    assert (old.status, new.status) == ("replaced", "approved")
    actions = [
        event.action for event in db.session.scalars(select(AuditEvent).where(AuditEvent.action.like("audio.%")))
    ]
    assert actions == ["audio.upload", "audio.approve", "audio.upload", "audio.approve"]


def test_rejection_needs_a_reason_and_is_audited(admins, db):
    first, second = admins
    upload(first, active(db), data=clip_bytes("tone-mono.opus"))
    [clip] = clips(db)
    answer = review(second, clip.id, "reject", reason="  ")
    assert answer.status_code == 400
    assert "Say why" in answer.get_data(as_text=True)
    assert clips(db)[0].status == "pending"
    assert review(second, clip.id, "reject", reason="Tiếng ồn ở cuối").status_code == 302
    [clip] = clips(db)
    assert (clip.status, clip.reason) == ("rejected", "Tiếng ồn ở cuối")
    [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "audio.reject")).all()
    assert event.detail == "Tiếng ồn ở cuối"


def test_review_without_csrf_is_refused(admins, db):
    first, second = admins
    upload(first, active(db), data=clip_bytes("tone-mono.opus"))
    [clip] = clips(db)
    assert second.post(f"/admin/audio/clips/{clip.id}/approve").status_code == 400
    assert clips(db)[0].status == "pending"


@pytest.mark.parametrize("role", ["agency_manager", "viewer"])
def test_only_administrators_use_the_audio_pages(make_user, sign_in, client, db, role):
    user = make_user(role, "sl-ttpvhcc")
    sign_in(user)
    instrument = active(db)
    for path in ("/admin/audio/", "/admin/audio/review", f"/admin/audio/instruments/{instrument.id}"):
        assert client.get(path).status_code == 403


def test_anonymous_visitors_are_sent_to_sign_in(client, registry, db):
    answer = client.get("/admin/audio/")
    assert answer.status_code == 302
    assert "/auth/login" in answer.headers["Location"]


def approved_clip(admins, db, *, name="tone-mono.opus", target="item:overall", language="vi", instrument=None):
    first, second = admins
    upload(first, instrument or active(db), data=clip_bytes(name), name=name, target=target, language=language)
    clip = clips(db)[-1]
    assert review(second, clip.id, "approve").status_code == 302
    return clips(db)[-1]


def test_approved_clips_are_served_immutable_with_ranges(admins, db, client):
    clip = approved_clip(admins, db)
    data = clip_bytes("tone-mono.opus")
    assert clip.sha256 == hashlib.sha256(data).hexdigest()
    answer = client.get(f"/audio/{clip.sha256}.opus")
    assert answer.status_code == 200
    assert answer.data == data
    assert answer.headers["Content-Type"] == "audio/ogg"
    assert answer.headers["Content-Length"] == str(len(data))
    assert "immutable" in answer.headers["Cache-Control"] and "public" in answer.headers["Cache-Control"]
    assert answer.headers["Accept-Ranges"] == "bytes"
    part = client.get(f"/audio/{clip.sha256}.opus", headers={"Range": "bytes=0-99"})
    assert part.status_code == 206
    assert part.data == data[:100]
    assert part.headers["Content-Range"] == f"bytes 0-99/{len(data)}"
    # Another extension, an unknown hash: not found.
    assert client.get(f"/audio/{clip.sha256}.mp3").status_code == 404
    assert client.get(f"/audio/{'0' * 64}.opus").status_code == 404
    assert client.get("/audio/short.opus").status_code == 404


def test_coverage_shows_which_texts_lack_audio(admins, db):
    first, _ = admins
    instrument = active(db)
    approved_clip(admins, db)
    page = first.get(f"/admin/audio/instruments/{instrument.id}").get_data(as_text=True)
    rows = re.findall(r"<tr>\s*<th scope=\"row\"><code>([^<]+)</code>.*?</tr>", page, re.S)
    assert "overall" in rows and "title" in rows
    spoken = len(languages.codes())  # Vietnamese, English and the language packs
    overall = re.search(r"<code>overall</code>.*?</tr>", page, re.S).group(0)
    assert "<audio controls" in overall and overall.count("Missing") == spoken - 1  # every other language missing
    title = re.search(r"<code>title</code>.*?</tr>", page, re.S).group(0)
    assert title.count("Missing") == spoken
    overview = first.get("/admin/audio/").get_data(as_text=True)
    assert "1 of " in overview


def test_audio_clips_gives_the_approved_clips_of_a_version_in_a_language(admins, db, app):
    from surveys.stored import definition_of
    from webapp.audio import audio_clips

    clip = approved_clip(admins, db)
    instrument = active(db)
    with app.test_request_context("/"):
        assert audio_clips(instrument, "vi") == {"item:overall": f"/audio/{clip.sha256}.opus"}
        assert audio_clips(definition_of(instrument), "vi") == {"item:overall": f"/audio/{clip.sha256}.opus"}
        assert audio_clips(instrument, "en") == {}


def test_carry_over_copies_clips_of_unchanged_texts(admins, db, runner):
    """counter-quick v2 keeps v1's title and question but gives the value 2 another answer (three faces became five)."""
    old, new = db.session.scalars(
        select(Instrument).where(Instrument.code == "counter-quick").order_by(Instrument.version)
    ).all()
    assert new.active
    approved_clip(admins, db, instrument=old, target="title")
    approved_clip(admins, db, instrument=old, target="item:overall", name="tone-mono.mp3")
    approved_clip(admins, db, instrument=old, target="option:overall:2")
    result = runner.invoke(args=["audio", "carry-over", "counter-quick"])
    assert result.exit_code == 0, result.output
    copied = [clip for clip in clips(db) if clip.instrument_id == new.id]
    assert sorted(clip.target for clip in copied) == ["item:overall", "title"]
    assert all(clip.status == "approved" for clip in copied)
    # Twice changes nothing.
    runner.invoke(args=["audio", "carry-over", "counter-quick"])
    assert len([clip for clip in clips(db) if clip.instrument_id == new.id]) == 2


# --- the kiosk and the online survey ---------------------------------------------------------


def stored_responses(db):
    from webapp.models import Response

    db.session.expire_all()
    return list(db.session.scalars(select(Response).order_by(Response.id)))


def test_kiosk_submissions_carry_read_aloud_and_language(client, db, make_device, kiosk_body):
    _, key = make_device()
    headers = {"X-Device-Key": key}
    assert client.post("/api/v1/responses", json=kiosk_body(), headers=headers).status_code == 201
    assert client.post("/api/v1/responses", json=kiosk_body(read_aloud=True), headers=headers).status_code == 201
    assert (
        client.post("/api/v1/responses", json=kiosk_body(read_aloud=False, language="en"), headers=headers).status_code
        == 201
    )
    batch = {"responses": [kiosk_body(read_aloud=True, language="en")]}
    answer = client.post("/api/v1/responses/batch", json=batch, headers=headers)
    assert answer.json["results"][0]["status"] == 201
    assert [(r.mode, r.language) for r in stored_responses(db)] == [
        ("self", "vi"),
        ("read_aloud", "vi"),
        ("self", "en"),
        ("read_aloud", "en"),
    ]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"read_aloud": "yes"}, "read_aloud"),
        ({"read_aloud": 1}, "read_aloud"),
        ({"language": "xx"}, "language"),
        ({"language": ""}, "language"),
        ({"language": 5}, "language"),
        ({"mode": "read_aloud"}, "mode"),
    ],
)
def test_bad_read_aloud_or_language_is_refused(client, db, make_device, kiosk_body, overrides, field):
    _, key = make_device()
    answer = client.post(
        "/api/v1/responses", json=kiosk_body(**overrides), headers={"X-Device-Key": key, "Accept-Language": "vi"}
    )
    assert answer.status_code == 422
    assert answer.json["error"]["field"] == field
    assert answer.json["error"]["message"]
    assert stored_responses(db) == []


def test_kiosk_page_offers_the_listen_button_only_with_a_recording(admins, db, client, make_device):
    _, key = make_device()
    page = client.get(f"/kiosk/{key}").get_data(as_text=True)
    assert "<audio" not in page
    clip = approved_clip(admins, db)
    page = client.get(f"/kiosk/{key}").get_data(as_text=True)
    assert f'<audio id="audio-item-overall" class="kiosk-audio" preload="none" src="/audio/{clip.sha256}.opus">' in page
    assert 'aria-label="Listen to the question: ' in page or 'aria-label="Nghe câu hỏi: ' in page
    worker = client.get("/kiosk/sw.js").get_data(as_text=True)
    assert f"/audio/{clip.sha256}.opus" in worker


def test_kiosk_form_without_javascript_records_read_aloud(client, db, make_device):
    _, key = make_device()
    page = client.get(f"/kiosk/{key}?service=land")
    answer = client.post(
        f"/kiosk/{key}",
        data={
            "csrf_token": csrf_from(page),
            "service": "land",
            "overall": "5",
            "read_aloud": "1",
            "client_id": "6b0b0c36-5a43-4a4e-8f3a-9a1e4fbd0001",
        },
    )
    assert answer.status_code == 200
    [response] = stored_responses(db)
    assert response.mode == "read_aloud"
