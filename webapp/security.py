"""Security headers for every response (Content-Security-Policy with nonces and friends).

Views that may be shown inside other sites' pages (the embeddable unit badge/widget) are
marked with :func:`embeddable`; every other response forbids framing.

The headers are added in an ``after_request`` hook, which Flask runs for every response it
finalises: pages, JSON, static files, redirects and the error pages of ``webapp.errors``.

The policy allows no inline code: scripts, styles, images, fonts, the kiosk's service worker,
manifest and ``fetch`` calls come from this site only. A template that really needs an inline
``<script>`` gives it ``nonce="{{ csp_nonce() }}"``; the nonce is new for every response.
Inline ``style="…"`` attributes are refused by the browser: use classes in a stylesheet.

A ``before_request`` hook also refuses input no page can use (NUL characters, identifiers
beyond 32 bits), which PostgreSQL would otherwise answer with an error, so a 500.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import TypeVar

from flask import Flask, abort, current_app, g, request
from flask.wrappers import Response
from werkzeug.datastructures import Headers

View = TypeVar("View", bound=Callable)

#: Sent with every response whose view is not :func:`embeddable`.
FRAME_ANCESTORS_NONE = "'none'"
#: Browser features no page of this site uses: switched off, for this site and any frame in it.
PERMISSIONS_POLICY = ", ".join(
    f"{feature}=()"
    for feature in (
        "accelerometer",
        "camera",
        "display-capture",
        "geolocation",
        "gyroscope",
        "magnetometer",
        "microphone",
        "midi",
        "payment",
        "usb",
    )
)
HSTS = "max-age=31536000; includeSubDomains"


def embeddable(view: View) -> View:
    """Mark ``view`` as allowed inside a frame on any site (``frame-ancestors *``)."""
    view.embeddable = True  # type: ignore[attr-defined]
    return view


def csp_nonce() -> str:
    """This response's nonce for an inline ``<script nonce="…">`` (made on first use)."""
    nonce = g.get("csp_nonce")
    if nonce is None:
        nonce = g.csp_nonce = new_nonce()
    return nonce


def new_nonce() -> str:
    """A fresh nonce: 128 random bits."""
    return secrets.token_urlsafe(16)


def is_embeddable_request() -> bool:
    """Whether the view that answered this request was marked :func:`embeddable`."""
    return is_embeddable_view(current_app.view_functions.get(request.endpoint or ""))


def is_embeddable_view(view: Callable | None) -> bool:
    """Whether ``view`` was marked :func:`embeddable`."""
    return bool(getattr(view, "embeddable", False))


def _policy_template(nonce: str, frame_ancestors: str) -> str:
    directives = {
        "default-src": "'self'",
        "script-src": f"'self' 'nonce-{nonce}'",
        "style-src": "'self'",
        "img-src": "'self' data:",
        "font-src": "'self'",
        "connect-src": "'self'",
        "worker-src": "'self'",
        "manifest-src": "'self'",
        "object-src": "'none'",
        "base-uri": "'self'",
        "form-action": "'self'",
        "frame-ancestors": frame_ancestors,
    }
    return "; ".join(f"{name} {value}" for name, value in directives.items())


# The policy's text around the nonce and the frame ancestors, joined once rather than per response.
_NONCE, _ANCESTORS = "\x00nonce\x00", "\x00ancestors\x00"
_BEFORE_NONCE, _rest = _policy_template(_NONCE, _ANCESTORS).split(_NONCE)
_BETWEEN, _AFTER_ANCESTORS = _rest.split(_ANCESTORS)


def content_security_policy(nonce: str, frame_ancestors: str = FRAME_ANCESTORS_NONE) -> str:
    """The policy: this site only, no inline code except a script carrying ``nonce``."""
    return f"{_BEFORE_NONCE}{nonce}{_BETWEEN}{frame_ancestors}{_AFTER_ANCESTORS}"


def add_security_headers(response: Response) -> Response:
    """Add the security headers to ``response`` (``after_request`` hook)."""
    set_security_headers(response.headers, csp_nonce(), embeddable=is_embeddable_request(), secure=request.is_secure)
    return response


def set_security_headers(headers: Headers, nonce: str, *, embeddable: bool, secure: bool) -> None:
    """Set the security headers of a response for a view that is ``embeddable`` or not.

    The one place they are decided: the ``after_request`` hook above and the fast path of the
    public page cache (``public.cache.FastPath``, which answers without a request context) both
    call it. A ``Referrer-Policy`` the view already set is kept: the kiosk sends a stricter
    ``no-referrer`` because its address holds the device key. ``secure``: the request came over
    HTTPS (behind a proxy, ProxyFix makes ``X-Forwarded-Proto`` visible).
    """
    headers["Content-Security-Policy"] = content_security_policy(nonce, "*" if embeddable else FRAME_ANCESTORS_NONE)
    if embeddable:
        headers.pop("X-Frame-Options", None)
    else:
        headers["X-Frame-Options"] = "DENY"
    headers["X-Content-Type-Options"] = "nosniff"
    headers.setdefault("Referrer-Policy", "strict-origin-when-cross-origin")
    headers["Permissions-Policy"] = PERMISSIONS_POLICY
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    # Browsers ignore it over plain http, and a development server must stay reachable.
    if secure:
        headers["Strict-Transport-Security"] = HSTS


#: PostgreSQL's ``integer``: an identifier in an address beyond it can name nothing.
ID_RANGE = range(-(2**31), 2**31)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


def refuse_unusable_input() -> None:
    """Refuse, before any view runs, what no page can use and a database cannot even compare.

    PostgreSQL refuses NUL characters in text and integers beyond 32 bits with an error,
    which would otherwise surface as a 500: an address with either names no page (404); a
    query string or form field with a NUL is a bad request (400). People never type NUL.
    """
    if "\x00" in request.path or any(
        isinstance(value, int) and value not in ID_RANGE for value in (request.view_args or {}).values()
    ):
        abort(404)
    fields = [request.args]
    if request.mimetype in FORM_TYPES:
        fields.append(request.form)
    if any("\x00" in key or "\x00" in value for multi in fields for key, value in multi.items(multi=True)):
        abort(400)


def init_app(app: Flask) -> None:
    """Send the security headers with every response; give templates ``csp_nonce()``."""
    app.before_request(refuse_unusable_input)
    app.after_request(add_security_headers)
    app.jinja_env.globals["csp_nonce"] = csp_nonce
