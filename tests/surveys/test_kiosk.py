"""The counter kiosk page (``/kiosk/<device_key>``), its no-JavaScript form, manifest and service worker.

Assertions rest on structure, attributes and status codes, never on Vietnamese wording.
"""

from __future__ import annotations

import json
import re
from datetime import date

import pytest
from bs4 import BeautifulSoup
from sqlalchemy import func, select

from surveys import definitions
from tests.pages import check_page
from webapp.models import Response, ResponseScore


def stored(db, **where) -> list[Response]:
    db.session.expire_all()
    return list(db.session.scalars(select(Response).filter_by(**where)))


def count(db) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count()).select_from(Response))


def form_fields(soup: BeautifulSoup) -> dict[str, str]:
    form = soup.find("form", id="rate-form")
    return {field["name"]: field.get("value", "") for field in form.find_all("input", type="hidden")}


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_a_valid_key_shows_five_labelled_faces_and_the_services_of_its_unit(client, make_device, unit_by_code, lang):
    device, key = make_device()
    response = client.get(f"/kiosk/{key}?lang={lang}")
    soup = check_page(response, lang=lang)
    body = soup.body
    assert body["data-device-key"] == key
    assert body["data-unit"] == "sl-ttpvhcc"
    assert body["data-instrument"] == "counter-quick"
    assert body["data-api"] == "/api/v1/responses"
    for timing in ("data-idle-ms", "data-grace-ms", "data-thanks-ms", "data-sync-ms"):
        assert int(body[timing]) > 0
    # No inline script or style: a strict CSP must be possible.
    assert not soup.find_all(style=True) and not soup.find_all("style")
    scripts = soup.find_all("script")
    assert scripts
    for script in scripts:
        assert script.get("src") or script.get("type") == "application/json", script
    texts = json.loads(soup.find("script", id="kiosk-text").string)
    assert {"online", "offline", "queued", "rejected", "inactive", "idle"} <= set(texts)

    form = soup.find("form", id="rate-form")
    assert form["method"] == "post" and form["action"] == f"/kiosk/{key}"
    assert form_fields(soup)["csrf_token"]
    faces = form.find_all("button", attrs={"name": "overall"})
    # The five faces of the latest counter-quick version, in its order, each with its own words.
    overall = definitions.latest_instruments()["counter-quick"].item("overall")
    assert [face["value"] for face in faces] == ["1", "2", "3", "4", "5"]
    assert [face.get_text(strip=True) for face in faces] == [option.label.get(lang) for option in overall.options]
    for face, option in zip(faces, overall.options, strict=True):
        assert face["type"] == "submit"
        image = face.find("img")
        assert image["alt"] == "" and image["src"].startswith(f"/kiosk/static/kiosk/{option.pictogram}.svg")
    # Satisfied faces open "what went well", the others "what did not".
    assert [face["data-chips"] for face in faces] == ["went_badly"] * 3 + ["went_well"] * 2
    # Only the unit's services that the quick rating can be about, in a labelled picker.
    picker = soup.find("select", id="kiosk-service")
    assert picker["form"] == "rate-form" and picker.has_attr("required")
    # … offered today: the groups that ended with the 2025 department mergers are not in it.
    offered = {
        service.code for service in unit_by_code("sl-ttpvhcc").services_on(date.today()) if service.sector == "admin"
    }
    assert "transport" not in offered and "construction" in offered
    assert {option["value"] for option in picker.find_all("option") if option["value"]} == offered
    # The chips of both lists are there for the script, hidden until a face is chosen.
    for code in ("went_well", "went_badly"):
        chips = soup.find("fieldset", attrs={"data-chips": code})
        assert chips.has_attr("hidden")
        assert len(chips.find_all("input", type="checkbox")) == 6
    dialog = soup.find("dialog", id="kiosk-idle")
    assert dialog["role"] == "alertdialog" and dialog["aria-labelledby"] and dialog["aria-describedby"]
    assert soup.find("link", rel="manifest")["href"] == f"/kiosk/{key}/manifest.webmanifest"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert "no-store" in response.headers["Cache-Control"]


