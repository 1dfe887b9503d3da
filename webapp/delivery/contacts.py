"""Contacts without storing them: keyed hashes of phone numbers and e-mail addresses, opt-outs.

Only a keyed hash of the normalised contact is ever stored (``delivery_optouts.contact_digest``):
an HMAC with a key derived from the app secret and a purpose (``delivery-optout``…), cut to 80 bits
(16 characters of Crockford base 32; a collision among ten million contacts has odds of about 1 in
10^10). An opt-out link's token is that hash plus a 4-character signature (HMAC with another
purpose), so the link fits in an SMS, nobody can make one for a phone number they do not own, and a
made-up token is refused before anything is written. The page behind the link is
:mod:`webapp.delivery.optout`; the link sender (:mod:`webapp.delivery.worker`) and the SMS survey
(:mod:`webapp.sms.service`) use these functions.
"""

from __future__ import annotations

import hashlib
import hmac
import re

from flask import current_app
from sqlalchemy import select

from webapp.delivery import insert_ignoring_duplicates
from webapp.extensions import db
from webapp.models.delivery import DeliveryOptout
from webapp.models.types import utcnow
from webapp.urls import public_url

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
KEY_LENGTH = 16
SIGNATURE_LENGTH = 4
TOKEN_LENGTH = KEY_LENGTH + SIGNATURE_LENGTH
_TOKEN = re.compile(rf"^[{ALPHABET}]{{{TOKEN_LENGTH}}}$")


def keyed(purpose: str) -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), purpose.encode(), hashlib.sha256).digest()


def _base32(raw: bytes, length: int) -> str:
    number = int.from_bytes(raw, "big")
    chars = []
    for _ in range(length):
        number, index = divmod(number, 32)
        chars.append(ALPHABET[index])
    return "".join(chars)


def normalise_phone(phone: str) -> str:
    """``84`` followed by the national number, digits only (``0912 345 678`` → ``84912345678``)."""
    digits = re.sub(r"\D", "", phone or "")
    if digits.startswith("0"):
        digits = "84" + digits[1:]
    return digits


def normalise_email(address: str) -> str:
    return (address or "").strip().lower()


def normalise_contact(channel: str, value: str) -> str:
    """The form of ``value`` whose hash is compared: one phone number by SMS or Zalo is one person."""
    if channel == "email":
        return "email:" + normalise_email(value)
    return "phone:" + normalise_phone(value)


def contact_digest(channel: str, value: str) -> str:
    """Keyed hash of the normalised contact (the only thing an opt-out stores)."""
    mac = hmac.new(keyed("delivery-optout"), normalise_contact(channel, value).encode(), hashlib.sha256).digest()
    return _base32(mac[:10], KEY_LENGTH)


def _signature(digest: str) -> str:
    mac = hmac.new(keyed("delivery-optout-link"), digest.encode(), hashlib.sha256).digest()
    return _base32(mac[:3], SIGNATURE_LENGTH)


def optout_token(channel: str, value: str) -> str:
    digest = contact_digest(channel, value)
    return digest + _signature(digest)


def optout_url(channel: str, value: str) -> str:
    """The public opt-out link of a contact (built without a request, for jobs)."""
    return public_url(f"/optout/{optout_token(channel, value)}")


def digest_from_token(token: str) -> str | None:
    """The contact digest a token signs, or ``None`` for a malformed or forged token."""
    token = (token or "").strip().lower()
    if not _TOKEN.match(token):
        return None
    digest, signature = token[:KEY_LENGTH], token[KEY_LENGTH:]
    if not hmac.compare_digest(signature, _signature(digest)):
        return None
    return digest


def is_opted_out(channel: str, value: str) -> bool:
    digest = contact_digest(channel, value)
    return db.session.scalar(select(DeliveryOptout.id).where(DeliveryOptout.contact_digest == digest)) is not None


def record_optout(digest: str) -> bool:
    """Store the opt-out (idempotent, also when the same person presses twice at once); ``True`` when new.

    The caller commits.
    """

    if db.session.scalar(select(DeliveryOptout.id).where(DeliveryOptout.contact_digest == digest)) is not None:
        return False
    insert_ignoring_duplicates(DeliveryOptout.__table__, contact_digest=digest, created_at=utcnow())
    return True
