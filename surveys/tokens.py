"""Single-use receipt tokens: the QR code printed on a dossier's receipt.

A token is derived from the dossier's case number with a server secret, so printing the
receipt again gives the same token and nobody can make one without the secret. Its last
character is a check character, so a mistyped code (from the short URL on paper) is told
apart from a forged or unknown one. Only hashes are stored: neither the case number nor the
token can be read back from the database.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from flask import current_app
from sqlalchemy import select

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import ReceiptToken, Service, Unit, utcnow

#: Crockford's base-32 alphabet: no I, L, O or U, so codes survive being read aloud or retyped.
ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
BODY_LENGTH = 15
VALIDITY = timedelta(days=60)


class TokenState(Enum):
    VALID = "valid"
    USED = "used"
    EXPIRED = "expired"
    MISTYPED = "mistyped"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class TokenCheck:
    state: TokenState
    token: ReceiptToken | None = None


def _secret(purpose: str) -> bytes:
    return hmac.new(current_app.config["SECRET_KEY"].encode(), purpose.encode(), hashlib.sha256).digest()


def _check_character(body: str) -> str:
    total = sum((index + 1) * ALPHABET.index(char) for index, char in enumerate(body))
    return ALPHABET[total % 32]


def normalise(token: str) -> str:
    """Upper-case, drop separators and read look-alike letters as Crockford does."""
    cleaned = token.strip().upper().replace("-", "").replace(" ", "")
    return cleaned.translate(str.maketrans({"O": "0", "I": "1", "L": "1", "U": "V"}))


def case_digest(unit: Unit, case_number: str) -> str:
    """HMAC of the case number: lets us refuse duplicates without keeping the number."""
    message = f"{unit.code}:{case_number.strip()}".encode()
    return hmac.new(_secret("receipt-case"), message, hashlib.sha256).hexdigest()


def token_for(unit: Unit, case_number: str) -> str:
    digest = hmac.new(_secret("receipt-token"), case_digest(unit, case_number).encode(), hashlib.sha256).digest()
    body = "".join(ALPHABET[b % 32] for b in digest[:BODY_LENGTH])
    return body + _check_character(body)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def find_token(unit: Unit, case_number: str) -> tuple[str, ReceiptToken | None]:
    """The dossier's token and its stored row (``None`` if never issued)."""
    token = token_for(unit, case_number)
    return token, db.session.scalar(select(ReceiptToken).where(ReceiptToken.token_hash == token_hash(token)))


def issue_token(
    unit: Unit,
    service: Service,
    case_number: str,
    actor: str = "cli",
    now: datetime | None = None,
    *,
    audit: bool = True,
) -> tuple[str, ReceiptToken]:
    """The token for one dossier, stored on first issue; issuing again returns the same one.

    The storage step only: pages and commands go through ``webapp.services.receipts``, which
    caps codes at the unit's dossier counts, refuses reprinting spent codes and audits one
    event per batch (``audit=False`` here).
    """
    if not case_number.strip():
        raise ValueError("the case number is empty")
    if service not in unit.services:
        raise ValueError(f"unit {unit.code} does not offer service {service.code}")
    now = now or utcnow()
    token, row = find_token(unit, case_number)
    if row is None:
        row = ReceiptToken(
            token_hash=token_hash(token),
            unit=unit,
            service=service,
            case_digest=case_digest(unit, case_number),
            issued_at=now,
            expires_at=now + VALIDITY,
        )
        db.session.add(row)
        db.session.flush()
        if audit:
            record_event(
                "token.issue",
                actor=actor,
                object_type="receipt_token",
                object_id=row.id,
                after={"unit": unit.code, "service": service.code},
            )
    return token, row


def is_spent(row: ReceiptToken, now: datetime | None = None) -> bool:
    """A revoked, used or expired code: printing it again would give a dead QR code."""
    return row.revoked_at is not None or row.used_at is not None or row.expires_at <= (now or utcnow())


def check_token(raw: str, now: datetime | None = None) -> TokenCheck:
    """What a scanned or typed token is: valid, used, expired, mistyped or unknown."""
    token = normalise(raw or "")
    if len(token) != BODY_LENGTH + 1 or any(c not in ALPHABET for c in token):
        return TokenCheck(TokenState.MISTYPED)
    if _check_character(token[:-1]) != token[-1]:
        return TokenCheck(TokenState.MISTYPED)
    row = db.session.scalar(select(ReceiptToken).where(ReceiptToken.token_hash == token_hash(token)))
    if row is None or row.revoked_at is not None:
        return TokenCheck(TokenState.UNKNOWN)
    if row.used_at is not None:
        return TokenCheck(TokenState.USED, row)
    if (now or utcnow()) > row.expires_at:
        return TokenCheck(TokenState.EXPIRED, row)
    return TokenCheck(TokenState.VALID, row)


def display_token(token: str) -> str:
    """``ABCD-EFGH-JKMN-PQRS``: groups of four for people who type it."""
    return "-".join(token[i : i + 4] for i in range(0, len(token), 4))
