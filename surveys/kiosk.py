"""The counter kiosk: ``/kiosk/<device_key>``, a small offline-first web app.

One page per device. Citizens tap one of five labelled faces (the ``overall`` item of the
active ``counter-quick`` version: 1 Rất không hài lòng … 5 Rất hài lòng, in the order of its
options), may tick "what went well / what did not" chips, and see a thank-you screen that
resets itself for the next person. The faces are buttons with their words: Tab and the arrow
keys move between them, Enter or Space chooses, a tap chooses.

* **With JavaScript** (``static/kiosk/kiosk.js``) the rating goes into an IndexedDB queue
  and is sent to ``POST /api/v1/responses`` with the ``X-Device-Key`` header whenever the
  network allows; a service worker (``/kiosk/sw.js``, scope ``/kiosk/``) keeps the page
  and its assets so the kiosk reloads while offline.
* **Read aloud** (``static/kiosk/listen.js``): a large "Nghe" (listen) button beside the
  question and each face plays the approved recording of that text in the kiosk's language
  (:func:`webapp.audio.audio_clips`), or speaks it with the tablet's Vietnamese voice where
  there is no recording; the service worker keeps the active version's recordings for offline
  use. Without JavaScript, or with neither a recording nor a voice, no button is shown. A
  rating given after a listen button was used is sent with ``read_aloud`` (mode ``read_aloud``).
* **Without JavaScript** the faces are submit buttons of a real form that posts here
  (CSRF-protected, rate limited per device) and stores the rating server-side. Only the
  values of the instrument's options are accepted.

Service choice: the staff of the counter sets the service once in the compact picker at
the top of the page (remembered in the tablet's ``localStorage``; ``?service=CODE`` in the
kiosk's address preselects it, which also works without JavaScript). A unit offering a
single service shows no picker. Only services of the instrument's sector are offered.

Timings (``data-idle-ms``, ``data-grace-ms``, ``data-thanks-ms``, ``data-sync-ms`` on the
``<body>``) are read by the script each time it starts a timer.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, abort, current_app, render_template, request, url_for
from flask_babel import gettext as _
from markupsafe import escape

from surveys import definitions
from surveys.devices import awaiting_approval, find_active_device
from surveys.registry_cache import registry_view
from surveys.stored import definition_of
from surveys.submission import Submission, SubmissionRejected, overall_satisfied, submit_response, touch_device
from webapp.access import DEVICE, declare_access
from webapp.audio import audio_clips
from webapp.audio.service import active_clip_urls
from webapp.extensions import db, limiter
from webapp.i18n import DEFAULT_TIMEZONE, current_language
from webapp.periods import vietnam_today

kiosk = declare_access(
    Blueprint(
        "kiosk",
        __name__,
        url_prefix="/kiosk",
        template_folder="templates",
        static_folder="static",
        static_url_path="/static",
    ),
    DEVICE,
)

INSTRUMENT = "counter-quick"
STATIC_DIR = Path(__file__).resolve().parent / "static" / "kiosk"
#: Assets the service worker stores when it installs (relative to ``static/``).
ASSETS = (
    "kiosk/kiosk.css",
    "kiosk/kiosk.js",
    "kiosk/icon.svg",
    "kiosk/face-very-unhappy.svg",
    "kiosk/face-unhappy.svg",
    "kiosk/face-neutral.svg",
    "kiosk/face-happy.svg",
    "kiosk/face-very-happy.svg",
    "kiosk/clock.svg",
    "kiosk/guidance.svg",
    "kiosk/staff.svg",
    "kiosk/one-trip.svg",
    "kiosk/fees.svg",
    "kiosk/no-bribe.svg",
    "kiosk/listen.js",
)
#: The site's own static files the kiosk uses (kiosk.css names the Tai Viet font): kept offline too.
SITE_ASSETS = ("fonts/NotoSansTaiViet-Regular.subset.woff2",)
#: Milliseconds: warn after this much inactivity once a face was chosen, reset after a further
#: ``GRACE_MS``; the thank-you screen resets after ``THANKS_MS``; the queue is retried every ``SYNC_MS``.
IDLE_MS, GRACE_MS, THANKS_MS, SYNC_MS = 30_000, 20_000, 5_000, 30_000
#: The no-JavaScript form: per device key (people, not machines, press these buttons).
FORM_RATE_LIMIT = "20/minute;300/hour"


@lru_cache(maxsize=1)
def asset_version() -> str:
    """A short hash of every kiosk asset and of the service worker: changes when any changes."""
    digest = hashlib.sha256()
    for name in (*ASSETS, "kiosk/sw.js"):
        digest.update(name.encode())
        digest.update((STATIC_DIR.parent / name).read_bytes())
    return digest.hexdigest()[:12]


def asset_url(name: str) -> str:
    """The versioned address of a kiosk asset (the service worker caches it under this address)."""
    return url_for("kiosk.static", filename=name, v=asset_version())


@kiosk.context_processor
def _template_helpers() -> dict:
    return {"asset_url": asset_url}


def _instrument() -> definitions.Instrument:
    """The active ``counter-quick`` version (the one submissions without a version are stored against)."""
    return definition_of(registry_view().active[INSTRUMENT])


def _device_or_refuse(device_key: str):
    """The active device of ``device_key`` whose counter is open and whose unit still exists; else a 404 page."""
    device = find_active_device(device_key)
    today = datetime.now(ZoneInfo(DEFAULT_TIMEZONE)).date()
    if device is None or not device.counter.active or not device.counter.unit.valid_on(today):
        abort(_refused())
    return device


def _refused() -> Response:
    pending = awaiting_approval((request.view_args or {}).get("device_key"))  # say "wait", not "unknown"
    response = Response(render_template("kiosk/refused.html", pending=pending), status=404, mimetype="text/html")
    return _private(response)


def _private(response: Response) -> Response:
    """The device key is in the address: never leak it, never let a shared cache keep the page."""
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    return response


def _services(device) -> list:
    """The services the device's unit offers that the quick rating can be about."""
    sector = _instrument().sector
    return [service for service in device.counter.unit.services_on(vietnam_today()) if service.sector == sector]


