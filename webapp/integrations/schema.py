"""What ``POST /api/v1/dossiers`` accepts: one set of rules for the server and its OpenAPI schema.

The regular expressions and limits below are used both to check a body (:func:`parse_dossier`)
and to write the JSON schema of ``public/openapi.py`` (:func:`dossier_schema`), so the document
never accepts what the server refuses or the other way round. Rules that depend on data (the
unit exists and is in the client's scope, it offers the service today, the date is not in the
future) are checked here too and documented as 403/422 answers.
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select

from surveys.submission import FieldError
from webapp.extensions import db
from webapp.integrations.service import CHANNEL_CONTACT, EXCLUSIVE_CHANNELS, DossierRequest, in_scope
from webapp.models import RESPONDENT_TYPES, IntegrationClient, Service, Unit, utcnow
from webapp.periods import VIETNAM

MAX_DOSSIERS_PER_BATCH = 500
MAX_DOSSIER_NUMBER = 60
MAX_CODE = 40
MAX_EMAIL = 254
#: A result "returned" a little ahead of our clock is a clock difference, not the future.
CLOCK_SKEW = timedelta(minutes=5)
#: A dossier returned longer ago than this gets no link: its survey would ask about a service long past.
MAX_AGE = timedelta(days=366)

#: Printable text with at least one visible character: no control characters (C0, DEL, C1).
DOSSIER_NUMBER_PATTERN = r"^(?=.*\S)[^\x00-\x1f\x7f-\x9f]+$"
CODE_PATTERN = r"^[a-z0-9][a-z0-9-]{0,39}$"
#: ISO 8601: a date (a Việt Nam day), or a date and time with an optional offset (none: Việt Nam time).
RETURNED_AT_PATTERN = (
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}"
    r"([T ][0-9]{2}:[0-9]{2}(:[0-9]{2}([.][0-9]{1,6})?)?(Z|[+-][0-9]{2}:[0-9]{2})?)?$"
)
#: A Vietnamese number: 0 or +84, then 9 digits; a space, dot or hyphen may separate any two.
PHONE_PATTERN = r"^(\+84|0)([ .-]?[0-9]){9}$"
EMAIL_PATTERN = r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+\.[^@\s\x00-\x1f\x7f]+$"
CHANNELS = tuple(CHANNEL_CONTACT)
FIELDS = ("dossier_number", "unit", "service", "returned_at", "respondent_type", "contact", "deliver")
CONTACT_FIELDS = ("phone", "email")

# Checked with ``search``, as JSON Schema validators check ``pattern``, so both agree to the character.
_DOSSIER_NUMBER = re.compile(DOSSIER_NUMBER_PATTERN)
_CODE = re.compile(CODE_PATTERN)
_RETURNED_AT = re.compile(RETURNED_AT_PATTERN)
_PHONE = re.compile(PHONE_PATTERN)
_EMAIL = re.compile(EMAIL_PATTERN)


class Refused(Exception):
    """A body refused with ``status`` (403 or 422) and its field errors; nothing was written."""

    def __init__(self, status: int, errors: list[FieldError]) -> None:
        self.status = status
        self.errors = errors
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in errors))


def _encodable(value: str) -> bool:
    """False for text with lone surrogates (JSON allows ``"\\ud800"``; UTF-8, hashes and databases do not)."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _matches(pattern: re.Pattern[str], value: Any, max_length: int | None = None) -> bool:
    return (
        isinstance(value, str)
        and (max_length is None or len(value) <= max_length)
        and pattern.search(value) is not None
        and _encodable(value)
    )


def _string(body: dict, name: str, pattern: re.Pattern[str], max_length: int, errors: list[FieldError]) -> str | None:
    value = body.get(name)
    if value is None:
        errors.append(FieldError(name, "missing"))
    elif not isinstance(value, str):
        errors.append(FieldError(name, "invalid_type"))
    elif len(value) > max_length:
        errors.append(FieldError(name, "too_long", {"max": max_length}))
    elif pattern.search(value) is None or not _encodable(value):
        errors.append(FieldError(name, "invalid_format"))
    else:
        return value
    return None


def parse_returned_at(text: str) -> datetime | None:
    """The instant of an ISO date (the start of that Việt Nam day) or date-time (Việt Nam time without offset)."""
    text = text.strip()
    try:
        if len(text) == 10:
            return datetime.combine(datetime.fromisoformat(text).date(), time.min, tzinfo=VIETNAM)
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=VIETNAM)


