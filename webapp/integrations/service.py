"""The rules of machine clients and the dossiers they report: used by the CLI, the admin page and the API.

**Clients.** :func:`create_client` makes a client for a unit with a fresh secret token (32 random
bytes, URL-safe) and stores only its SHA-256: the token is returned once, to be shown once. A
client acts for its unit and every unit below it (``Unit.path`` prefix, as staff scopes do).
:func:`revoke_client` stops a token at once; :func:`authenticate` finds the active client of a
presented token. Creating and revoking write an audit event (client id, unit; never the token).

**Dossiers.** :func:`register_dossier` gives one returned dossier its survey link: the receipt token
that ``surveys/tokens.py`` derives from the unit and the dossier number with the server secret, so
the same dossier always gets the same link (and a receipt printed at the counter for it is the same
code). The token row and the :class:`~webapp.models.Dossier` row are inserted with
``ON CONFLICT DO NOTHING`` on their unique constraints and read back, so 50 concurrent calls for
one dossier store one token and one dossier and all answer the same link. The dossier number is
never stored (the token's ``case_digest`` is an HMAC of it) and the contact never reaches this
module's storage: it is handed to :func:`webapp.delivery.request_delivery` once, for a new dossier.
The printed-receipt allowance of ``webapp/services/receipts.py`` does not apply: the one-stop
system is the source of the dossiers; clients are rate-limited instead (see ``api.py``).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from surveys import tokens as token_store
from webapp import delivery
from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Dossier, IntegrationClient, ReceiptToken, Service, Unit, utcnow
from webapp.periods import VIETNAM
from webapp.services import ServiceError, actor_name
from webapp.urls import public_url

log = logging.getLogger(__name__)

#: Bytes of randomness in a client's secret token.
TOKEN_BYTES = 32
#: Prefix of every secret token, so secret scanners and people recognise one.
TOKEN_PREFIX = "slsi_"  # noqa: S105 (a prefix, not a secret)  # nosec B105
CLIENT_PREFIX = "ic_"
MAX_NAME = 200
#: ``last_used_at`` is written at most this often per client (one write per call would serialise them).
LAST_USED_RESOLUTION_SECONDS = 60
#: Delivery channels and the contact field each needs; ``sms_survey`` asks the two-way SMS survey
#: (``webapp.sms``) instead of sending the link by SMS, for feature phones.
CHANNEL_CONTACT = {"sms": "phone", "zalo": "phone", "email": "email", "sms_survey": "phone"}
#: Channels that may not be asked together: one SMS conversation, or one SMS with the link.
EXCLUSIVE_CHANNELS = ("sms", "sms_survey")


# --- clients ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class NewClient:
    """A client just made, with its secret token (shown once, never stored)."""

    client: IntegrationClient
    token: str


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


def in_scope(client: IntegrationClient, unit: Unit) -> bool:
    """Whether ``client`` may act for ``unit``: its own unit or one below it in the registry tree."""
    return unit.path.startswith(client.unit.path)


def create_client(name: str, unit: Unit | None, *, actor=None) -> NewClient:
    """A new active client for ``unit``; raises :class:`ServiceError` on a bad name or unit (nothing written)."""
    name = " ".join((name or "").split())
    if not name:
        raise ServiceError("client_name_missing")
    if len(name) > MAX_NAME or not name.isprintable():
        raise ServiceError("client_name_invalid", max=MAX_NAME)
    if unit is None:
        raise ServiceError("client_unit_missing")
    token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
    client = IntegrationClient(
        client_id=CLIENT_PREFIX + secrets.token_hex(8),
        name=name,
        token_hash=hash_token(token),
        unit=unit,
        created_at=utcnow(),
    )
    db.session.add(client)
    db.session.flush()
    record_event(
        "integration.client_create",
        actor=actor_name(actor),
        object_type="integration_client",
        object_id=client.client_id,
        after={"client": client.client_id, "name": name, "unit": unit.code},
    )
    return NewClient(client, token)


def find_client(client_id: str) -> IntegrationClient | None:
    client_id = (client_id or "").strip()
    if not client_id or len(client_id) > 40:
        return None
    return db.session.scalar(select(IntegrationClient).where(IntegrationClient.client_id == client_id))


def revoke_client(client: IntegrationClient, *, actor=None) -> bool:
    """Stop the client's token now; ``False`` when it was revoked already."""
    if client.revoked_at is not None:
        return False
    client.revoked_at = utcnow()
    record_event(
        "integration.client_revoke",
        actor=actor_name(actor),
        object_type="integration_client",
        object_id=client.client_id,
        before={"revoked_at": None},
        after={"client": client.client_id, "unit": client.unit.code, "revoked_at": client.revoked_at.isoformat()},
    )
    return True


def list_clients() -> list[IntegrationClient]:
    return list(
        db.session.scalars(select(IntegrationClient).order_by(IntegrationClient.created_at, IntegrationClient.id))
    )


def authenticate(token: str | None) -> IntegrationClient | None:
    """The active client whose token is ``token``, else ``None`` (unknown, malformed or revoked)."""
    if not token or len(token) > 200 or not token.isascii():
        return None
    digest = hash_token(token)
    client = db.session.scalar(select(IntegrationClient).where(IntegrationClient.token_hash == digest))
    if client is None or not hmac.compare_digest(client.token_hash, digest) or client.revoked_at is not None:
        return None
    return client


