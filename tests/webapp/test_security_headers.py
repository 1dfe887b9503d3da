"""Security headers on every response: every registered route, every method, whatever the status.

The walk builds each route's address with real codes (a unit, an indicator, a device key
made for the test, a period) and falls back to a placeholder for arguments it does not know,
so a route added later is walked too; the answer may be 200, a redirect, 400 (no CSRF
token), 403, 404 or 405: the headers must be there all the same.
"""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, abort
from werkzeug.routing import IntegerConverter, Rule

from webapp.security import HSTS, csp_nonce, embeddable

UNIT = "sl-ttpvhcc"
SERVICE = "land"
INDICATOR = "sat-procedures"
PERIOD = "2025-Q4"
#: Sample values of route arguments, by name; ``None`` means "the device key made for the test".
SAMPLES: dict[str, Any] = {
    "unit_code": UNIT,
    "instrument_code": "counter-quick",
    "period": PERIOD,
    "device_key": None,
    "token": "0123456789ABCDEF",
    # Page 1 is the address without a page number: /1 would only redirect there.
    "page": 2,
}
STATIC_FILES = {"static": "css/site.css", "kiosk.static": "kiosk/kiosk.css"}
#: Whatever a route argument we do not know is called, this is its value.
PLACEHOLDER = "x"

REQUIRED_DIRECTIVES = {
    "default-src": {"'self'"},
    "style-src": {"'self'"},
    "img-src": {"'self'", "data:"},
    "object-src": {"'none'"},
    "base-uri": {"'self'"},
    "form-action": {"'self'"},
    "connect-src": {"'self'"},
    "worker-src": {"'self'"},
    "manifest-src": {"'self'"},
}


def parse_csp(header: str) -> dict[str, list[str]]:
    """``{"script-src": ["'self'", "'nonce-…'"], …}`` from a Content-Security-Policy header."""
    directives: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            assert words[0] not in directives, f"directive {words[0]} given twice"
            directives[words[0]] = words[1:]
    return directives


def assert_security_headers(response, *, where: str, framable: bool = False, https: bool = False) -> None:
    """The headers every response carries, framable only for embeddable views."""
    headers = response.headers
    csp = headers.get("Content-Security-Policy")
    assert csp, f"{where}: no Content-Security-Policy"
    directives = parse_csp(csp)
    for name, expected in REQUIRED_DIRECTIVES.items():
        assert set(directives.get(name, [])) == expected, f"{where}: {name} is {directives.get(name)}"
    script = directives["script-src"]
    assert script[0] == "'self'" and len(script) == 2 and script[1].startswith("'nonce-"), f"{where}: {script}"
    sources = [value for values in directives.values() for value in values]
    assert sources, f"{where}: {csp}"
    assert not any("unsafe" in value for value in sources), f"{where}: {csp}"
    assert not any("http" in value for value in sources), f"{where}: third party"
    assert headers.get("X-Content-Type-Options") == "nosniff", where
    assert headers.get("Referrer-Policy") in {"strict-origin-when-cross-origin", "no-referrer", "same-origin"}, where
    permissions = headers.get("Permissions-Policy", "")
    for feature in ("camera=()", "microphone=()", "geolocation=()"):
        assert feature in permissions, f"{where}: Permissions-Policy lacks {feature}"
    assert headers.get("Cross-Origin-Opener-Policy") == "same-origin", where
    if framable:
        assert directives["frame-ancestors"] == ["*"], where
        assert "X-Frame-Options" not in headers, where
    else:
        assert directives["frame-ancestors"] == ["'none'"], where
        assert headers.get("X-Frame-Options") == "DENY", where
    if https:
        assert headers.get("Strict-Transport-Security") == HSTS, where
    else:
        assert "Strict-Transport-Security" not in headers, f"{where}: HSTS over plain http"


