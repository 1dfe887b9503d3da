"""The SMS survey's rules: start a conversation, read each reply, store the answer once, purge after 30 days.

Used by the one-stop integration (:func:`start_for_dossier`), the inbound webhook (:func:`handle_inbound`)
and ``flask --app webapp sms purge`` (:func:`purge`).

**Flow** (``sms-quick``): question 1 is the rating 1–5 with its five labels spelled out. A rating of 4 or
5 is stored at once and thanked; a rating of 1–3 asks question 2, the main problem (1–5, or 0 to skip),
and the answer is stored after it (or without it: after a skip, an unreadable second reply, or when
nobody answers within :data:`FOLLOWUP_WAIT`). A reply that is not an answer gets **one** polite retry
that repeats the options; a second unreadable reply to the rating ends the conversation with nothing
stored. STOP/HUY records the opt-out of ``webapp.delivery.optout`` and ends every open conversation.

**One answer per link and per phone per dossier.** A dossier's conversation stores through the dossier's
receipt token, which takes one response whatever the path (the link online, or SMS): a dossier already
answered online is not asked again, and a late SMS answer is refused as a repeat. One phone has at most one
conversation per dossier (or per poster unit and service, for 30 days): ``(phone_digest, scope)`` is
unique. A reply after the answer was stored gets one "already answered" message, then none.

**Privacy.** The phone number is used while handling one request and then exists only inside the sealed
(encrypted) part of the reply's job; the database keeps a keyed hash (:func:`phone_digest`) for 30 days.
The text of a reply is never stored or logged: only the digits it answered.

**Storing.** Through the submission service (``validate_submission`` and ``store_prepared`` of
``surveys.submission``: the same checks as every channel) with channel and mode ``sms``, in the same
transaction as the conversation's new state, the processed gateway message id and the reply's job, so a
webhook handled twice at once stores one response and sends one reply.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from datetime import datetime, timedelta

from flask import current_app
from limits import parse
from sqlalchemy import delete, select

from surveys import definitions
from surveys.registry_cache import registry_view
from surveys.stored import definition_of
from surveys.submission import Submission, SubmissionRejected, store_prepared, validate_submission
from webapp import delivery, jobs
from webapp.delivery.contacts import contact_digest, keyed, normalise_phone, record_optout
from webapp.delivery.senders import Message, PermanentSendError, TransientSendError, sender_for
from webapp.extensions import db, limiter
from webapp.integrations.service import _insert_or_nothing
from webapp.models import ReceiptToken, Service, Unit, utcnow
from webapp.models.sms import SmsConversation, SmsInboundMessage
from webapp.ops.metrics import record_submission
from webapp.periods import VIETNAM
from webapp.sms import parser, texts

log = logging.getLogger(__name__)

INSTRUMENT = "sms-quick"
#: Conversations, their phone digests and the processed message ids are deleted this long after they started.
KEEP = timedelta(days=30)
#: A rating of 1–3 waiting for its optional second answer is stored without it after this long.
FOLLOWUP_WAIT = timedelta(hours=24)
#: A question never answered ends after this long (nothing is stored).
ANSWER_WAIT = timedelta(days=7)
#: Ratings of this value or below ask the second question (the main problem).
FOLLOWUP_BELOW = 3
#: Replies sent to one phone (retries, thanks, notices); past it the phone's messages are still read but
#: not answered, so a loop with another automaton or a prank cannot run up the gateway bill.
PHONE_REPLY_LIMIT = parse("20/hour")
OPEN = "asking"


class RetryLater(Exception):
    """A race with another answer for the same receipt token: nothing was written; the gateway retries."""


def phone_digest(phone: str) -> str:
    """Keyed hash of the normalised phone number (purpose ``sms-conversation``): the only trace kept of it."""
    return hmac.new(keyed("sms-conversation"), normalise_phone(phone).encode(), hashlib.sha256).hexdigest()


def _instrument() -> tuple[definitions.Instrument, int]:
    entry = registry_view().active.get(INSTRUMENT)
    if entry is None:
        raise LookupError(f"instrument {INSTRUMENT} is not loaded (flask --app webapp registry load)")
    return definition_of(entry), entry.version


def available() -> bool:
    """Whether the SMS questionnaire is loaded (``flask --app webapp registry load``)."""
    return INSTRUMENT in registry_view().active


def _definition(conversation: SmsConversation) -> definitions.Instrument:
    entry = registry_view().instruments[(conversation.instrument_code, conversation.instrument_version)]
    return definition_of(entry)


# --- replies ------------------------------------------------------------------------------------


def _reply(phone: str, text: str, unit_id: int | None) -> None:
    """Queue ``text`` to ``phone`` (sent after the caller commits); the number travels sealed only."""
    digest = phone_digest(phone)
    if not limiter.limiter.hit(PHONE_REPLY_LIMIT, "sms-replies", digest):
        log.warning("sms reply not sent: the phone's reply limit was reached")
        return
    jobs.enqueue(
        "sms_reply", {"text": text}, sealed={"to": normalise_phone(phone)}, unit_id=unit_id, title="SMS survey message"
    )


@jobs.handler("sms_reply", max_retries=5, min_backoff_ms=2000, max_backoff_ms=600_000)
def send_reply(ctx, payload: dict, sealed: dict | None) -> dict:
    """Send one survey message through the SMS gateway adapter (``webapp.delivery.senders``)."""
    if not sealed or not sealed.get("to"):
        return {"status": "failed", "reason": "contact_lost"}
    sender = sender_for("sms", current_app.config)
    if sender is None:
        return {"status": "failed", "reason": "not_configured"}
    message = Message(channel="sms", to=sealed["to"], text=payload["text"], ref=f"sms-survey-{ctx.job_id}")
    try:
        result = sender.send(message)
    except TransientSendError as error:
        raise jobs.TransientError(f"sms survey message: {error.reason}", retry_after_ms=error.retry_after_ms) from None
    except PermanentSendError as error:
        raise jobs.PermanentError(f"sms survey message: {error.reason}") from None
    return {"status": "sent", "provider_ref": result.provider_ref[:120]}


# --- starting -----------------------------------------------------------------------------------


def _conversation(digest: str, scope: str) -> SmsConversation | None:
    return db.session.scalar(
        select(SmsConversation).where(SmsConversation.phone_digest == digest, SmsConversation.scope == scope)
    )


def _new_conversation(
    digest: str,
    scope: str,
    origin: str,
    unit_id: int,
    service_id: int,
    now: datetime,
    *,
    receipt_token_id: int | None = None,
    respondent_type: str | None = None,
) -> SmsConversation:
    _definition_now, version = _instrument()
    conversation = SmsConversation(
        phone_digest=digest,
        scope=scope,
        origin=origin,
        receipt_token_id=receipt_token_id,
        unit_id=unit_id,
        service_id=service_id,
        instrument_code=INSTRUMENT,
        instrument_version=version,
        respondent_type=respondent_type,
        language="vi",
        state=OPEN,
        question=0,
        retries=0,
        answers={},
        client_id=str(uuid.uuid4()),
        repeat_noticed=False,
        created_at=now,
        updated_at=now,
        purge_at=now + KEEP,
    )
    db.session.add(conversation)
    db.session.flush()
    return conversation


def _interrupt_others(digest: str, keep_id: int | None, now: datetime) -> None:
    """A new questionnaire replaces the phone's open ones (as a new flow does in RapidPro): a rating
    already given is stored, a question not answered yet ends."""
    for other in db.session.scalars(
        select(SmsConversation).where(SmsConversation.phone_digest == digest, SmsConversation.state == OPEN)
    ):
        if other.id != keep_id:
            _close(other, now)


def _close(conversation: SmsConversation, now: datetime) -> str:
    """End an open conversation: store its rating if it has one; the new state."""
    if conversation.answers.get("overall"):
        _store(conversation, now)  # answered (stored or a repeat), or ended when refused
    else:
        conversation.state = "ended"
    conversation.updated_at = now
    return conversation.state


def first_question(unit: Unit) -> str:
    definition, _version = _instrument()
    return texts.question_text(definition, 0, unit.name_vi)


def start_for_dossier(
    token_row: ReceiptToken,
    phone: str,
    *,
    survey_url: str,
    code: str,
    respondent_type: str | None = None,
    now: datetime | None = None,
) -> SmsConversation | None:
    """Ask the first question about a returned dossier by SMS (through ``request_delivery``, so the daily
    cap, opt-outs and the delivery counts apply); the conversation, or ``None`` when the SMS is not sent
    (opted out, capped, gateway not configured) or the dossier has been answered already.

    Writes in the caller's transaction (the caller commits; the SMS goes after that commit)."""

    now = now or utcnow()
    if not available():
        log.error("sms survey asked for a dossier but the instrument %s is not loaded", INSTRUMENT)
        return None
    digest = phone_digest(phone)
    scope = f"t{token_row.id}"
    existing = _conversation(digest, scope)
    if existing is not None or token_row.used_at is not None:
        return existing
    unit = db.session.get(Unit, token_row.unit_id)
    rows = delivery.request_delivery(
        token_row,
        survey_url=survey_url,
        code=code,
        contact={"phone": phone},
        channels=["sms"],
        sms_text=first_question(unit),
    )
    if not rows or rows[0].status != "queued":
        return None
    conversation = _new_conversation(
        digest,
        scope,
        "dossier",
        token_row.unit_id,
        token_row.service_id,
        now,
        receipt_token_id=token_row.id,
        respondent_type=respondent_type,
    )
    _interrupt_others(digest, conversation.id, now)
    return conversation


