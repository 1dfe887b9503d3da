"""``POST /api/v1/dossiers`` and ``POST /api/v1/dossiers/batch``: survey links for returned dossiers.

The provincial one-stop system calls these with ``Authorization: Bearer <token>`` (a client made by
``flask --app webapp integrations create``). A new dossier answers 201 with ``survey_url``, ``code``
and ``expires_on``; the same dossier number of the same unit answers 200 with the same link and
sends nothing again. Errors use the shape of ``POST /api/v1/responses`` (``{"error": {status, field,
code, message}, "errors": [...]}``) in the requester's language, and store nothing. Every call of a
known client writes one audit event (client, unit, service, outcome; never a dossier number or a
contact); refused tokens are noted at most once per 10 minutes per address.
"""

from __future__ import annotations

import hashlib
import json
import re
from typing import Any

from flask import Blueprint, current_app, jsonify, request
from limits import parse

from surveys.submission import FieldError, source_digest
from webapp.access import INTEGRATION_CLIENT, declare_access
from webapp.audit import record_event
from webapp.extensions import csrf, db, limiter
from webapp.integrations import service
from webapp.integrations.messages import describe_field
from webapp.integrations.schema import CODE_PATTERN, MAX_DOSSIERS_PER_BATCH, Refused, parse_dossier
from webapp.models import IntegrationClient

integrations_api = declare_access(Blueprint("integrations_api", __name__, url_prefix="/api/v1"), INTEGRATION_CLIENT)
csrf.exempt(integrations_api)

CODE = re.compile(CODE_PATTERN.removesuffix("$"))
MAX_BODY_BYTES = 16 * 1024
MAX_BATCH_BYTES = 2 * 1024 * 1024
#: Refused tokens are written to the audit log at most this often per address.
REFUSAL_RECORD_LIMIT = parse("1/10minute")
REALM = 'Bearer realm="sonla-index"'


@integrations_api.after_request
def _not_stored(response):
    """A survey link is a single-use credential: no cache keeps a copy."""
    response.headers["Cache-Control"] = "no-store"
    return response


def error_body(status: int, errors: list[FieldError]) -> dict[str, Any]:
    described = [{"field": e.field, "code": e.code, "message": describe_field(e)} for e in errors]
    return {"error": {"status": status, **described[0]}, "errors": described}


def _error(status: int, errors: list[FieldError], headers: dict[str, str] | None = None):
    response = jsonify(error_body(status, errors))
    response.status_code = status
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def _presented_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.strip().partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else None


def _rate_key() -> str:
    """Limits count per client token (a hash of it: the token itself is never kept), else per address."""
    token = _presented_token()
    if token:
        return "bearer:" + hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()[:32]
    return f"ip:{request.remote_addr}"


def _single_limit() -> str:
    return current_app.config["INTEGRATION_RATE_LIMIT"]


def _batch_limit() -> str:
    return current_app.config["INTEGRATION_BATCH_RATE_LIMIT"]


def _authenticate() -> tuple[IntegrationClient | None, Any]:
    """The calling client, or the 401 answer (``WWW-Authenticate: Bearer``)."""
    token = _presented_token()
    client = service.authenticate(token) if token else None
    if client is not None:
        return client, None
    digest = source_digest(request.remote_addr) or "unknown"
    if limiter.limiter.hit(REFUSAL_RECORD_LIMIT, "refused-integration", digest):
        record_event(
            "integration.refused_token",
            actor="system",
            detail=f"{request.path} with {'a refused' if token else 'no'} bearer token from source {digest[:8]}",
        )
        db.session.commit()
    if token is None:
        return None, _error(401, [FieldError("Authorization", "bearer_required")], {"WWW-Authenticate": REALM})
    return None, _error(
        401, [FieldError("Authorization", "bearer_refused")], {"WWW-Authenticate": f'{REALM}, error="invalid_token"'}
    )