def touch(client: IntegrationClient, now: datetime | None = None) -> None:
    """Note that the client called now (at most once a minute, so concurrent calls do not queue on its row)."""
    now = now or utcnow()
    since = datetime.fromtimestamp(now.timestamp() - LAST_USED_RESOLUTION_SECONDS, tz=now.tzinfo)
    db.session.execute(
        update(IntegrationClient)
        .where(
            IntegrationClient.id == client.id,
            or_(IntegrationClient.last_used_at.is_(None), IntegrationClient.last_used_at < since),
        )
        .values(last_used_at=now)
        .execution_options(synchronize_session=False)
    )


# --- dossiers -----------------------------------------------------------------------------------


@dataclass
class DossierRequest:
    """A checked dossier report (see ``webapp.integrations.schema``)."""

    dossier_number: str
    unit: Unit
    service: Service
    returned_at: datetime
    respondent_type: str | None = None
    #: Used once to send the link, never stored or logged.
    contact: dict[str, str] = field(default_factory=dict, repr=False)
    deliver: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class IssuedLink:
    """The survey link of one dossier; ``created`` is false when the dossier already had it."""

    token: str
    row: ReceiptToken
    dossier: Dossier
    created: bool

    @property
    def survey_url(self) -> str:
        return public_url(f"/r/{self.token}")

    @property
    def code(self) -> str:
        return token_store.display_token(self.token)

    @property
    def expires_on(self) -> date:
        """The last Việt Nam day the link can be used."""
        return self.row.expires_at.astimezone(VIETNAM).date()

    def body(self) -> dict[str, Any]:
        return {"survey_url": self.survey_url, "code": self.code, "expires_on": self.expires_on.isoformat()}


class DossierConflict(Exception):
    """The dossier number was reported before for another service of the unit (nothing written)."""


def _insert_or_nothing(model, values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING (any unique constraint); ``True`` when the row was inserted."""
    dialect = db.engine.dialect.name
    table = model.__table__
    if dialect == "postgresql":
        statement = postgresql.insert(table).values(values).on_conflict_do_nothing()
    elif dialect == "sqlite":
        statement = sqlite.insert(table).values(values).on_conflict_do_nothing()
    else:  # pragma: no cover - other engines are not supported
        statement = insert(table).values(values)
    return db.session.execute(statement.returning(table.c.id)).scalar() is not None


def register_dossier(client: IntegrationClient, request: DossierRequest, now: datetime | None = None) -> IssuedLink:
    """The dossier's survey link, made on first report; the same link (``created`` false) ever after.

    Writes in the current transaction (the caller commits). Raises :class:`DossierConflict` when the
    dossier number already has a link for another service of the unit.
    """
    now = now or utcnow()
    unit, service = request.unit, request.service
    token = token_store.token_for(unit, request.dossier_number)
    digest = token_store.token_hash(token)
    created = _insert_or_nothing(
        ReceiptToken,
        {
            "token_hash": digest,
            "unit_id": unit.id,
            "service_id": service.id,
            "case_digest": token_store.case_digest(unit, request.dossier_number),
            "issued_at": now,
            "expires_at": now + token_store.VALIDITY,
        },
    )
    row = db.session.scalar(select(ReceiptToken).where(ReceiptToken.token_hash == digest))
    if row is None:  # pragma: no cover - the insert or a concurrent one made it
        raise RuntimeError("receipt token neither inserted nor found")
    if row.service_id != service.id:
        raise DossierConflict
    inserted = _insert_or_nothing(
        Dossier,
        {
            "receipt_token_id": row.id,
            "client_id": client.id,
            "unit_id": unit.id,
            "service_id": service.id,
            "returned_at": request.returned_at,
            "respondent_type": request.respondent_type,
            "created_at": now,
        },
    )
    dossier = db.session.scalar(select(Dossier).where(Dossier.receipt_token_id == row.id))
    link = IssuedLink(token, row, dossier, created and inserted)
    if link.created and request.deliver:
        _request_delivery(link, request)
    return link


def _request_delivery(link: IssuedLink, request: DossierRequest) -> None:
    """Hand the link and the contact to the delivery work once; a failure there never loses the dossier."""
    from webapp.sms.service import start_for_dossier  # cycle: webapp.sms.service imports _insert_or_nothing

    contact = {name: value for name, value in request.contact.items() if value}
    channels = [channel for channel in request.deliver if channel != "sms_survey"]
    try:
        if channels:
            delivery.request_delivery(
                link.row, survey_url=link.survey_url, code=link.code, contact=contact, channels=channels
            )
        if "sms_survey" in request.deliver:
            start_for_dossier(
                link.row,
                contact["phone"],
                survey_url=link.survey_url,
                code=link.code,
                respondent_type=request.respondent_type,
            )
    except Exception as error:  # the dossier and its link stand; the delivery side logs and counts its own failures
        # The exception's class only: its message or traceback could carry the contact.
        log.error(
            "delivery request failed (%s) for a dossier of unit %s, channels %s",
            type(error).__name__,
            request.unit.code,
            ",".join(request.deliver),
        )


def audit_call(
    client: IntegrationClient,
    *,
    service: str,
    outcome: str,
    unit: str | None = None,
    service_code: str | None = None,
    counts: dict[str, int] | None = None,
) -> None:
    """One audit event per API call: client, unit, service and outcome (never a dossier number or contact)."""
    after: dict[str, Any] = {"client": client.client_id, "endpoint": service, "outcome": outcome}
    if unit:
        after["unit"] = unit[:40]
    if service_code:
        after["service"] = service_code[:40]
    if counts:
        after["counts"] = counts
    record_event(
        "integration.call",
        actor=f"integration:{client.client_id}",
        object_type="integration_client",
        object_id=client.client_id,
        after=after,
    )