def _page(
    device, device_key: str, *, status: int = 200, error: str | None = None, chosen: str | None = None
) -> Response:
    instrument = _instrument()
    services = _services(device)
    if not services:
        abort(_refused())
    codes = {service.code for service in services}
    if chosen not in codes:
        chosen = request.args.get("service") if request.args.get("service") in codes else None
    if len(services) == 1:
        chosen = services[0].code
    lang = current_language()
    overall = instrument.item("overall")
    clips = audio_clips(instrument, lang)
    faces = [
        {
            "value": option.value,
            "label": option.label.get(lang),
            "clip": clips.get(f"option:overall:{option.value}"),
            "pictogram": option.pictogram,
            "image": asset_url(f"kiosk/{option.pictogram}.svg"),
            # The chips that follow: what went well after a satisfied face, what did not otherwise.
            "chips": "went_well" if overall_satisfied(instrument, option.value) else "went_badly",
        }
        for option in overall.options
    ]
    chips = {
        code: {
            "text": instrument.item(code).text.get(lang),
            "options": [
                {
                    "value": option.value,
                    "label": option.label.get(lang),
                    "image": asset_url(f"kiosk/{option.pictogram}.svg"),
                }
                for option in instrument.item(code).options
            ],
        }
        for code in ("went_well", "went_badly")
    }
    texts = {
        "online": _("Online"),
        "offline": _("No connection"),
        "queued": _("Waiting to send: %(count)s", count="{n}"),
        "rejected": _("Refused by the server: %(count)s", count="{n}"),
        "inactive": _("This kiosk is not active. Ratings are kept on this tablet; please tell the office."),
        "offline_ready": _("Works offline"),
        "idle": _(
            "If you do nothing, your rating will be sent without details and the screen will go back to the start in %(seconds)s seconds.",
            seconds="{n}",
        ),
    }
    html = render_template(
        "kiosk/kiosk.html",
        device=device,
        device_key=device_key,
        instrument=instrument,
        question=overall.text.get(lang),
        question_clip=clips.get("item:overall"),
        faces=faces,
        chips=chips,
        services=services,
        chosen=chosen,
        texts=texts,
        error=error,
        client_id=uuid.uuid4(),
        timings={"idle": IDLE_MS, "grace": GRACE_MS, "thanks": THANKS_MS, "sync": SYNC_MS},
        cache_name=f"kiosk-{asset_version()}",
    )
    return _private(Response(html, status=status, mimetype="text/html"))


@kiosk.get("/<device_key>")
def page(device_key: str):
    """The kiosk page of one device; an unknown or revoked key gets a plain refusal (404)."""
    device = _device_or_refuse(device_key)
    # Opening the page is a contact with the server: queued ratings from before it are implausible.
    touch_device(device)
    db.session.commit()
    return _page(device, device_key)


