"""Survey links sent by e-mail, SMS and Zalo ZNS through provider adapters (issue #15).

The two functions below are the contract other parts call; the delivery work fills them in.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import Flask


def init_app(app: Flask) -> None:
    """Register this part's blueprints, CLI commands and settings on ``app``."""


def request_delivery(token_row: Any, *, survey_url: str, code: str, contact: dict[str, str],
                     channels: list[str]) -> list[Any]:
    """Queue one message per channel in ``channels`` (``email``, ``sms``, ``zalo``) carrying ``survey_url``
    for the receipt token ``token_row`` (a ``ReceiptToken``; its unit and service name the message).

    ``contact`` (``phone``, ``email``; already validated by the caller) travels only inside the queued
    job, never to the database or a log. Returns the delivery rows created (none stored yet: stub).
    """
    return []


def status_counts(unit_ids: list[int] | None = None, start: date | None = None,
                  end: date | None = None) -> dict[tuple[int, int], dict[str, int]]:
    """``(unit_id, service_id) → {status: deliveries}`` for deliveries created from ``start`` to ``end``
    (Việt Nam dates, inclusive); statuses ``queued``, ``sent``, ``failed``, ``opted_out``, ``capped``.
    Empty until the delivery work lands."""
    return {}
