"""Survey links sent by e-mail, SMS and Zalo ZNS through provider adapters (issue #15).

:func:`request_delivery` (called by the one-stop integration after it made a receipt token) adds
one :class:`~webapp.models.Delivery` row per channel and queues one ``deliver`` job per row; the
job (:mod:`webapp.delivery.worker`) sends the message through the channel's adapter
(:mod:`webapp.delivery.senders`) and marks the row ``sent`` or ``failed``. A contact that opted out
(:mod:`webapp.delivery.optout`) gets ``opted_out``; a unit past its daily cap on a channel gets
``capped``; neither is sent. :func:`status_counts` counts rows per unit and service.

The phone number or e-mail address, the survey link and its code travel only in the job's sealed
(encrypted) part: never in a table, a log or a backup.

Settings (environment variables, read when the app starts):

``SMTP_URL`` (``smtp://user:pass@host:587?starttls=1`` or ``smtps://…``), ``MAIL_FROM``;
``SMS_GATEWAY_URL``, ``SMS_GATEWAY_TOKEN``; ``ZALO_ZNS_URL`` (default Zalo's
``https://business.openapi.zalo.me/message/template``), ``ZALO_ACCESS_TOKEN``, ``ZALO_TEMPLATE_ID``;
``DELIVERY_DAILY_CAP`` (messages per unit, channel and Việt Nam day; default 2000);
``DELIVERY_HTTP_TIMEOUT`` (seconds per provider call; default 10). A channel whose settings are
missing records its deliveries ``failed`` with reason ``not_configured``.
"""

from __future__ import annotations

import logging
import os
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from webapp import jobs
from webapp.delivery.senders import sender_for
from webapp.extensions import db
from webapp.models.collection import ReceiptToken
from webapp.models.delivery import DELIVERY_CHANNELS, DELIVERY_STATUSES, Delivery, DeliveryDailyCount
from webapp.periods import VIETNAM

_log = logging.getLogger(__name__)

DEFAULT_DAILY_CAP = 2000
ZALO_ZNS_DEFAULT_URL = "https://business.openapi.zalo.me/message/template"
#: Which contact each channel uses.
CONTACT_FOR = {"email": "email", "sms": "phone", "zalo": "phone"}