def test_the_service_in_the_address_is_preselected(client, make_device):
    _, key = make_device()
    soup = check_page(client.get(f"/kiosk/{key}?service=land"))
    assert soup.find("option", value="land").has_attr("selected")
    assert soup.body["data-service-from-url"] == "true"


def test_unknown_and_revoked_keys_are_refused(client, db, make_device):
    from surveys.devices import revoke_device

    device, key = make_device()
    for url in ("/kiosk/not-a-real-key", f"/kiosk/{key}x"):
        soup = check_page(client.get(url), status=404)
        assert not soup.find("form") and not soup.find("script")
        assert key not in str(soup)
    revoke_device(device)
    db.session.commit()
    soup = check_page(client.get(f"/kiosk/{key}"), status=404)
    assert not soup.find("form")
    assert client.get(f"/kiosk/{key}/manifest.webmanifest").status_code == 404
    page = client.get("/kiosk/not-a-real-key")
    assert page.headers["Referrer-Policy"] == "no-referrer"


def test_the_form_without_javascript_stores_exactly_one_kiosk_response(client, db, make_device):
    device, key = make_device()
    soup = check_page(client.get(f"/kiosk/{key}?lang=en"))
    fields = form_fields(soup)
    answer = {**fields, "service": "land", "overall": "1"}
    response = client.post(f"/kiosk/{key}", data=answer)
    thanks = check_page(response, lang="en")
    assert thanks.find("a", href=f"/kiosk/{key}?service=land")
    assert thanks.body["data-mode"] == "thanks"

    rows = stored(db)
    assert len(rows) == 1
    row = rows[0]
    assert row.channel == "kiosk" and row.device_id == device.id and row.counter_id == device.counter_id
    assert row.unit_id == device.counter.unit_id and row.service.code == "land"
    assert row.kiosk_rating == 1 and row.answers == {"overall": 1}
    assert str(row.client_id) == fields["client_id"]
    assert row.instrument.code == "counter-quick" and row.instrument.version == 2

    # Pressing the button twice (the same form sent again) stores nothing more.
    again = client.post(f"/kiosk/{key}", data=answer)
    assert again.status_code == 200
    assert count(db) == 1


@pytest.mark.parametrize(("face", "satisfied"), [(1, 0), (2, 0), (3, 0), (4, 1), (5, 1)])
def test_each_of_the_five_faces_is_stored_and_scored_on_the_five_point_scale(client, db, make_device, face, satisfied):
    _, key = make_device()
    fields = form_fields(check_page(client.get(f"/kiosk/{key}")))
    check_page(client.post(f"/kiosk/{key}", data={**fields, "service": "land", "overall": str(face)}))
    [row] = stored(db)
    assert row.kiosk_rating == face and row.answers == {"overall": face}
    scores = {
        score.metric: score.satisfied
        for score in db.session.scalars(select(ResponseScore).filter_by(response_id=row.id))
    }
    # Counted in sat-agencies (4 and 5 satisfied), never in the three-face series.
    assert scores == {"sat-agencies": satisfied}


@pytest.mark.parametrize("face", ["0", "6"])
def test_a_face_outside_one_to_five_is_refused_with_a_localized_message(client, db, make_device, face):
    _, key = make_device()
    fields = form_fields(check_page(client.get(f"/kiosk/{key}?lang=en")))
    response = client.post(f"/kiosk/{key}?lang=en", data={**fields, "service": "land", "overall": face})
    soup = check_page(response, status=422, lang="en")
    assert soup.find(attrs={"role": "alert"}).get_text(strip=True) == "Choose one of the faces."
    vietnamese = client.post(f"/kiosk/{key}?lang=vi", data={**fields, "service": "land", "overall": face})
    alert = check_page(vietnamese, status=422, lang="vi").find(attrs={"role": "alert"}).get_text(strip=True)
    assert alert and alert != "Choose one of the faces."
    assert count(db) == 0


