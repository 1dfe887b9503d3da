"""Provider adapters behind one interface: ``Sender.send(message) -> SendResult``.

Each adapter raises :class:`TransientSendError` for what may work later (a timeout, a refused
connection, HTTP 5xx, HTTP 429 with its ``Retry-After``, an SMTP 4xx) and :class:`PermanentSendError`
for what never will (HTTP 4xx other than 429, an SMTP 5xx, a provider's error code). Neither ever
carries the recipient or the provider's free text: only a short reason code.

Every call passes our delivery id as the provider's reference (SMS ``ref``, Zalo ``tracking_id``,
e-mail ``Message-ID``), so a provider that deduplicates on it drops the copy sent again when a worker
died between the provider's acceptance and our commit.

**SMS gateway contract** (``SMS_GATEWAY_URL``, ``SMS_GATEWAY_TOKEN``), the shape most Vietnamese
brandname-SMS gateways take, or that a thin proxy in front of one gives::

    POST {SMS_GATEWAY_URL}
    Authorization: Bearer {SMS_GATEWAY_TOKEN}
    Content-Type: application/json

    {"to": "84912345678", "text": "<GSM 7-bit, at most 160 characters>", "ref": "delivery-42"}

    2xx  {"id": "<the gateway's message id>"}   accepted ("message_id" is read too)
    429  (Retry-After: seconds or an HTTP date)  rate limited: retried after that time
    5xx, timeout                                 retried with back-off
    other 4xx                                    refused for good (bad number, bad token...)

The gateway should treat a second call with the same ``ref`` as the same message.

**Zalo ZNS** (``ZALO_ZNS_URL``, ``ZALO_ACCESS_TOKEN``, ``ZALO_TEMPLATE_ID``): ``POST`` with the
header ``access_token`` and ``{"phone": "84…", "template_id", "template_data": {"unit_name",
"code", "link", "optout_link"}, "tracking_id"}``; Zalo answers HTTP 200 with ``{"error": 0, "data":
{"msg_id": …}}``, or a non-zero ``error`` (``-32``: too many requests, retried; others refused).
The approved template must declare those four parameters.
"""

from __future__ import annotations

import email.utils
import smtplib
import ssl
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import requests

#: Seconds to connect and to read an answer, unless ``DELIVERY_HTTP_TIMEOUT`` says otherwise.
DEFAULT_TIMEOUT = 10.0
#: Zalo's error code for "too many requests".
ZALO_RATE_LIMITED = -32


@dataclass(frozen=True)
class Message:
    """What to send to whom. ``to`` is the contact: it lives only in memory, never in a log."""

    channel: str
    to: str
    text: str
    #: Our reference (``delivery-<id>``), passed on for providers that deduplicate.
    ref: str
    subject: str = ""
    html: str | None = None
    #: Zalo ZNS template parameters.
    template_data: dict[str, str] = field(default_factory=dict)
    #: The opt-out page, as the e-mail's ``List-Unsubscribe`` header (RFC 2369) too.
    unsubscribe_url: str | None = None

    def __repr__(self) -> str:  # never print the contact, even in a traceback
        return f"Message(channel={self.channel!r}, ref={self.ref!r})"


@dataclass(frozen=True)
class SendResult:
    provider_ref: str