def _poster_target(unit_code: str, service_code: str | None, now: datetime) -> tuple[Unit, Service] | None:
    """The unit and service a poster's code names, if the unit offers it today (sector of the SMS survey)."""
    if not unit_code:
        return None
    unit = db.session.scalar(select(Unit).where(Unit.code == unit_code))
    today = now.astimezone(VIETNAM).date()
    if unit is None or not unit.valid_on(today):
        return None
    definition, _version = _instrument()
    offered = [service for service in unit.services_on(today) if service.sector == definition.sector]
    if service_code is None:
        return (unit, offered[0]) if len(offered) == 1 else None
    service = next((service for service in offered if service.code == service_code), None)
    return (unit, service) if service is not None else None


def _start_from_poster(phone: str, digest: str, start: tuple[str, str | None], now: datetime) -> str:
    target = _poster_target(start[0], start[1], now)
    if target is None:
        _reply(phone, texts.unknown_code_text(), None)
        return "processed"
    unit, service = target
    scope = f"p{unit.id}.{service.id}"
    conversation = _conversation(digest, scope)
    if conversation is not None and conversation.state == "answered":
        _notice_repeat(conversation, phone)
        return "processed"
    if conversation is None:
        conversation = _new_conversation(digest, scope, "poster", unit.id, service.id, now)
    else:  # asked before and not answered (ended, stopped or still open): ask again from the start
        conversation.state, conversation.question, conversation.retries, conversation.answers = OPEN, 0, 0, {}
        conversation.updated_at = now
    _interrupt_others(digest, conversation.id, now)
    _reply(phone, first_question(unit), unit.id)
    return "processed"