def _json_body(max_bytes: int) -> tuple[Any, Any]:
    """The parsed JSON body, or the 4xx answer (415 not JSON, 413 too large, 400 malformed)."""
    if not request.is_json:
        return None, _error(415, [FieldError("body", "unsupported_media_type")])
    if (request.content_length or 0) > max_bytes:
        return None, _error(413, [FieldError("body", "too_large")])
    raw = request.get_data(cache=False, as_text=False)
    if len(raw) > max_bytes:
        return None, _error(413, [FieldError("body", "too_large")])
    try:
        return json.loads(raw.decode("utf-8")), None
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None, _error(400, [FieldError("body", "invalid_json")])


def _unit_and_service(body: Any) -> tuple[str | None, str | None]:
    """The unit and service codes a body names (for the audit event), if they are well-formed."""
    if not isinstance(body, dict):
        return None, None
    return _code(body.get("unit")), _code(body.get("service"))


def _code(value: Any) -> str | None:
    """``value`` if it is a well-formed code: nothing else reaches the audit log."""
    return value if isinstance(value, str) and CODE.fullmatch(value) else None


def _one(client: IntegrationClient, body: Any) -> tuple[int, dict[str, Any]]:
    """Report one dossier in the current transaction: ``(status, answer body)``; a refusal writes nothing."""
    try:
        report = parse_dossier(body, client)
    except Refused as refused:
        return refused.status, error_body(refused.status, refused.errors)
    try:
        link = service.register_dossier(client, report)
    except service.DossierConflict:
        return 409, error_body(409, [FieldError("dossier_number", "dossier_other_service")])
    return (201 if link.created else 200), link.body()


@integrations_api.post("/dossiers")
@limiter.limit(_single_limit, key_func=_rate_key)
def create_dossier():
    """The survey link of one returned dossier (201 new, 200 the same link again)."""
    client, refusal = _authenticate()
    if refusal is not None:
        return refusal
    body, bad = _json_body(MAX_BODY_BYTES)
    unit, service_code = _unit_and_service(body)
    if bad is None:
        status, answer = _one(client, body)
        if status >= 400:
            db.session.rollback()
    else:
        status, answer = bad.status_code, bad.get_json()
    outcome = {201: "created", 200: "existing"}.get(status) or f"refused:{answer['error']['code']}"
    service.touch(client)
    service.audit_call(client, service="dossiers", outcome=outcome, unit=unit, service_code=service_code)
    db.session.commit()
    return jsonify(answer), status


@integrations_api.post("/dossiers/batch")
@limiter.limit(_batch_limit, key_func=_rate_key)
def create_dossiers():
    """Up to 500 dossiers in one call: one result each, in order; a bad one never blocks the others."""
    client, refusal = _authenticate()
    if refusal is not None:
        return refusal
    body, bad = _json_body(MAX_BATCH_BYTES)
    problem: FieldError | None = None
    if bad is None:
        if not isinstance(body, dict) or not isinstance(body.get("dossiers"), list):
            problem = FieldError("dossiers", "invalid_batch")
        elif set(body) - {"dossiers"}:
            problem = FieldError(str(sorted(set(body) - {"dossiers"}, key=str)[0])[:40], "unknown_field")
        elif len(body["dossiers"]) > MAX_DOSSIERS_PER_BATCH:
            problem = FieldError("dossiers", "too_many_dossiers", {"max": MAX_DOSSIERS_PER_BATCH})
    if bad is not None or problem is not None:
        answer = bad if bad is not None else _error(422, [problem])
        service.touch(client)
        service.audit_call(client, service="dossiers/batch", outcome=f"refused:{answer.get_json()['error']['code']}")
        db.session.commit()
        return answer
    results = []
    counts: dict[str, int] = {}
    for index, item in enumerate(body["dossiers"]):
        status, answer = _one(client, item)
        results.append({"index": index, "status": status, **answer})
        counts[str(status)] = counts.get(str(status), 0) + 1
    service.touch(client)
    service.audit_call(client, service="dossiers/batch", outcome="processed", counts=counts)
    db.session.commit()
    return jsonify(results=results), 200
