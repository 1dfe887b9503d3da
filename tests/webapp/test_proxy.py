"""``PROXY_FIX_X_FOR``: whose address the application believes, and so whom the rate limits count.

Unset (the default), ``X-Forwarded-For`` is anybody's to write: it must change neither
``request.remote_addr`` nor the rate-limit keys, or one client could dodge every limit by
sending a new forged address each time. Behind one proxy (``PROXY_FIX_X_FOR=1``) the last
hop, the address our own proxy appended, is the client's; earlier entries stay ignored.
"""

from __future__ import annotations

import pytest
from flask import Flask, jsonify, request
from flask_limiter.util import get_remote_address

from tests.conftest import make_app, migrate_database

PEER = "10.0.0.2"
FORGED = "198.51.100.7"
CLIENT = "203.0.113.5"
#: ``GET /r/<token>`` is limited per address (surveys.survey_flow.RECEIPT_LIMIT).
RECEIPT_LIMIT = 60


def observing_app(tmp_path, name: str, **settings) -> Flask:
    """A migrated app whose ``/test-remote`` tells what the application sees of the caller."""
    app = make_app(f"sqlite:///{tmp_path / f'{name}.sqlite3'}", **settings)
    migrate_database(app)

    @app.get("/test-remote")
    def remote():
        from surveys.api import _rate_key

        return jsonify(remote_addr=request.remote_addr, limit_key=get_remote_address(), api_key=_rate_key())

    return app


@pytest.fixture()
def direct_app(tmp_path) -> Flask:
    from webapp.extensions import limiter

    app = observing_app(tmp_path, "direct")
    assert app.config["PROXY_FIX_X_FOR"] == 0
    limiter.reset()
    return app


@pytest.fixture()
def proxied_app(tmp_path) -> Flask:
    from webapp.extensions import limiter

    app = observing_app(tmp_path, "proxied", PROXY_FIX_X_FOR=1)
    limiter.reset()
    return app


def seen(app: Flask, forwarded_for: str | None) -> dict[str, str]:
    headers = {"X-Forwarded-For": forwarded_for} if forwarded_for else {}
    response = app.test_client().get("/test-remote", headers=headers, environ_base={"REMOTE_ADDR": PEER})
    return response.get_json()


def receipt_statuses(app: Flask, forwarded_for: list[str]) -> list[int]:
    """Statuses of ``GET /r/<made-up code>``, one request per ``X-Forwarded-For`` value."""
    client = app.test_client()
    return [
        client.get(
            f"/r/GUESS{index:011d}", headers={"X-Forwarded-For": value}, environ_base={"REMOTE_ADDR": PEER}
        ).status_code
        for index, value in enumerate(forwarded_for)
    ]


def test_without_a_trusted_proxy_a_forged_address_changes_nothing(direct_app):
    assert seen(direct_app, None) == {"remote_addr": PEER, "limit_key": PEER, "api_key": f"ip:{PEER}"}
    assert seen(direct_app, FORGED) == {"remote_addr": PEER, "limit_key": PEER, "api_key": f"ip:{PEER}"}
    assert seen(direct_app, f"{FORGED}, {CLIENT}")["remote_addr"] == PEER


def test_behind_one_proxy_the_last_hop_is_the_client(proxied_app):
    assert seen(proxied_app, CLIENT) == {"remote_addr": CLIENT, "limit_key": CLIENT, "api_key": f"ip:{CLIENT}"}
    # The client wrote the first entry itself; our proxy appended the address it saw.
    assert seen(proxied_app, f"{FORGED}, {CLIENT}")["remote_addr"] == CLIENT
    # No header at all (a request that did not come through the proxy): the peer address.
    assert seen(proxied_app, None)["remote_addr"] == PEER


def test_forged_addresses_do_not_dodge_the_rate_limit(direct_app):
    forged = [f"198.51.100.{index}" for index in range(RECEIPT_LIMIT + 1)]
    statuses = receipt_statuses(direct_app, forged)
    assert set(statuses[:RECEIPT_LIMIT]) == {404}
    assert statuses[-1] == 429


def test_behind_a_proxy_the_limit_counts_each_client(proxied_app):
    clients = [f"203.0.113.{index}" for index in range(RECEIPT_LIMIT + 1)]
    assert set(receipt_statuses(proxied_app, clients)) == {404}


def test_behind_a_proxy_forged_first_entries_do_not_dodge_the_limit(proxied_app):
    forged = [f"198.51.100.{index}, {CLIENT}" for index in range(RECEIPT_LIMIT + 1)]
    statuses = receipt_statuses(proxied_app, forged)
    assert statuses[-1] == 429
