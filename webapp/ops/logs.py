"""One log line per request, and the request id that ties a page, a log line and a report together.

Each request gets an id: a well-formed incoming ``X-Request-ID`` (from nginx, say) or a new one.
It is echoed in the response's ``X-Request-ID`` header, kept in ``g.request_id`` and offered to
templates as ``request_id`` so an error page can show it.

The log line holds what operators need and nothing personal: time, request id, method, the
route (``/kiosk/<device_key>``) and the path with secret segments masked, never the query
string's values, the status, the duration, the client address as seen after ProxyFix and the
signed-in user's id. Bodies, comments, tokens and device keys are never logged.
``LOG_FORMAT=json`` (production default) writes one JSON object per line; ``text`` (development
default) a short human-readable line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from flask import Flask, g, request
from flask.wrappers import Response

LOGGER_NAME = "sonla.requests"
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$")
#: URL variables whose values are secrets and never appear in a log.
SECRET_ARGS = frozenset({"device_key", "key", "token", "secret"})
#: Path segments that are secrets (``/kiosk/<device_key>``, ``/r/<token>``), masked even when no
#: route matched, anywhere in a text (a request line, a full URL in a Referer or Location).
SECRET_SEGMENTS = re.compile(r"(/(?:kiosk|r|optout)/+)[^/?#\s\"]+", re.IGNORECASE)
#: The value of every query-string parameter (``/r?code=…``): only the names are ever logged.
QUERY_VALUES = re.compile(r"([?&][^=&#\s\"]*=)[^&#\s\"]*")
MASK = "***"

logger = logging.getLogger(LOGGER_NAME)


def new_request_id() -> str:
    return uuid.uuid4().hex


def incoming_request_id(value: str | None) -> str:
    """Keep a sane ``X-Request-ID`` from upstream; otherwise make a new one."""
    if value and _VALID_REQUEST_ID.match(value):
        return value
    return new_request_id()


def mask_secrets(text: str) -> str:
    """``text`` (a path, a request line, a URL) with kiosk keys, receipt tokens and query values masked.

    Used by gunicorn's access log (:mod:`webapp.ops.access_log`), which sees the raw request
    and not the matched route.
    """
    return QUERY_VALUES.sub(rf"\g<1>{MASK}", SECRET_SEGMENTS.sub(rf"\g<1>{MASK}", text))


def mask_query_string(query: str) -> str:
    """A bare query string (``code=AB12&lang=vi``) with every value masked (``code=***&lang=***``)."""
    return mask_secrets("?" + query)[1:] if query else query


def masked_path(path: str | None = None, view_args: dict[str, Any] | None = None) -> str:
    """The request's path (or ``path`` matched with ``view_args``) with every secret segment
    replaced by ``***`` (no query string)."""
    if path is None:
        path, view_args = request.path, request.view_args
    for name, value in (view_args or {}).items():
        if name in SECRET_ARGS and isinstance(value, str) and value:
            path = path.replace(f"/{value}", f"/{MASK}")
    return mask_secrets(path)


def _user_id() -> str | None:
    # Only a user already loaded by this request: logging must never query the database.
    user = getattr(g, "_login_user", None)
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.get_id())
    return None


def request_fields(response: Response) -> dict[str, Any]:
    """What one log line says about the request that ``response`` answers."""
    return line_fields(
        method=request.method,
        route=request.url_rule.rule if request.url_rule is not None else None,
        path=masked_path(),
        query_keys=sorted(request.args.keys()) or None,
        status=response.status_code,
        started=getattr(g, "request_started", None),
        request_id=getattr(g, "request_id", None),
        remote_addr=request.remote_addr,
        user_id=_user_id(),
    )


def line_fields(
    *,
    method: str,
    route: str | None,
    path: str,
    query_keys: list[str] | None,
    status: int,
    started: float | None,
    request_id: str | None,
    remote_addr: str | None,
    user_id: str | None,
) -> dict[str, Any]:
    """The fields of one log line, in order (``started``: ``time.perf_counter()`` when the request began).

    Flask's ``after_request`` hook and the fast path of the public page cache
    (``public.cache.FastPath``, which answers without a request context) both build them here.
    """
    duration = (time.perf_counter() - started) * 1000 if started is not None else None
    return {
        "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
        "request_id": request_id,
        "method": method,
        "route": route,
        "path": path,
        "query_keys": query_keys,
        "status": status,
        "duration_ms": round(duration, 2) if duration is not None else None,
        "remote_addr": remote_addr,
        "user_id": user_id,
    }


def write_line(fields: dict[str, Any]) -> None:
    """Log one request (an error from 500 on)."""
    logger.log(
        logging.ERROR if fields["status"] >= 500 else logging.INFO,
        "%s %s %s",
        fields["method"],
        fields["path"],
        fields["status"],
        extra={"request": fields},
    )


class JsonFormatter(logging.Formatter):
    """One JSON object per line: the request's fields, or the message of any other record."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "request", None)
        if fields is None:
            fields = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
                "level": record.levelname.lower(),
                "message": record.getMessage(),
            }
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


class TextFormatter(logging.Formatter):
    """``time METHOD path status duration request-id``, for a developer's terminal."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "request", None)
        if fields is None:
            return super().format(record)
        user = f" user={fields['user_id']}" if fields["user_id"] else ""
        return (
            f"{fields['time']} {fields['method']} {fields['path']} {fields['status']} "
            f"{fields['duration_ms']}ms {fields['remote_addr']} id={fields['request_id']}{user}"
        )


def formatter_for(name: str) -> logging.Formatter:
    if name == "json":
        return JsonFormatter()
    if name == "text":
        return TextFormatter()
    raise RuntimeError(f"LOG_FORMAT={name!r} is not one of 'json', 'text'")


def _configure_logger(app: Flask) -> None:
    formatter = formatter_for(app.config.get("LOG_FORMAT") or "text")
    handler = next((h for h in logger.handlers if getattr(h, "sonla_request_log", False)), None)
    if handler is None:
        handler = logging.StreamHandler(sys.stderr)
        handler.sonla_request_log = True  # type: ignore[attr-defined]
        logger.addHandler(handler)
    handler.setFormatter(formatter)
    logger.setLevel(logging.INFO)
    # Our own handler writes the line; the root logger must not print it a second time.
    logger.propagate = False


def init_app(app: Flask) -> None:
    """Give every request an id and log it once answered."""
    _configure_logger(app)

    def start_request() -> None:
        g.request_started = time.perf_counter()
        g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))

    # First of all before_request hooks: a request refused early (rate limit) still has an id.
    app.before_request_funcs.setdefault(None, []).insert(0, start_request)

    @app.after_request
    def log_request(response: Response) -> Response:
        if "request_id" not in g:  # the request failed before before_request ran
            g.request_id = incoming_request_id(request.headers.get(REQUEST_ID_HEADER))
        response.headers[REQUEST_ID_HEADER] = g.request_id
        write_line(request_fields(response))
        return response

    @app.context_processor
    def request_id_for_templates() -> dict[str, Any]:
        return {"request_id": g.get("request_id")}
