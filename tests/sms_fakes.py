"""A local fake SMS gateway for the two-way survey: it signs and posts citizens' replies to the app's
``POST /sms/inbound`` and records the messages the app sends out.

Outbound messages reach a real HTTP server on 127.0.0.1 (:class:`tests.fakes.FakeGateway`, speaking the
contract of ``webapp/delivery/senders.py``); inbound ones go through the Flask test client, signed exactly
as docs/sms.md says (HMAC-SHA256 over ``timestamp + "." + body``). Nothing leaves the machine.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterator
from contextlib import contextmanager

from tests.fakes import FakeGateway, fake_gateway

SECRET = "sms-webhook-test-secret"  # noqa: S105 (tests only)  # nosec B105


def sign(secret: str, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


class FakeSmsGateway:
    """``reply(phone, text)`` delivers a citizen's SMS to the app; ``sent_to(phone)`` lists what the app sent."""

    def __init__(self, http, outbound: FakeGateway, secret: str = SECRET) -> None:
        self.http = http
        self.outbound = outbound
        self.secret = secret
        self._ids = itertools.count(1)

    def post(
        self,
        document: dict,
        *,
        timestamp: int | None = None,
        secret: str | None = None,
        signature: str | None = None,
        raw: bytes | None = None,
    ):
        """Post ``document`` (or ``raw`` bytes) signed with ``secret`` at ``timestamp`` (now by default)."""
        body = raw if raw is not None else json.dumps(document).encode()
        stamp = str(int(time.time()) if timestamp is None else timestamp)
        headers = {
            "X-Sms-Timestamp": stamp,
            "X-Sms-Signature": signature if signature is not None else sign(secret or self.secret, stamp, body),
        }
        return self.http.post("/sms/inbound", data=body, headers=headers, content_type="application/json")

    def reply(self, phone: str, text: str, message_id: str | None = None):
        """The citizen at ``phone`` texts ``text``; a fresh gateway message id unless one is given."""
        message_id = message_id or f"gw-{next(self._ids)}"
        return self.post({"id": message_id, "from": phone, "text": text})

    def sent(self) -> list[tuple[str, str]]:
        """``(to, text)`` of every SMS the app sent, in order."""
        return [(call.body["to"], call.body["text"]) for call in self.outbound.calls_to("/sms")]

    def sent_to(self, phone_digits: str) -> list[str]:
        return [text for to, text in self.sent() if to.endswith(phone_digits[-9:])]


@contextmanager
def sms_gateway(app, http, secret: str = SECRET) -> Iterator[FakeSmsGateway]:
    """A fake gateway wired into ``app``'s settings (outbound URL and token, inbound secret) for one test."""
    with fake_gateway() as outbound:
        settings = {
            "SMS_GATEWAY_URL": outbound.url + "/sms",
            "SMS_GATEWAY_TOKEN": "gw-secret",
            "SMS_INBOUND_SECRET": secret,
            "DELIVERY_HTTP_TIMEOUT": 2,
        }
        saved = {name: app.config.get(name) for name in settings}
        app.config.update(settings)
        try:
            yield FakeSmsGateway(http, outbound, secret)
        finally:
            app.config.update(saved)