# --- replies from citizens ----------------------------------------------------------------------


def _claim(message_id: str, now: datetime) -> bool:
    """Record the gateway's message id; ``False`` when it was handled already (or is being handled now)."""
    return _insert_or_nothing(SmsInboundMessage, {"gateway_message_id": message_id, "received_at": now})


def _locked(query):
    return query.with_for_update() if db.session.get_bind().dialect.name == "postgresql" else query


def handle_inbound(message_id: str, phone: str, text: str, now: datetime | None = None) -> str:
    """Handle one inbound SMS and commit: ``processed``, ``duplicate`` (the gateway's id was seen before: a
    no-op) or ``ignored`` (a text from a phone with nothing to answer). Raises :class:`RetryLater`."""
    now = now or utcnow()
    try:
        if not _claim(message_id, now):
            db.session.rollback()
            return "duplicate"
        outcome = _advance(phone, text, now)
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    return outcome


def _advance(phone: str, text: str, now: datetime) -> str:
    digest = phone_digest(phone)
    if parser.is_stop(text):
        record_optout(contact_digest("sms", phone))
        for conversation in db.session.scalars(
            _locked(
                select(SmsConversation).where(SmsConversation.phone_digest == digest, SmsConversation.state == OPEN)
            )
        ):
            _close(conversation, now)
            if conversation.state == "ended":
                conversation.state = "stopped"
        _reply(phone, texts.stopped_text(), None)
        return "processed"
    start = parser.read_start(text)
    if start is not None:
        return _start_from_poster(phone, digest, start, now)
    conversation = db.session.scalar(
        _locked(
            select(SmsConversation)
            .where(SmsConversation.phone_digest == digest, SmsConversation.state == OPEN)
            .order_by(SmsConversation.created_at.desc(), SmsConversation.id.desc())
            .limit(1)
        )
    )
    if conversation is None:
        latest = db.session.scalar(
            select(SmsConversation)
            .where(SmsConversation.phone_digest == digest)
            .order_by(SmsConversation.updated_at.desc(), SmsConversation.id.desc())
            .limit(1)
        )
        if latest is not None and latest.state == "answered":
            _notice_repeat(latest, phone)
            return "processed"
        return "ignored"
    _answer(conversation, phone, text, now)
    return "processed"