def parse_dossier(body: Any, client: IntegrationClient, now: datetime | None = None) -> DossierRequest:
    """The checked report of ``body``, or :class:`Refused` naming every field at fault."""
    now = now or utcnow()
    if not isinstance(body, dict):
        raise Refused(422, [FieldError("body", "invalid_json")])
    errors: list[FieldError] = []
    for name in sorted(set(body) - set(FIELDS), key=str):
        errors.append(FieldError(str(name)[:MAX_CODE], "unknown_field"))
    number = _string(body, "dossier_number", _DOSSIER_NUMBER, MAX_DOSSIER_NUMBER, errors)
    unit_code = _string(body, "unit", _CODE, MAX_CODE, errors)
    service_code = _string(body, "service", _CODE, MAX_CODE, errors)
    returned_text = _string(body, "returned_at", _RETURNED_AT, 40, errors)
    returned_at = None
    if returned_text is not None:
        returned_at = parse_returned_at(returned_text)
        if returned_at is None:
            errors.append(FieldError("returned_at", "invalid_date"))
        elif returned_at > now + CLOCK_SKEW:
            errors.append(FieldError("returned_at", "returned_in_future"))
        elif returned_at < now - MAX_AGE:
            errors.append(FieldError("returned_at", "returned_too_old", {"days": MAX_AGE.days}))
    respondent_type = body.get("respondent_type")
    if respondent_type is not None and respondent_type not in RESPONDENT_TYPES:
        errors.append(FieldError("respondent_type", "invalid_choice"))
    contact: dict[str, str] = {}
    raw_contact = body.get("contact")
    if raw_contact is not None:
        if not isinstance(raw_contact, dict):
            errors.append(FieldError("contact", "invalid_type"))
        else:
            for name in sorted(set(raw_contact) - set(CONTACT_FIELDS), key=str):
                errors.append(FieldError(f"contact.{str(name)[:MAX_CODE]}", "unknown_field"))
            phone, email = raw_contact.get("phone"), raw_contact.get("email")
            if phone is not None:
                if _matches(_PHONE, phone, 40):
                    contact["phone"] = "+84" + re.sub(r"[^0-9]", "", phone)[-9:]
                else:
                    errors.append(FieldError("contact.phone", "invalid_phone"))
            if email is not None:
                if _matches(_EMAIL, email, MAX_EMAIL):
                    contact["email"] = email.strip()
                else:
                    errors.append(FieldError("contact.email", "invalid_email"))
    deliver: list[str] = []
    raw_deliver = body.get("deliver")
    if raw_deliver is not None:
        if (
            not isinstance(raw_deliver, list)
            or len(raw_deliver) > len(CHANNELS)
            or not all(isinstance(channel, str) and channel in CHANNELS for channel in raw_deliver)
        ):
            errors.append(FieldError("deliver", "invalid_choice"))
        elif len(set(raw_deliver)) != len(raw_deliver):
            errors.append(FieldError("deliver", "duplicate_choice"))
        elif set(EXCLUSIVE_CHANNELS) <= set(raw_deliver):
            errors.append(FieldError("deliver", "conflicting_choice", {"channels": " + ".join(EXCLUSIVE_CHANNELS)}))
        else:
            deliver = list(raw_deliver)
            if not any(error.field.startswith("contact") for error in errors):
                for channel in deliver:
                    needs = CHANNEL_CONTACT[channel]
                    if needs not in contact:
                        errors.append(FieldError("deliver", "contact_missing", {"channel": channel, "needs": needs}))
    if errors:
        raise Refused(422, errors)

    if number is None or unit_code is None or service_code is None or returned_at is None:  # pragma: no cover
        raise Refused(422, [FieldError("body", "invalid_json")])  # each has its error above
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    if unit is None:
        raise Refused(422, [FieldError("unit", "unknown_unit")])
    if not in_scope(client, unit):
        raise Refused(403, [FieldError("unit", "out_of_scope")])
    service = db.session.scalar(select(Service).where(Service.code == service_code))
    if service is None:
        raise Refused(422, [FieldError("service", "unknown_service")])
    today = now.astimezone(VIETNAM).date()
    if not unit.valid_on(today):
        raise Refused(422, [FieldError("unit", "unit_ended")])
    if service not in unit.services_on(today):
        raise Refused(422, [FieldError("service", "not_offered")])
    return DossierRequest(
        dossier_number=" ".join(number.split()),
        unit=unit,
        service=service,
        returned_at=returned_at,
        respondent_type=respondent_type,
        contact=contact,
        deliver=deliver,
    )


