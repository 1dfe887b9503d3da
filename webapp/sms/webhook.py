"""``POST /sms/inbound``: the SMS gateway delivers the citizens' replies here, signed.

**Contract** (docs/sms.md)::

    POST /sms/inbound
    Content-Type: application/json
    X-Sms-Timestamp: 1796612400                      (Unix seconds when the gateway signed)
    X-Sms-Signature: sha256=<hex HMAC-SHA256(SMS_INBOUND_SECRET, timestamp + "." + raw body)>

    {"id": "<the gateway's message id>", "from": "84912345678", "text": "5"}

    200 {"status": "processed" | "duplicate" | "ignored"}   (a duplicate id is a no-op)
    400 malformed body · 401 missing or wrong signature, or a timestamp outside the replay window
    404 the endpoint is off (no SMS_INBOUND_SECRET) · 413 body too large · 415 not JSON
    429 too many calls · 503 a moment's conflict with another answer, or the questionnaire is not loaded
    (``flask registry load``): send again later

The signature is checked (in constant time) before the body is read; the window (``SMS_INBOUND_MAX_SKEW``,
5 minutes) and the processed message ids together make a replayed request a no-op. The phone number and
the text are never logged or stored (see ``webapp.sms.service``).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

from flask import Blueprint, current_app, jsonify, request
from flask_babel import gettext as _

from webapp.access import INTEGRATION_CLIENT, declare_access
from webapp.extensions import csrf, limiter
from webapp.sms import service

sms_webhook = declare_access(Blueprint("sms_webhook", __name__), INTEGRATION_CLIENT)
csrf.exempt(sms_webhook)

MAX_BODY_BYTES = 4096
MAX_TEXT = 1600
MAX_ID = 100
#: International number in digits, with an optional "+"; Vietnamese numbers may come as 0xxxxxxxxx.
PHONE = re.compile(r"^\+?[0-9]{9,15}$")
MESSAGE_ID = re.compile(r"^[\x21-\x7e]{1,100}$")
SIGNATURE = re.compile(r"^sha256=([0-9a-f]{64})$")


def _limit() -> str:
    return current_app.config["SMS_INBOUND_RATE_LIMIT"]


def _error(status: int, code: str, message: str):
    response = jsonify({"error": {"status": status, "code": code, "message": message}})
    response.status_code = status
    return response


def signature(secret: str, timestamp: str, body: bytes) -> str:
    """``sha256=<hex>`` of ``timestamp + "." + body`` under ``secret`` (what the gateway sends)."""
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def _signature_problem(secret: str, body: bytes) -> tuple[str, str] | None:
    stamp = request.headers.get("X-Sms-Timestamp", "").strip()
    given = request.headers.get("X-Sms-Signature", "").strip().lower()
    if not stamp or not given:
        return "signature_missing", _("The request is not signed.")
    if not stamp.isascii() or not stamp.isdigit() or len(stamp) > 12 or not SIGNATURE.match(given):
        return "bad_signature", _("The signature does not match.")
    if not hmac.compare_digest(given, signature(secret, stamp, body)):
        return "bad_signature", _("The signature does not match.")
    if abs(time.time() - int(stamp)) > float(current_app.config["SMS_INBOUND_MAX_SKEW"]):
        return "stale_timestamp", _("The timestamp is outside the accepted window.")
    return None


def _fields(body: bytes) -> tuple[str, str, str] | tuple[None, str, str]:
    try:
        document = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        return None, "invalid_json", _("The body is not valid JSON.")
    if not isinstance(document, dict):
        return None, "invalid_json", _("The body must be a JSON object.")
    message_id, phone, text = document.get("id"), document.get("from"), document.get("text")
    if not isinstance(message_id, str) or not MESSAGE_ID.match(message_id):
        return None, "invalid_id", _("The message id is missing or malformed.")
    if not isinstance(phone, str) or not PHONE.match(phone.strip()):
        return None, "invalid_from", _("The sender's number is missing or malformed.")
    if not isinstance(text, str) or len(text) > MAX_TEXT:
        return None, "invalid_text", _("The text is missing or too long.")
    return message_id, phone.strip(), text


@sms_webhook.route("/sms/inbound", methods=["POST"])
@limiter.limit(_limit)
def inbound():
    secret = current_app.config.get("SMS_INBOUND_SECRET") or ""
    if not secret:
        return _error(404, "not_configured", _("Two-way SMS is not enabled on this site."))
    if (request.content_length or 0) > MAX_BODY_BYTES:
        return _error(413, "too_large", _("The body is too large."))
    if not request.is_json:
        return _error(415, "not_json", _("The body must be JSON."))
    body = request.get_data(cache=False)
    if len(body) > MAX_BODY_BYTES:
        return _error(413, "too_large", _("The body is too large."))
    problem = _signature_problem(secret, body)
    if problem is not None:
        return _error(401, *problem)
    message_id, *rest = _fields(body)
    if message_id is None:
        return _error(400, *rest)
    phone, text = rest
    if not service.available():
        return _error(503, "survey_not_loaded", _("The SMS questionnaire is not loaded on this site yet."))
    try:
        outcome = service.handle_inbound(message_id, phone, text)
    except service.RetryLater:
        response = _error(503, "retry", _("Another answer was being stored; please send the message again."))
        response.headers["Retry-After"] = "1"
        return response
    return jsonify({"status": outcome})