def _notice_repeat(conversation: SmsConversation, phone: str) -> None:
    """Say once that the answer was stored already; later repeats get no reply."""
    if not conversation.repeat_noticed:
        conversation.repeat_noticed = True
        _reply(phone, texts.repeat_text(), conversation.unit_id)


def _answer(conversation: SmsConversation, phone: str, text: str, now: datetime) -> None:
    definition = _definition(conversation)
    items = texts.asked_items(definition)
    item = items[conversation.question]
    first = conversation.question == 0
    value = parser.read_number(text, range(1, len(item.options) + 1) if first else range(0, len(item.options) + 1))
    conversation.updated_at = now
    if value is None:
        if conversation.retries == 0:
            conversation.retries = 1
            _reply(phone, texts.retry_text(definition, conversation.question), conversation.unit_id)
            return
        if first:  # two unreadable replies to the rating: nothing to store
            conversation.state = "ended"
            _reply(phone, texts.gave_up_text(), conversation.unit_id)
            return
    elif first:
        conversation.answers = {item.code: item.options[value - 1].value}
        if value <= FOLLOWUP_BELOW and len(items) > 1:
            conversation.question, conversation.retries = 1, 0
            _reply(phone, texts.question_text(definition, 1), conversation.unit_id)
            return
    elif value != texts.SKIP:
        conversation.answers = {**conversation.answers, item.code: item.options[value - 1].value}
    outcome = _store(conversation, now)
    if outcome == "stored":
        _reply(phone, texts.thanks_text(), conversation.unit_id)
    elif outcome == "repeat":
        _notice_repeat(conversation, phone)
    else:
        _reply(phone, texts.gave_up_text(), conversation.unit_id)


def _store(conversation: SmsConversation, now: datetime) -> str:
    """Store the conversation's answers through the submission service (no commit): ``stored``, ``repeat``
    (the dossier was answered another way) or ``ended`` (refused by the submission service)."""
    token = None
    if conversation.receipt_token_id is not None:
        token = db.session.scalar(_locked(select(ReceiptToken).where(ReceiptToken.id == conversation.receipt_token_id)))
    conversation.state = "answered"
    if token is not None and token.used_at is not None:  # answered through the link (or another phone)
        conversation.response_id = None
        return "repeat"
    unit = db.session.get(Unit, conversation.unit_id)
    service = db.session.get(Service, conversation.service_id)
    submission = Submission(
        client_id=uuid.UUID(conversation.client_id),
        instrument_code=conversation.instrument_code,
        instrument_version=conversation.instrument_version,
        unit_code=unit.code,
        service_code=service.code,
        channel="sms",
        mode="sms",
        language=conversation.language,
        answers=dict(conversation.answers),
        respondent_type=conversation.respondent_type,
        receipt_token=token,
    )
    try:
        prepared = validate_submission(submission, now)
    except SubmissionRejected as error:
        record_submission("sms", "rejected")
        log.warning("sms answer refused by the submission service: %s", error)
        conversation.state = "ended"
        return "ended"
    try:
        response_id = store_prepared(submission, prepared)
    except SubmissionRejected:  # the receipt token was used meanwhile: the whole request is retried
        raise RetryLater from None
    conversation.response_id = response_id
    record_submission("sms", "created" if response_id is not None else "duplicate")
    return "stored"


# --- retention ----------------------------------------------------------------------------------


def purge(now: datetime | None = None) -> dict[str, int]:
    """Close what waited too long, then delete conversations (and their phone digests) and processed message
    ids older than 30 days; commits. Counts of each: ``stored``, ``ended``, ``conversations``, ``messages``."""
    now = now or utcnow()
    counts = {"stored": 0, "ended": 0}
    waiting = list(db.session.scalars(select(SmsConversation).where(SmsConversation.state == OPEN)))
    for conversation in waiting:
        answered = bool(conversation.answers.get("overall"))
        due = conversation.purge_at <= now or conversation.updated_at <= now - (
            FOLLOWUP_WAIT if answered else ANSWER_WAIT
        )
        if due:
            state = _close(conversation, now)
            counts["stored" if state == "answered" else "ended"] += 1
    db.session.flush()
    counts["conversations"] = db.session.execute(
        delete(SmsConversation).where(SmsConversation.purge_at <= now)
    ).rowcount
    counts["messages"] = db.session.execute(
        delete(SmsInboundMessage).where(SmsInboundMessage.received_at <= now - KEEP)
    ).rowcount
    db.session.commit()
    return counts
