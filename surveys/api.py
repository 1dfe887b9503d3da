"""``POST /api/v1/responses``: the submission endpoint of counter kiosks.

Every channel has one honest path. A kiosk authenticates with its ``X-Device-Key`` header
and is the only client of this endpoint; the online and QR surveys are the server-rendered
forms, paper is the import. A request without a device key is refused (401) and recorded for
the integrity page, whatever else it carries: the client never chooses the channel (always
``kiosk`` here) and the server decides how far back a queued rating may be dated
(surveys/submission.py). The body is one JSON object (DESIGN.md §7). A new
``client_id`` answers 201 with ``{"id": …}``; the same ``client_id`` again answers 200 with
the same id and stores nothing. Every invalid body answers 4xx with an error naming the
field, in the requester's language, and stores nothing.

``POST /api/v1/responses/batch`` takes ``{"responses": [...]}``, up to 500 such bodies (a kiosk
draining its offline queue): each is parsed here and validated by the same service as a single
one, the valid ones are stored in one transaction (surveys/batch.py), and the answer is 200 with
one result per item, in order: ``{"index", "status": 201|200, "id"}`` or ``{"index", "status":
4xx, "error", "errors"}`` as a single call would have answered. A malformed body answers 400, too
many items 400, too many bytes 413, not JSON 415; nothing is stored then.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

from flask import Blueprint, g, jsonify, request
from flask_babel import gettext as _
from limits import parse

from surveys import languages
from surveys.batch import BATCH_RATE_LIMIT, MAX_BATCH_BYTES, submit_batch
from surveys.batch import MAX_ITEMS as MAX_BATCH_ITEMS
from surveys.devices import find_active_device
from surveys.messages import describe
from surveys.submission import FieldError, Submission, SubmissionRejected, source_digest, submit_response
from webapp.access import DEVICE, declare_access
from webapp.audit import record_event
from webapp.extensions import csrf, db, limiter
from webapp.models import Device

collection_api = declare_access(Blueprint("collection_api", __name__, url_prefix="/api/v1"), DEVICE)

MAX_BODY_BYTES = 64 * 1024
MAX_TEXT = 100
MAX_ANSWERS = 200
MAX_ANSWER_TEXT = 2000
FIELDS = {
    "client_id",
    "instrument",
    "instrument_version",
    "unit",
    "service",
    "channel",
    "answers",
    "reasons",
    "answered_at",
    "duration_seconds",
    "respondent_type",
    "read_aloud",
    "language",
}
#: Longest language code a body may name (``vi``, ``en`` or a language pack's code).
MAX_LANGUAGE = 12
#: Refused submissions without a device key are written to the audit log at most this often per address.
REFUSAL_RECORD_LIMIT = parse("1/10minute")


def _error_body(status: int, errors: list[FieldError]) -> dict[str, Any]:
    described = [{"field": e.field, "code": e.code, "message": describe(e)} for e in errors]
    first = described[0] if described else {"field": None, "code": "invalid", "message": _("The request is not valid.")}
    return {"error": {"status": status, **first}, "errors": described}


def _error_response(status: int, errors: list[FieldError]):
    return jsonify(_error_body(status, errors)), status


def _record_refusal(body: Any) -> None:
    """Note a keyless submission on the integrity page (at most once per address per 10 minutes)."""
    digest = source_digest(request.remote_addr) or "unknown"
    if not limiter.limiter.hit(REFUSAL_RECORD_LIMIT, "refused-submission", digest):
        return
    unit = body.get("unit") if isinstance(body, dict) and isinstance(body.get("unit"), str) else None
    record_event(
        "integrity.refused_submission",
        actor="system",
        object_type="unit" if unit else None,
        object_id=unit[:60] if unit else None,
        detail=f"POST {request.path} without a kiosk key from source {digest[:8]}",
    )
    db.session.commit()


def _rate_key() -> str:
    """Kiosks are limited per device, web pages per address."""
    key = request.headers.get("X-Device-Key")
    return f"device:{key[:64]}" if key else f"ip:{request.remote_addr}"


def _text(body: dict, name: str, errors: list[FieldError], required: bool = True) -> str | None:
    value = body.get(name)
    if value is None:
        if required:
            errors.append(FieldError(name, "missing"))
        return None
    if not isinstance(value, str) or not value or len(value) > MAX_TEXT or "\x00" in value:
        errors.append(FieldError(name, "invalid_type"))
        return None
    return value


def _answer_value_ok(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -1_000_000 < value < 1_000_000
    if isinstance(value, str):
        return len(value) <= MAX_ANSWER_TEXT and "\x00" not in value
    if isinstance(value, list):
        return len(value) <= 50 and all(isinstance(v, str) and len(v) <= MAX_TEXT and "\x00" not in v for v in value)
    return False


def _parse(body: Any) -> tuple[dict[str, Any], list[FieldError]]:
    errors: list[FieldError] = []
    if not isinstance(body, dict):
        return {}, [FieldError("body", "invalid_json")]
    for name in sorted(set(body) - FIELDS):
        errors.append(FieldError(str(name)[:MAX_TEXT], "unknown_field"))
    parsed: dict[str, Any] = {}
    raw_id = body.get("client_id")
    if raw_id is None:
        errors.append(FieldError("client_id", "missing"))
    else:
        try:
            if not isinstance(raw_id, str) or len(raw_id) > 40:
                raise ValueError
            parsed["client_id"] = uuid.UUID(raw_id)
        except ValueError:
            errors.append(FieldError("client_id", "invalid_uuid"))
    for name in ("instrument", "unit", "service"):
        parsed[name] = _text(body, name, errors)
    parsed["channel"] = _text(body, "channel", errors, required=False)
    parsed["respondent_type"] = _text(body, "respondent_type", errors, required=False)
    version = body.get("instrument_version")
    if version is not None and (
        isinstance(version, bool) or not isinstance(version, int) or not 1 <= version <= 10_000
    ):
        errors.append(FieldError("instrument_version", "invalid_type"))
    parsed["instrument_version"] = version
    answers = body.get("answers")
    if answers is None:
        errors.append(FieldError("answers", "missing"))
    elif not isinstance(answers, dict) or len(answers) > MAX_ANSWERS:
        errors.append(FieldError("answers", "invalid_type"))
    else:
        for key, value in answers.items():
            if len(key) > MAX_TEXT or not _answer_value_ok(value):
                errors.append(FieldError(f"answers.{key[:MAX_TEXT]}", "invalid_type"))
        parsed["answers"] = answers
    reasons = body.get("reasons", [])
    if (
        not isinstance(reasons, list)
        or not all(isinstance(r, str) and len(r) <= MAX_TEXT for r in reasons)
        or len(reasons) > 20
    ):
        errors.append(FieldError("reasons", "invalid_type"))
    parsed["reasons"] = reasons if isinstance(reasons, list) else []
    answered_at = body.get("answered_at")
    parsed["answered_at"] = None
    if answered_at is not None:
        try:
            if not isinstance(answered_at, str) or len(answered_at) > 40:
                raise ValueError
            parsed["answered_at"] = datetime.fromisoformat(answered_at.replace("Z", "+00:00"))
        except ValueError:
            errors.append(FieldError("answered_at", "invalid_date"))
    duration = body.get("duration_seconds")
    if duration is not None and (
        isinstance(duration, bool) or not isinstance(duration, int) or not 0 <= duration <= 86_400
    ):
        errors.append(FieldError("duration_seconds", "out_of_range"))
    parsed["duration_seconds"] = duration
    # Read aloud: the kiosk's listen button was used; the server then records mode ``read_aloud``.
    read_aloud = body.get("read_aloud", False)
    if not isinstance(read_aloud, bool):
        errors.append(FieldError("read_aloud", "invalid_type"))
    parsed["read_aloud"] = read_aloud is True
    language = body.get("language")
    if language is not None and (not isinstance(language, str) or not 1 <= len(language) <= MAX_LANGUAGE):
        errors.append(FieldError("language", "invalid_type"))
        language = None
    parsed["language"] = language
    return parsed, errors


def _read_json(max_bytes: int, too_large: FieldError) -> tuple[Any, Any]:
    """The parsed JSON body, or the 4xx answer (415 not JSON, 413 too large, 400 malformed)."""
    if not request.is_json:
        return None, _error_response(415, [FieldError("body", "invalid_json")])
    if (request.content_length or 0) > max_bytes:
        return None, _error_response(413, [too_large])
    raw = request.get_data(cache=False, as_text=False)
    if len(raw) > max_bytes:
        return None, _error_response(413, [too_large])
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, _error_response(400, [FieldError("body", "invalid_json")])


def _device(body: Any) -> tuple[Device | None, Any]:
    """The sending kiosk, or the 401/403 answer (a keyless request is noted for the integrity page)."""
    device_key = request.headers.get("X-Device-Key")
    if device_key is None:
        _record_refusal(body)
        return None, _error_response(401, [FieldError("X-Device-Key", "device_required")])
    device = find_active_device(device_key)
    if device is None:
        return None, _error_response(403, [FieldError("X-Device-Key", "device_refused")])
    return device, None


def _submission(body: Any, device: Device) -> Submission | SubmissionRejected:
    """One kiosk body as a :class:`Submission`, or why it is refused (422) before the service sees it."""
    parsed, errors = _parse(body)
    if parsed.get("channel") not in (None, "kiosk"):
        # The server decides the channel: this endpoint only ever stores kiosk ratings.
        errors.append(FieldError("channel", "invalid_choice", {"value": parsed["channel"]}))
    if errors:
        return SubmissionRejected(errors)
    return Submission(
        client_id=parsed["client_id"],
        instrument_code=parsed["instrument"],
        instrument_version=parsed["instrument_version"],
        unit_code=parsed["unit"],
        service_code=parsed["service"],
        channel="kiosk",
        answers=parsed["answers"],
        reasons=parsed["reasons"],
        answered_at=parsed["answered_at"],
        duration_seconds=parsed["duration_seconds"],
        respondent_type=parsed["respondent_type"],
        device=device,
        mode="read_aloud" if parsed["read_aloud"] else "self",
        # The kiosk's current language; the submission service refuses an unknown one (422).
        language=parsed["language"] or languages.SOURCE,
    )


@collection_api.post("/responses")
@csrf.exempt
@limiter.limit("120/minute", key_func=_rate_key)
def create_response():
    """Store one response (idempotent on ``client_id``)."""
    body, bad = _read_json(MAX_BODY_BYTES, FieldError("body", "out_of_range"))
    if bad is not None:
        return bad
    device, refused = _device(body)
    if refused is not None:
        return refused
    submission = _submission(body, device)
    if isinstance(submission, SubmissionRejected):
        return _error_response(422, submission.errors)
    try:
        stored = submit_response(submission)
    except SubmissionRejected as rejected:
        return _error_response(rejected.status, rejected.errors)
    status = 201 if stored.created else 200
    return jsonify(id=stored.response_id, status="stored" if stored.created else "duplicate"), status


def _batch_body() -> tuple[Any, Any]:
    """The batch's parsed body or its 4xx answer, read once per request (the rate limit's cost reads it first)."""
    if "batch_body" not in g:
        g.batch_body = _read_json(MAX_BATCH_BYTES, FieldError("body", "too_large", {"max": MAX_BATCH_BYTES // 1024}))
    return g.batch_body


def _batch_cost() -> int:
    """Every rating of a batch counts against the device's limit; a refused body counts once."""
    body, bad = _batch_body()
    items = body.get("responses") if bad is None and isinstance(body, dict) else None
    return len(items) if isinstance(items, list) and 0 < len(items) <= MAX_BATCH_ITEMS else 1