def _int_env(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value.isdigit() else default


def init_app(app: Flask) -> None:
    """Register this part's blueprints, CLI commands and settings on ``app``."""
    for name in (
        "SMTP_URL",
        "MAIL_FROM",
        "SMS_GATEWAY_URL",
        "SMS_GATEWAY_TOKEN",
        "ZALO_ACCESS_TOKEN",
        "ZALO_TEMPLATE_ID",
    ):
        app.config.setdefault(name, os.environ.get(name, ""))
    app.config.setdefault("ZALO_ZNS_URL", os.environ.get("ZALO_ZNS_URL", ZALO_ZNS_DEFAULT_URL))
    app.config.setdefault("DELIVERY_DAILY_CAP", _int_env("DELIVERY_DAILY_CAP", DEFAULT_DAILY_CAP))
    app.config.setdefault("DELIVERY_HTTP_TIMEOUT", float(os.environ.get("DELIVERY_HTTP_TIMEOUT") or 10))

    # cycle: the handler and the opt-out page use webapp.delivery.contacts, which imports this module
    from webapp.delivery import worker  # noqa: F401  (registers the ``deliver`` job handler)
    from webapp.delivery.optout import optout

    app.register_blueprint(optout)


def vietnam_day(moment: datetime) -> date:
    return moment.astimezone(VIETNAM).date()


def insert_ignoring_duplicates(table, **values) -> None:
    """``INSERT … ON CONFLICT DO NOTHING`` on PostgreSQL and SQLite (no savepoint needed)."""
    dialect = postgresql if db.session.get_bind().dialect.name == "postgresql" else sqlite
    db.session.execute(dialect.insert(table).values(**values).on_conflict_do_nothing())


def _take_cap_slot(unit_id: int, channel: str, day: date, cap: int) -> bool:
    """Count one more message for the unit, channel and day if under ``cap``; ``False`` when full.

    One conditional ``UPDATE`` on the day's counter row: concurrent requests never pass the cap
    (PostgreSQL locks the row until the caller commits).
    """
    table = DeliveryDailyCount.__table__
    insert_ignoring_duplicates(table, unit_id=unit_id, channel=channel, day=day, messages=0)
    taken = db.session.execute(
        update(table)
        .where(table.c.unit_id == unit_id, table.c.channel == channel, table.c.day == day, table.c.messages < cap)
        .values(messages=table.c.messages + 1)
    ).rowcount
    return taken == 1


def request_delivery(
    token_row: Any,
    *,
    survey_url: str,
    code: str,
    contact: dict[str, str],
    channels: list[str],
    sms_text: str | None = None,
) -> list[Any]:
    """Queue one message per channel in ``channels`` (``email``, ``sms``, ``zalo``) carrying ``survey_url``
    for the receipt token ``token_row`` (a ``ReceiptToken``; its unit and service name the message).
    ``sms_text`` replaces the SMS's link text (the first question of the two-way SMS survey, ``webapp.sms``).

    ``contact`` (``phone``, ``email``; already validated by the caller) travels only inside the queued
    job, never to the database or a log. Returns the delivery rows created, added to the caller's
    session: the caller commits, and the jobs are sent after that commit. A contact that opted out
    gives a row ``opted_out``, a unit past its daily cap a row ``capped``, a channel without its
    contact or without its provider settings a row ``failed`` (reason ``no_contact``,
    ``not_configured``); none of these is queued. ``ValueError`` for an unknown channel.
    """
    from webapp.delivery.contacts import is_opted_out  # cycle: contacts imports insert_ignoring_duplicates

    contact = contact or {}
    cap = int(current_app.config.get("DELIVERY_DAILY_CAP", DEFAULT_DAILY_CAP))
    unknown = [channel for channel in channels or [] if channel not in DELIVERY_CHANNELS]
    if unknown:  # refused before anything is added to the caller's session
        raise ValueError(f"unknown delivery channel(s) {unknown!r}")
    rows: list[Delivery] = []
    for channel in dict.fromkeys(channels or []):  # each channel once, in the order asked
        now = datetime.now(UTC)
        row = Delivery(
            receipt_token_id=token_row.id,
            unit_id=token_row.unit_id,
            service_id=token_row.service_id,
            channel=channel,
            status="queued",
            attempts=0,
            created_at=now,
        )
        address = (contact.get(CONTACT_FOR[channel]) or "").strip()
        if not address:
            row.status, row.reason = "failed", "no_contact"
        elif sender_for(channel, current_app.config) is None:  # checked again when the job runs
            row.status, row.reason = "failed", "not_configured"
        elif is_opted_out(channel, address):
            row.status, row.reason = "opted_out", "opted_out"
        elif not _take_cap_slot(token_row.unit_id, channel, vietnam_day(now), cap):
            row.status, row.reason = "capped", "daily_cap"
        db.session.add(row)
        db.session.flush()
        if row.status == "queued":
            expires_on = token_row.expires_at.astimezone(VIETNAM).date().isoformat() if token_row.expires_at else None
            jobs.enqueue(
                "deliver",
                {"delivery_id": row.id},
                key=f"deliver:{row.id}",
                sealed={
                    "to": address,
                    "survey_url": survey_url,
                    "code": code,
                    "expires_on": expires_on,
                    **({"text": sms_text} if sms_text and channel == "sms" else {}),
                },
                unit_id=token_row.unit_id,
                title=f"Survey link by {channel} (delivery {row.id})",
            )
        rows.append(row)
    return rows


def status_counts(
    unit_ids: list[int] | None = None, start: date | None = None, end: date | None = None
) -> dict[tuple[int, int], dict[str, int]]:
    """``(unit_id, service_id) → {status: deliveries}`` for deliveries created from ``start`` to ``end``
    (Việt Nam dates, inclusive); statuses ``queued``, ``sent``, ``failed``, ``opted_out``, ``capped``,
    every one present (0 when none), and ``answered``: deliveries whose receipt token was used (the
    survey was completed), whatever their status. Counts only: no personal data."""
    answered = func.sum(case((ReceiptToken.used_at.is_not(None), 1), else_=0))
    query = (
        select(Delivery.unit_id, Delivery.service_id, Delivery.status, func.count(Delivery.id), answered)
        .join(ReceiptToken, ReceiptToken.id == Delivery.receipt_token_id)
        .group_by(Delivery.unit_id, Delivery.service_id, Delivery.status)
    )
    if unit_ids is not None:
        query = query.where(Delivery.unit_id.in_(list(unit_ids)))
    if start is not None:
        query = query.where(Delivery.created_at >= datetime.combine(start, time.min, tzinfo=VIETNAM).astimezone(UTC))
    if end is not None:
        after = datetime.combine(end + timedelta(days=1), time.min, tzinfo=VIETNAM).astimezone(UTC)
        query = query.where(Delivery.created_at < after)
    counts: dict[tuple[int, int], dict[str, int]] = {}
    for unit_id, service_id, status, number, used in db.session.execute(query):
        entry = counts.setdefault((unit_id, service_id), {**dict.fromkeys(DELIVERY_STATUSES, 0), "answered": 0})
        entry[status] += int(number)
        entry["answered"] += int(used or 0)
    return counts
