"""The ``deliver`` job: send one delivery's message, then mark it ``sent`` in the same step.

**Never twice.** The handler first reads the delivery row and does nothing unless it is still
``queued``: a job run again after its worker committed ``sent`` (a worker killed before the queue's
acknowledgement, a re-delivered message) sends nothing. What is left is the window between the
provider accepting the message and our commit of ``sent`` (a few milliseconds, or a worker killed
exactly there): a retry then sends again. To close it where the provider allows, every call carries
our reference ``delivery-<id>`` (SMS ``ref``, Zalo ``tracking_id``, e-mail ``Message-ID``), so a
provider that deduplicates on it drops the copy, and a mail client shows one message.

**Retries.** Timeouts, refused connections, HTTP 5xx, HTTP 429 (not before its ``Retry-After``) and
SMTP 4xx are retried with exponential back-off (``MAX_RETRIES`` times, then ``failed``); any other
refusal is ``failed`` at once. ``reason`` holds a short code, never a provider's text or a contact.
"""

from __future__ import annotations

import logging

from flask import current_app

from webapp import jobs
from webapp.delivery.contacts import is_opted_out, normalise_phone, optout_url
from webapp.delivery.messages import email_parts, sms_text, zalo_data
from webapp.delivery.senders import Message, PermanentSendError, TransientSendError, sender_for
from webapp.extensions import db
from webapp.models.delivery import Delivery
from webapp.models.types import utcnow

_log = logging.getLogger(__name__)

MAX_RETRIES = 5


def reference(delivery_id: int) -> str:
    return f"delivery-{delivery_id}"


def build_message(row: Delivery, sealed: dict) -> Message:
    """The message of ``row`` to the sealed contact, texts in Vietnamese (an SMS's own ``text`` when sealed with one)."""
    to = sealed["to"]
    unit_name = row.receipt_token.unit.name_vi
    survey_url, code = sealed["survey_url"], sealed["code"]
    link_out = optout_url(row.channel, to)
    ref = reference(row.id)
    if row.channel == "email":
        subject, text, html = email_parts(unit_name, survey_url, code, link_out, sealed.get("expires_on"))
        return Message(channel="email", to=to, text=text, html=html, subject=subject, ref=ref, unsubscribe_url=link_out)
    phone = normalise_phone(to)
    if row.channel == "sms":
        text = sealed.get("text") or sms_text(unit_name, survey_url, code, link_out)
        return Message(channel="sms", to=phone, text=text, ref=ref)
    data = zalo_data(unit_name, survey_url, code, link_out)
    return Message(channel="zalo", to=phone, text="", template_data=data, ref=ref)


def _finish(row: Delivery, status: str, reason: str | None) -> dict:
    row.status, row.reason = status, reason
    db.session.commit()
    _log.info("delivery %s (%s): %s%s", row.id, row.channel, status, f" ({reason})" if reason else "")
    return {"delivery_id": row.id, "status": status, "reason": reason}


@jobs.handler("deliver", max_retries=MAX_RETRIES, min_backoff_ms=2000, max_backoff_ms=600_000)
def deliver(ctx, payload: dict, sealed: dict | None) -> dict | None:
    row = db.session.get(Delivery, int(payload["delivery_id"]), populate_existing=True)
    if row is None:
        return {"delivery_id": payload.get("delivery_id"), "status": "missing"}
    if row.status != "queued":  # already sent (or settled): never send it again
        return {"delivery_id": row.id, "status": row.status, "reason": row.reason}
    if not sealed or not sealed.get("to"):
        return _finish(row, "failed", "contact_lost")
    if is_opted_out(row.channel, sealed["to"]):
        return _finish(row, "opted_out", "opted_out")
    sender = sender_for(row.channel, current_app.config)
    if sender is None:
        return _finish(row, "failed", "not_configured")
    message = build_message(row, sealed)
    row.attempts += 1
    db.session.commit()
    try:
        result = sender.send(message)
    except TransientSendError as error:
        if ctx.attempt > MAX_RETRIES:
            _finish(row, "failed", error.reason)
            raise jobs.PermanentError(f"delivery {row.id}: {error.reason}, retries exhausted") from None
        row.reason = error.reason
        db.session.commit()
        raise jobs.TransientError(f"delivery {row.id}: {error.reason}", retry_after_ms=error.retry_after_ms) from None
    except PermanentSendError as error:
        _finish(row, "failed", error.reason)
        raise jobs.PermanentError(f"delivery {row.id}: {error.reason}") from None
    row.status, row.reason = "sent", None
    row.sent_at = utcnow()
    row.provider_ref = result.provider_ref[:120]
    db.session.commit()
    _log.info("delivery %s (%s): sent", row.id, row.channel)
    return {"delivery_id": row.id, "status": "sent"}