@collection_api.post("/responses/batch")
@csrf.exempt
@limiter.limit(BATCH_RATE_LIMIT, key_func=_rate_key, cost=_batch_cost)
def create_responses():
    """Store up to 500 responses in one transaction: one result per item, in order (surveys/batch.py)."""
    body, bad = _batch_body()
    if bad is not None:
        return bad
    device, refused = _device(body)
    if refused is not None:
        return refused
    if not isinstance(body, dict) or not isinstance(body.get("responses"), list):
        return _error_response(400, [FieldError("responses", "invalid_batch")])
    if set(body) - {"responses"}:
        return _error_response(400, [FieldError(str(sorted(set(body) - {"responses"})[0])[:MAX_TEXT], "unknown_field")])
    items = body["responses"]
    if len(items) > MAX_BATCH_ITEMS:
        return _error_response(
            400, [FieldError("responses", "too_many_items", {"max": MAX_BATCH_ITEMS, "count": len(items)})]
        )
    results = submit_batch([_submission(item, device) for item in items])
    answers = []
    for index, result in enumerate(results):
        if result.status >= 400:
            answers.append({"index": index, "status": result.status, **_error_body(result.status, result.errors)})
        else:
            answers.append({"index": index, "status": result.status, "id": result.response_id})
    return jsonify(results=answers), 200