def _form_rate_key() -> str:
    key = (request.view_args or {}).get("device_key", "")
    return f"kiosk-form:{key[:64]}"


@kiosk.post("/<device_key>")
@limiter.limit(FORM_RATE_LIMIT, key_func=_form_rate_key)
def rate(device_key: str):
    """The no-JavaScript path: store one rating (CSRF-checked by Flask-WTF) and say thank you."""
    device = _device_or_refuse(device_key)
    instrument = _instrument()
    codes = {service.code for service in _services(device)}
    service = request.form.get("service", "")
    faces = {str(value): value for value in instrument.item("overall").option_values}
    overall = faces.get(request.form.get("overall", ""))
    if service not in codes:
        return _page(device, device_key, status=422, error=_("Choose the service you used, then choose a face."))
    if overall is None:
        return _page(device, device_key, status=422, error=_("Choose one of the faces."), chosen=service)
    language = current_language()
    try:
        client_id = uuid.UUID(request.form.get("client_id", ""))
    except ValueError:
        client_id = uuid.uuid4()
    submission = Submission(
        client_id=client_id,
        instrument_code=INSTRUMENT,
        instrument_version=instrument.version,
        unit_code=device.counter.unit.code,
        service_code=service,
        channel="kiosk",
        answers={"overall": overall},
        device=device,
        # Set by listen.js when a listen button was used before the form was posted.
        mode="read_aloud" if request.form.get("read_aloud") == "1" else "self",
        language=language,
    )
    try:
        submit_response(submission)
    except SubmissionRejected:
        current_app.logger.warning("kiosk form rating refused for device %s", device.id)
        return _page(
            device,
            device_key,
            status=422,
            error=_("Your rating could not be saved. Please tell the office."),
            chosen=service,
        )
    html = render_template(
        "kiosk/thanks.html",
        device=device,
        back_url=url_for("kiosk.page", device_key=device_key, service=service),
        thanks_ms=THANKS_MS,
    )
    return _private(Response(html, status=200, mimetype="text/html"))


@kiosk.get("/<device_key>/manifest.webmanifest")
def manifest(device_key: str):
    """The web app manifest: opens this device's kiosk page full screen."""
    _device_or_refuse(device_key)
    document = {
        "name": _("Sơn La Satisfaction Index – counter kiosk"),
        "short_name": _("Rate us"),
        "lang": current_language(),
        "start_url": url_for("kiosk.page", device_key=device_key),
        "scope": url_for("kiosk.page", device_key="x")[: -len("x")],
        "display": "fullscreen",
        "orientation": "any",
        "background_color": "#ffffff",
        "theme_color": "#0b4f6c",
        "icons": [{"src": asset_url("kiosk/icon.svg"), "sizes": "any", "type": "image/svg+xml", "purpose": "any"}],
    }
    response = Response(json.dumps(document, ensure_ascii=False), mimetype="application/manifest+json")
    return _private(response)


@kiosk.get("/sw.js")
def service_worker():
    """The service worker, served under ``/kiosk/`` so that its scope can be ``/kiosk/``."""
    scope = url_for("kiosk.page", device_key="x")[: -len("x")]
    settings = {
        "cache": f"kiosk-{asset_version()}",
        "assets": [asset_url(name) for name in ASSETS] + [url_for("static", filename=name) for name in SITE_ASSETS],
        "site_prefix": url_for("static", filename="x")[: -len("x")],
        # The recordings of the active version, every language: kept so that they play offline.
        "audio": active_clip_urls(INSTRUMENT),
        "audio_prefix": url_for("audio_files.clip", sha256="x" * 64, ext="opus").rsplit("/", 1)[0] + "/",
        "scope": scope,
        # The page shown when the kiosk page was never saved and the network is down.
        "offline": {
            "lang": current_language(),
            "title": str(escape(_("No network"))),
            "message": str(
                escape(
                    _("This kiosk page is not saved on this tablet yet. Connect to the network and reload the page.")
                )
            ),
        },
    }
    source = (STATIC_DIR / "sw.js").read_text(encoding="utf-8")
    body = f"const KIOSK = {json.dumps(settings)};\n{source}"
    response = Response(body, mimetype="text/javascript")
    response.headers["Service-Worker-Allowed"] = scope
    response.headers["Cache-Control"] = "no-cache"
    return response