def dossier_schema() -> dict[str, Any]:
    """The JSON schema of one dossier report, from the same rules as :func:`parse_dossier`."""
    nullable_text = ["string", "null"]
    return {
        "type": "object",
        "additionalProperties": False,
        "required": ["dossier_number", "unit", "service", "returned_at"],
        "properties": {
            "dossier_number": {
                "type": "string",
                "minLength": 1,
                "maxLength": MAX_DOSSIER_NUMBER,
                "pattern": DOSSIER_NUMBER_PATTERN,
                "description": "The dossier's number (mã hồ sơ) in the one-stop system. Never stored in clear: the "
                "same number for the same unit always answers the same link. Runs of spaces count as one.",
                "examples": ["000.00.12.H52-261207-0001"],
            },
            "unit": {
                "type": "string",
                "maxLength": MAX_CODE,
                "pattern": CODE_PATTERN,
                "description": "Code of the unit that returned the result (see /units); it must be in the "
                "client's scope (403 otherwise) and exist today (422).",
                "examples": ["sl-ttpvhcc"],
            },
            "service": {
                "type": "string",
                "maxLength": MAX_CODE,
                "pattern": CODE_PATTERN,
                "description": "Code of the service group; the unit must offer it today (422 otherwise).",
                "examples": ["land"],
            },
            "returned_at": {
                "type": "string",
                "maxLength": 40,
                "pattern": RETURNED_AT_PATTERN,
                "description": "When the result was returned: an ISO 8601 date (a Việt Nam day) or date and time; "
                "without an offset the time is Việt Nam time. Neither in the future nor more than 366 days ago (422).",
                "examples": ["2026-12-07T09:30:00+07:00", "2026-12-07"],
            },
            "respondent_type": {"enum": [*RESPONDENT_TYPES, None]},
            "contact": {
                "type": ["object", "null"],
                "additionalProperties": False,
                "description": "Used once to send the link (with `deliver`), then discarded: never stored or logged.",
                "properties": {
                    "phone": {
                        "type": nullable_text,
                        "maxLength": 40,
                        "pattern": PHONE_PATTERN,
                        "description": "A Vietnamese number: 0 or +84 then 9 digits; single spaces, dots or "
                        "hyphens may separate the digits.",
                        "examples": ["0912 345 678", "+84912345678"],
                    },
                    "email": {
                        "type": nullable_text,
                        "maxLength": MAX_EMAIL,
                        "pattern": EMAIL_PATTERN,
                        "examples": ["nguyenvana@example.vn"],
                    },
                },
            },
            "deliver": {
                "type": ["array", "null"],
                "maxItems": len(CHANNELS),
                "uniqueItems": True,
                "items": {"type": "string", "enum": list(CHANNELS)},
                "description": "Send the link by these channels (sms and zalo need `contact.phone`, email "
                "`contact.email`: 422 otherwise). `sms_survey` (needs `contact.phone`) asks the two-way SMS survey "
                "instead of sending the link by SMS, for feature phones: the citizen answers 1-5 by reply; not "
                "with `sms` (422). Only when the dossier is new: a repeated report sends nothing.",
            },
        },
        # One SMS conversation or one SMS with the link, not both (the rule of ``conflicting_choice``).
        "not": {
            "required": ["deliver"],
            "properties": {
                "deliver": {"type": "array", "allOf": [{"contains": {"const": c}} for c in EXCLUSIVE_CHANNELS]}
            },
        },
        # A channel needs its contact (the rule of ``contact_missing``).
        "allOf": [
            _channel_needs(channels, needs)
            for needs, channels in (("phone", ["sms", "zalo", "sms_survey"]), ("email", ["email"]))
        ],
    }


def _channel_needs(channels: list[str], needs: str) -> dict[str, Any]:
    return {
        "if": {"required": ["deliver"], "properties": {"deliver": {"type": "array", "contains": {"enum": channels}}}},
        "then": {
            "required": ["contact"],
            "properties": {
                "contact": {"type": "object", "required": [needs], "properties": {needs: {"type": "string"}}}
            },
        },
    }