def sample_url(rule: Rule, device_key: str, number: int | None = None) -> str:
    """The address of ``rule`` filled with real codes (or a placeholder for unknown arguments).

    ``number``, when given, is put in every integer argument instead of a sensible value.
    """
    values: dict[str, Any] = {}
    for name in rule.arguments:
        if rule.defaults and name in rule.defaults:
            values[name] = rule.defaults[name]
        elif number is not None and isinstance(rule._converters.get(name), IntegerConverter):
            values[name] = number
        elif name == "filename":
            values[name] = STATIC_FILES.get(rule.endpoint, "css/site.css")
        elif name == "code":
            values[name] = INDICATOR if "indicator" in rule.rule else UNIT
        elif name in SAMPLES:
            values[name] = SAMPLES[name] if SAMPLES[name] is not None else device_key
        elif isinstance(rule._converters.get(name), IntegerConverter):
            values[name] = 1
        else:
            values[name] = PLACEHOLDER
    built = rule.build(values, append_unknown=False)
    assert built is not None, f"cannot build {rule.rule} from {values}"
    url = built[1]
    if rule.rule.startswith("/survey"):
        url += f"?service={SERVICE}"
    return url


def walked_requests(app: Flask, device_key: str) -> list[tuple[str, str, str]]:
    """``(method, url, endpoint)`` for every method of every registered route."""
    walked = []
    for rule in app.url_map.iter_rules():
        url = sample_url(rule, device_key)
        for method in sorted((rule.methods or set()) - {"HEAD"}):
            walked.append((method, url, rule.endpoint))
    return walked


def test_every_route_answers_with_the_security_headers(app, client, registry, make_device):
    _, key = make_device()
    walked = walked_requests(app, key)
    endpoints = {endpoint for _, _, endpoint in walked}
    assert endpoints == {rule.endpoint for rule in app.url_map.iter_rules()}
    statuses = set()
    for method, url, endpoint in walked:
        response = client.open(url, method=method)
        statuses.add(response.status_code)
        framable = getattr(app.view_functions[endpoint], "embeddable", False)
        assert_security_headers(response, where=f"{method} {url} -> {response.status_code}", framable=framable)
    # The walk met pages, redirects and refusals alike.
    assert 200 in statuses and {301, 302, 303, 308} & statuses and 400 in statuses, statuses


def test_no_route_answers_a_server_error_on_its_sample_address(app, client, registry, make_device):
    _, key = make_device()
    failures = []
    for method, url, _endpoint in walked_requests(app, key):
        response = client.open(url, method=method)
        if response.status_code >= 500:
            failures.append(f"{method} {url} -> {response.status_code}")
    assert not failures, failures


@pytest.mark.parametrize(
    ("method", "url", "status"),
    [
        ("GET", "/no-such-page", 404),
        ("GET", "/api/v1/no-such-thing", 404),
        ("DELETE", "/", 405),
        ("PUT", "/api/v1/responses", 405),
        ("POST", "/r", 400),
        ("GET", "/static/no-such-file.css", 404),
    ],
)
def test_error_answers_carry_the_headers(client, method, url, status):
    response = client.open(url, method=method)
    assert response.status_code == status
    assert_security_headers(response, where=f"{method} {url}")


def test_hsts_only_over_https(client):
    assert_security_headers(client.get("/healthz"), where="http")
    assert_security_headers(client.get("/healthz", base_url="https://localhost"), where="https", https=True)


def test_hsts_from_the_proxy_only_when_the_proxy_is_trusted(tmp_path):
    from tests.conftest import make_app

    forwarded = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.9"}
    direct = make_app(f"sqlite:///{tmp_path / 'direct.sqlite3'}")
    proxied = make_app(f"sqlite:///{tmp_path / 'proxied.sqlite3'}", PROXY_FIX_X_FOR=1)
    assert "Strict-Transport-Security" not in direct.test_client().get("/static/favicon.svg", headers=forwarded).headers
    response = proxied.test_client().get("/static/favicon.svg", headers=forwarded)
    assert response.headers["Strict-Transport-Security"] == HSTS