class SendError(Exception):
    """A send that did not go through; ``reason`` is a short code without personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientSendError(SendError):
    def __init__(self, reason: str, retry_after_ms: int | None = None) -> None:
        super().__init__(reason)
        self.retry_after_ms = retry_after_ms


class PermanentSendError(SendError):
    pass


class Sender(Protocol):
    channel: str

    def send(self, message: Message) -> SendResult: ...


# --- e-mail ------------------------------------------------------------------------------------


class SmtpSender:
    """E-mail over SMTP: ``SMTP_URL`` = ``smtp://user:pass@host:port?starttls=1`` (or ``smtps://``)."""

    channel = "email"

    def __init__(self, url: str, mail_from: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("SMTP_URL must look like smtp://user:pass@host:port?starttls=1")
        self.ssl = parts.scheme == "smtps"
        self.host = parts.hostname
        self.port = parts.port or (465 if self.ssl else 25)
        self.username = unquote(parts.username) if parts.username else None
        self.password = unquote(parts.password) if parts.password else None
        query = parse_qs(parts.query)
        self.starttls = query.get("starttls", ["0"])[0].lower() in ("1", "true", "yes")
        self.mail_from = mail_from
        self.timeout = timeout

    def message_id(self, ref: str) -> str:
        domain = self.mail_from.rpartition("@")[2].strip("> ") or "localhost"
        return f"<{ref}@{domain}>"

    def build(self, message: Message) -> EmailMessage:
        mail = EmailMessage()
        mail["From"] = self.mail_from
        mail["To"] = message.to
        mail["Subject"] = message.subject
        mail["Date"] = email.utils.format_datetime(datetime.now(UTC))
        mail["Message-ID"] = self.message_id(message.ref)
        if message.unsubscribe_url:
            mail["List-Unsubscribe"] = f"<{message.unsubscribe_url}>"
        mail.set_content(message.text)
        if message.html:
            mail.add_alternative(message.html, subtype="html")
        return mail

    def send(self, message: Message) -> SendResult:
        mail = self.build(message)
        try:
            if self.ssl:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    self.host, self.port, timeout=self.timeout, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
            with client:
                if self.starttls:
                    client.starttls(context=ssl.create_default_context())
                if self.username:
                    client.login(self.username, self.password or "")
                client.send_message(mail)
        except smtplib.SMTPRecipientsRefused as error:
            codes = [code for code, _ in error.recipients.values()]
            if codes and all(400 <= code < 500 for code in codes):
                raise TransientSendError("smtp_temporary") from None
            raise PermanentSendError("rejected") from None
        except smtplib.SMTPAuthenticationError:
            raise PermanentSendError("auth_failed") from None
        except smtplib.SMTPResponseException as error:
            if 400 <= error.smtp_code < 500:
                raise TransientSendError("smtp_temporary") from None
            raise PermanentSendError("rejected") from None
        except TimeoutError:
            raise TransientSendError("timeout") from None
        except (OSError, smtplib.SMTPException):
            raise TransientSendError("unreachable") from None
        return SendResult(provider_ref=mail["Message-ID"])


# --- HTTP providers ------------------------------------------------------------------------


def retry_after_ms(value: str | None) -> int | None:
    """``Retry-After`` (delta-seconds or an HTTP date) in milliseconds, or ``None``."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return int(value) * 1000
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0, int((moment - datetime.now(UTC)).total_seconds() * 1000))


def _post_json(url: str, body: dict, headers: dict[str, str], timeout: float) -> dict:
    """POST ``body``; the JSON answer of a 2xx, else the matching :class:`SendError`."""
    try:
        answer = requests.post(url, json=body, headers=headers, timeout=(timeout, timeout))
    except requests.Timeout:
        raise TransientSendError("timeout") from None
    except requests.RequestException:
        raise TransientSendError("unreachable") from None
    status = answer.status_code
    if status == 429:
        raise TransientSendError("rate_limited", retry_after_ms(answer.headers.get("Retry-After")))
    if status >= 500:
        raise TransientSendError("server_error", retry_after_ms(answer.headers.get("Retry-After")))
    if status >= 400:
        raise PermanentSendError("unauthorised" if status in (401, 403) else "rejected")
    if status >= 300:
        raise PermanentSendError("provider_error")
    try:
        document = answer.json()
    except ValueError:
        document = {}
    return document if isinstance(document, dict) else {}


class HttpSmsSender:
    """SMS through an HTTP gateway (contract in this module's docstring)."""

    channel = "sms"

    def __init__(self, url: str, token: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.token = token
        self.timeout = timeout

    def send(self, message: Message) -> SendResult:
        headers = {"Authorization": f"Bearer {self.token}", "Accept": "application/json"}
        document = _post_json(
            self.url, {"to": message.to, "text": message.text, "ref": message.ref}, headers, self.timeout
        )
        reference = document.get("id") or document.get("message_id") or message.ref
        return SendResult(provider_ref=str(reference)[:120])


class ZaloZnsSender:
    """Zalo Notification Service template messages (``/message/template``)."""

    channel = "zalo"

    def __init__(self, url: str, access_token: str, template_id: str, timeout: float = DEFAULT_TIMEOUT) -> None:
        self.url = url
        self.access_token = access_token
        self.template_id = template_id
        self.timeout = timeout

    def body(self, message: Message) -> dict:
        return {
            "phone": message.to,
            "template_id": self.template_id,
            "template_data": dict(message.template_data),
            "tracking_id": message.ref,
        }

    def send(self, message: Message) -> SendResult:
        headers = {"access_token": self.access_token, "Accept": "application/json"}
        document = _post_json(self.url, self.body(message), headers, self.timeout)
        code = document.get("error", 0)
        if code == ZALO_RATE_LIMITED:
            raise TransientSendError("rate_limited")
        if code not in (0, "0"):
            raise PermanentSendError("provider_error")
        data = document.get("data") if isinstance(document.get("data"), dict) else {}
        return SendResult(provider_ref=str(data.get("msg_id") or message.ref)[:120])


def sender_for(channel: str, config) -> Sender | None:
    """The configured adapter of ``channel``, or ``None`` when its settings are missing."""
    timeout = float(config.get("DELIVERY_HTTP_TIMEOUT") or DEFAULT_TIMEOUT)
    if channel == "email" and config.get("SMTP_URL") and config.get("MAIL_FROM"):
        return SmtpSender(config["SMTP_URL"], config["MAIL_FROM"], timeout=timeout)
    if channel == "sms" and config.get("SMS_GATEWAY_URL") and config.get("SMS_GATEWAY_TOKEN"):
        return HttpSmsSender(config["SMS_GATEWAY_URL"], config["SMS_GATEWAY_TOKEN"], timeout=timeout)
    if (
        channel == "zalo"
        and config.get("ZALO_ZNS_URL")
        and config.get("ZALO_ACCESS_TOKEN")
        and config.get("ZALO_TEMPLATE_ID")
    ):
        return ZaloZnsSender(
            config["ZALO_ZNS_URL"], config["ZALO_ACCESS_TOKEN"], config["ZALO_TEMPLATE_ID"], timeout=timeout
        )
    return None
