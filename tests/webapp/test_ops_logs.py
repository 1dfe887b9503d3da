"""Request logs: one line per request with a request id, and nothing personal or secret in it."""

from __future__ import annotations

import io
import json
import logging
import os
import subprocess
import sys
import uuid

import pytest

from tests.conftest import REPO, make_app
from webapp.ops import logs


@pytest.fixture()
def log_lines():
    """The request log as written in JSON, one parsed object per request."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.JsonFormatter())
    logs.logger.addHandler(handler)

    def lines() -> list[dict]:
        return [json.loads(line) for line in stream.getvalue().splitlines()]

    lines.raw = stream.getvalue  # type: ignore[attr-defined]
    yield lines
    logs.logger.removeHandler(handler)


def test_one_json_line_per_request_with_the_expected_fields(client, log_lines):
    response = client.get("/api/v1/units?lang=en")
    [line] = log_lines()
    assert set(line) == {
        "time",
        "request_id",
        "method",
        "route",
        "path",
        "query_keys",
        "status",
        "duration_ms",
        "remote_addr",
        "user_id",
    }
    assert line["method"] == "GET" and line["path"] == "/api/v1/units" and line["route"] == "/api/v1/units"
    assert line["status"] == response.status_code == 200
    assert line["query_keys"] == ["lang"] and line["remote_addr"] == "127.0.0.1" and line["user_id"] is None
    assert isinstance(line["duration_ms"], float) and line["duration_ms"] >= 0
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert line["time"].endswith("+00:00")


def test_query_string_values_are_never_logged(client, log_lines):
    client.get("/units?q=Nguyễn+Văn+An+0912345678")
    raw = log_lines.raw()
    assert "0912345678" not in raw and "Nguy" not in raw
    assert log_lines()[0]["query_keys"] == ["q"]


def test_kiosk_key_and_receipt_token_never_appear(client, log_lines, make_device, kiosk_body):
    device, key = make_device()
    client.get(f"/kiosk/{key}")
    comment = "Cán bộ Nguyễn Thị Hoa rất tận tình, số tôi 0987654321"
    client.post(
        "/api/v1/responses", json=kiosk_body(answers={"overall": 3, "comment": comment}), headers={"X-Device-Key": key}
    )
    token = "K7QF3M9XW2PA"
    client.get(f"/r/{token}")
    client.get(f"/kiosk/{key}/does-not-exist")
    raw = log_lines.raw()
    assert key not in raw and token not in raw
    assert "0987654321" not in raw and "Hoa" not in raw
    kiosk, api, receipt, unknown = log_lines()
    assert kiosk["path"] == "/kiosk/***" and kiosk["route"] == "/kiosk/<device_key>"
    assert api["path"] == "/api/v1/responses" and api["method"] == "POST"
    assert receipt["path"] == "/r/***" and receipt["route"] == "/r/<token>"
    assert unknown["path"].startswith("/kiosk/***") and unknown["status"] == 404


def test_a_valid_incoming_request_id_is_kept_and_echoed(client, log_lines):
    response = client.get("/healthz", headers={"X-Request-ID": "nginx-4f1c2a.77"})
    assert response.headers["X-Request-ID"] == "nginx-4f1c2a.77"
    assert log_lines()[0]["request_id"] == "nginx-4f1c2a.77"


@pytest.mark.parametrize("bad", ["", "has space", "x" * 200, "tab\there", "<script>", "ý-unicode", "-starts-with-dash"])
def test_an_invalid_request_id_is_replaced(client, log_lines, bad):
    response = client.get("/healthz", headers={"X-Request-ID": bad})
    generated = response.headers["X-Request-ID"]
    assert generated != bad and uuid.UUID(hex=generated)
    assert log_lines()[0]["request_id"] == generated


def test_every_request_gets_its_own_id(client):
    first = client.get("/healthz").headers["X-Request-ID"]
    second = client.get("/healthz").headers["X-Request-ID"]
    assert first != second


def test_client_address_is_the_one_proxyfix_trusts(app, db, log_lines):
    proxied = make_app(app.config["SQLALCHEMY_DATABASE_URI"], PROXY_FIX_X_FOR=1)
    proxied.test_client().get("/healthz", headers={"X-Forwarded-For": "203.0.113.9"})
    assert log_lines()[0]["remote_addr"] == "203.0.113.9"


def test_server_errors_log_at_error_level_and_show_the_reference(app, db, log_lines):
    """The error page shows the request id, so a citizen's report can be matched to the log."""
    from sqlalchemy.exc import OperationalError

    broken = make_app(app.config["SQLALCHEMY_DATABASE_URI"])

    @broken.get("/boom")
    def boom():
        raise OperationalError("SELECT 1", {}, Exception("server closed the connection"))

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append  # type: ignore[method-assign]
    logs.logger.addHandler(handler)
    try:
        response = broken.test_client().get("/boom", headers={"X-Request-ID": "req-12345"})
    finally:
        logs.logger.removeHandler(handler)
    assert response.status_code == 503
    assert "req-12345" in response.get_data(as_text=True)
    assert records[0].levelno == logging.ERROR and records[0].request["status"] == 503


def test_signed_in_user_id_is_logged(app):
    class Someone:
        is_authenticated = True

        def get_id(self) -> str:
            return "42"

    with app.test_request_context("/"):
        from flask import g

        g._login_user = Someone()
        assert logs.request_fields(app.response_class("", 200))["user_id"] == "42"


def test_text_format_is_one_readable_line():
    record = logging.LogRecord("x", logging.INFO, __file__, 1, "m", (), None)
    record.request = {
        "time": "2026-01-01T00:00:00.000+00:00",
        "request_id": "abc",
        "method": "GET",
        "route": "/",
        "path": "/kiosk/***",
        "query_keys": None,
        "status": 200,
        "duration_ms": 1.5,
        "remote_addr": "10.0.0.1",
        "user_id": "7",
    }
    assert logs.TextFormatter().format(record) == (
        "2026-01-01T00:00:00.000+00:00 GET /kiosk/*** 200 1.5ms 10.0.0.1 id=abc user=7"
    )


def test_log_format_is_checked_at_start(app):
    with pytest.raises(RuntimeError, match="LOG_FORMAT"):
        make_app(app.config["SQLALCHEMY_DATABASE_URI"], LOG_FORMAT="xml")


def test_production_logs_json_by_default():
    env = {k: v for k, v in os.environ.items() if k != "LOG_FORMAT"}
    code = "import webapp.config as c; print(c.ProductionConfig.LOG_FORMAT, c.DevelopmentConfig.LOG_FORMAT)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=REPO, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["json", "text"]