def test_a_nonce_is_new_for_every_response_and_matches_the_template(tmp_path):
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'nonce.sqlite3'}")

    @app.get("/test-inline")
    def inline():
        return app.jinja_env.from_string('<script nonce="{{ csp_nonce() }}">1</script>').render()

    client = app.test_client()
    nonces = []
    for _ in range(3):
        response = client.get("/test-inline")
        nonce = parse_csp(response.headers["Content-Security-Policy"])["script-src"][1][len("'nonce-") : -1]
        assert response.get_data(as_text=True) == f'<script nonce="{nonce}">1</script>'
        assert len(nonce) >= 16
        nonces.append(nonce)
    assert len(set(nonces)) == 3
    with app.test_request_context():
        assert csp_nonce() == csp_nonce()


def test_embeddable_views_may_be_framed_by_any_site_and_others_by_none(tmp_path):
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'embed.sqlite3'}")

    @app.get("/test-badge")
    @embeddable
    def badge():
        return "<p>badge</p>"

    @app.get("/test-badge-missing")
    @embeddable
    def missing_badge():
        abort(404)

    @app.get("/test-plain")
    def plain():
        return "<p>plain</p>"

    client = app.test_client()
    assert_security_headers(client.get("/test-badge"), where="badge", framable=True)
    assert_security_headers(client.get("/test-badge-missing"), where="missing badge", framable=True)
    assert_security_headers(client.get("/test-plain"), where="plain")


def test_a_server_error_carries_the_headers(tmp_path):
    from tests.conftest import make_app

    app = make_app(f"sqlite:///{tmp_path / 'boom.sqlite3'}")

    @app.get("/test-boom")
    def boom():
        raise RuntimeError("boom")

    response = app.test_client().get("/test-boom")
    assert response.status_code == 500
    assert_security_headers(response, where="500")


def test_the_kiosk_keeps_its_stricter_referrer_policy(client, registry, make_device):
    _, key = make_device()
    response = client.get(f"/kiosk/{key}")
    assert response.status_code == 200
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert_security_headers(response, where="kiosk")


# --- cookies ------------------------------------------------------------------------------


def cookie_attributes(response, name: str) -> dict[str, str]:
    """The attributes of cookie ``name`` in the response's ``Set-Cookie`` headers (lower-case keys)."""
    for header in response.headers.getlist("Set-Cookie"):
        first, *attributes = (part.strip() for part in header.split(";"))
        if first.split("=", 1)[0] == name:
            parsed = {"value": first.split("=", 1)[1]}
            for attribute in attributes:
                key, _, value = attribute.partition("=")
                parsed[key.lower()] = value
            return parsed
    raise AssertionError(f"no {name} cookie in {response.headers.getlist('Set-Cookie')}")


def cookie_app(config_class, tmp_path) -> Flask:
    """An app of ``config_class`` whose ``/test-cookies`` sets a session and a "remember me" cookie."""
    from webapp import create_app

    settings = {"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'cookies.sqlite3'}", "SECRET_KEY": "k" * 40}
    app = create_app(type("CookieConfig", (config_class,), settings))

    @app.get("/test-cookies")
    def set_cookies():
        from flask import session

        session["lang"] = "en"
        # What flask_login.login_user(..., remember=True) leaves for its after-request hook.
        session["_user_id"] = "1:0"
        session["_remember"] = "set"
        return "ok"

    return app


@pytest.mark.parametrize("environment", ["production", "development"])
def test_session_and_remember_cookies(environment, tmp_path):
    from webapp.config import DevelopmentConfig, ProductionConfig

    production = environment == "production"
    app = cookie_app(ProductionConfig if production else DevelopmentConfig, tmp_path)
    response = app.test_client().get("/test-cookies", base_url="https://localhost")
    for name in (app.config["SESSION_COOKIE_NAME"], app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        attributes = cookie_attributes(response, name)
        assert "httponly" in attributes, name
        assert attributes.get("samesite") == "Lax", name
        # Production sends them over HTTPS only; `make run` serves plain http on 127.0.0.1.
        assert ("secure" in attributes) is production, name