@pytest.mark.parametrize(
    "change",
    [
        {"overall": "0"},
        {"overall": "6"},
        {"overall": "4.5"},
        {"overall": ""},
        {"service": "outpatient"},
        {"service": ""},
    ],
)
def test_the_form_refuses_a_bad_face_or_service(client, db, make_device, change):
    _, key = make_device()
    fields = form_fields(check_page(client.get(f"/kiosk/{key}")))
    response = client.post(f"/kiosk/{key}", data={**fields, "service": "land", "overall": "3", **change})
    soup = check_page(response, status=422)
    assert soup.find(attrs={"role": "alert"})
    assert count(db) == 0


def test_the_form_needs_its_csrf_token(client, db, make_device):
    _, key = make_device()
    fields = form_fields(check_page(client.get(f"/kiosk/{key}")))
    del fields["csrf_token"]
    response = client.post(f"/kiosk/{key}", data={**fields, "service": "land", "overall": "3"})
    assert response.status_code == 400
    assert count(db) == 0


def test_an_unknown_key_cannot_post_a_rating(client, db, make_device):
    _, key = make_device()
    fields = form_fields(check_page(client.get(f"/kiosk/{key}")))
    response = client.post("/kiosk/not-a-real-key", data={**fields, "service": "land", "overall": "3"})
    assert response.status_code == 404
    assert count(db) == 0


def test_the_form_is_rate_limited_per_device(client, db, make_device):
    from surveys.kiosk import FORM_RATE_LIMIT

    _, key = make_device()
    per_minute = int(re.match(r"(\d+)/minute", FORM_RATE_LIMIT).group(1))
    fields = form_fields(check_page(client.get(f"/kiosk/{key}")))
    statuses = [
        client.post(f"/kiosk/{key}", data={**fields, "service": "land", "overall": "2"}).status_code
        for _ in range(per_minute + 1)
    ]
    assert statuses[:per_minute] == [200] * per_minute
    assert statuses[-1] == 429
    assert count(db) == 1  # one client_id: the repeats were duplicates


def test_the_manifest_opens_this_kiosk_full_screen(client, make_device):
    _, key = make_device()
    response = client.get(f"/kiosk/{key}/manifest.webmanifest?lang=en")
    assert response.status_code == 200
    assert response.mimetype == "application/manifest+json"
    manifest = response.get_json(force=True)
    assert manifest["start_url"] == f"/kiosk/{key}"
    assert manifest["scope"] == "/kiosk/"
    assert manifest["display"] == "fullscreen" and manifest["lang"] == "en"
    assert manifest["name"] and manifest["short_name"]
    icon = manifest["icons"][0]
    assert client.get(icon["src"]).status_code == 200


def test_the_service_worker_is_served_for_the_kiosk_scope(client, db):
    response = client.get("/kiosk/sw.js")
    assert response.status_code == 200
    assert response.mimetype == "text/javascript"
    assert response.headers["Service-Worker-Allowed"] == "/kiosk/"
    assert "no-cache" in response.headers["Cache-Control"]
    source = response.get_data(as_text=True)
    settings = json.loads(re.match(r"const KIOSK = (\{.*\});\n", source).group(1))
    assert settings["scope"] == "/kiosk/" and settings["cache"].startswith("kiosk-")
    # Every asset the worker stores is really there.
    assert settings["assets"]
    for asset in settings["assets"]:
        assert client.get(asset).status_code == 200, asset


def test_the_whole_kiosk_stays_light(client, make_device):
    """Page, script, style sheet and pictograms: well under 100 KB uncompressed."""
    _, key = make_device()
    page = client.get(f"/kiosk/{key}")
    soup = BeautifulSoup(page.get_data(as_text=True), "html.parser")
    urls = {
        tag.get("src") or tag.get("href")
        for tag in soup.find_all(["script", "link", "img"])
        if tag.get("src") or tag.get("href")
    }
    total = len(page.get_data())
    for url in urls:
        total += len(client.get(url).get_data())
    total += len(client.get("/kiosk/sw.js").get_data())
    assert total < 60_000, total
