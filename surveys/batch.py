"""Many kiosk ratings in one transaction (``POST /api/v1/responses/batch``, issue #18).

A kiosk that was offline drains its queue in batches. Each rating is validated exactly as a
single submission is (:func:`surveys.submission.validate_submission`: device, counter, unit,
service, answer time, quality flags, late flag), and the valid ones are stored together: one
multi-row ``INSERT … ON CONFLICT (client_id) DO NOTHING`` for the responses, one for their
scores and one for their comments' themes, then one commit.

What a batch must not change is the outcome a rating would have had on its own:

* **Idempotent per ``client_id``**: a ``client_id`` already stored (by a single submission, an
  earlier batch, or a concurrent request that commits first) answers 200 with the stored id;
  the same ``client_id`` twice in one batch is stored once, the later one answers 200.
* **Flags count the batch's own ratings**: the burst and implausible-rate counts of a rating
  see the ratings before it in the batch as if they had been stored one by one
  (:class:`_DeviceHistory`); the device's stored ratings are read once per span, not per rating.
* **The server decides time and channel**: one ``now`` for the whole batch, the device's
  contact floor as for a single rating, and one ``touch_device`` at the end.
"""

from __future__ import annotations

import uuid
from bisect import bisect_left, bisect_right, insort
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import insert, select

from surveys.submission import (
    BURST_WINDOW,
    CLOCK_SKEW,
    IMPLAUSIBLE_WINDOW,
    MAX_QUEUE_AGE,
    FieldError,
    Submission,
    SubmissionRejected,
    insert_ignoring_duplicates,
    is_late,
    touch_device,
    validate_submission,
)
from webapp.extensions import db
from webapp.insights.themes import rule_rows
from webapp.models import Response, ResponseScore, utcnow
from webapp.models.insights import CommentTheme
from webapp.ops.metrics import record_submission
from webapp.periods import Period

#: Ratings in one batch at most.
MAX_ITEMS = 500
#: A batch's body at most: MAX_ITEMS kiosk bodies (a kiosk rating is about 300 bytes; a long comment a few KB).
MAX_BATCH_BYTES = 2 * 1024 * 1024
#: Ratings per minute a device may send in batches (each rating counts): a kiosk back online after a
#: day drains its queue in a minute or two; the single endpoint allows 120 requests a minute.
BATCH_RATE_LIMIT = "600/minute"


@dataclass(frozen=True)
class ItemResult:
    """What one rating of a batch got: 201 stored, 200 already stored, or a 4xx with its errors."""

    status: int
    response_id: int | None = None
    errors: list[FieldError] = field(default_factory=list)


def _counts(times: list[datetime], at: datetime) -> tuple[int, int, int, int]:
    """:func:`surveys.submission.device_counts` over a sorted list of answer times."""
    return (
        bisect_right(times, at) - bisect_right(times, at - IMPLAUSIBLE_WINDOW),
        bisect_left(times, at + IMPLAUSIBLE_WINDOW) - bisect_left(times, at),
        bisect_right(times, at) - bisect_right(times, at - BURST_WINDOW),
        bisect_left(times, at + BURST_WINDOW) - bisect_left(times, at),
    )


class _DeviceHistory:
    """One device's answer times: the stored ones (read once for a span) and the batch's accepted ones."""

    def __init__(self, device_id: int, hint: tuple[datetime, datetime] | None):
        self.device_id = device_id
        self.hint = hint
        self.span: tuple[datetime, datetime] | None = None
        self.stored: list[datetime] = []
        self.pending: list[datetime] = []

    def _cover(self, at: datetime) -> None:
        low, high = at - IMPLAUSIBLE_WINDOW, at + IMPLAUSIBLE_WINDOW
        if self.span is not None and self.span[0] <= low and high <= self.span[1]:
            return
        for known in (self.span, self.hint):
            if known is not None:
                low, high = min(low, known[0] - IMPLAUSIBLE_WINDOW), max(high, known[1] + IMPLAUSIBLE_WINDOW)
        self.stored = sorted(
            db.session.scalars(
                select(Response.answered_at).where(
                    Response.device_id == self.device_id,
                    Response.answered_at > low,
                    Response.answered_at < high,
                )
            )
        )
        self.span = (low, high)

    def counts(self, at: datetime) -> tuple[int, int, int, int]:
        self._cover(at)
        stored, pending = _counts(self.stored, at), _counts(self.pending, at)
        return tuple(a + b for a, b in zip(stored, pending, strict=True))  # type: ignore[return-value]

    def add(self, at: datetime) -> None:
        insort(self.pending, at)


def _existing_ids(client_ids: set[uuid.UUID]) -> dict[uuid.UUID, int]:
    if not client_ids:
        return {}
    rows = db.session.execute(select(Response.client_id, Response.id).where(Response.client_id.in_(client_ids)))
    return {client_id: response_id for client_id, response_id in rows}


def _hint(entries: Sequence[Submission | SubmissionRejected], now: datetime) -> tuple[datetime, datetime] | None:
    """The span of the plausible claimed answer times (what the device's stored ratings are first read for).

    Times a single rating would be refused for (too old, in the future) are left out: they never
    reach the flags, and the ends of the calendar would overflow the window arithmetic.
    """
    times = [
        min(e.answered_at, now)
        for e in entries
        if isinstance(e, Submission)
        and e.answered_at is not None
        and e.answered_at.tzinfo is not None
        and now - MAX_QUEUE_AGE <= e.answered_at <= now + CLOCK_SKEW
    ]
    return (min(times), max(times)) if times else None


def _insert_many(table, rows: list[dict[str, Any]]) -> None:
    """Multi-row INSERTs of ``rows`` (RETURNING makes SQLAlchemy send them as multi-row VALUES on every driver)."""
    if rows:
        db.session.execute(insert(table).returning(table.c[next(iter(table.primary_key)).name]), rows).all()


def submit_batch(entries: Sequence[Submission | SubmissionRejected], now: datetime | None = None) -> list[ItemResult]:
    """Validate every entry, store the valid ones in one transaction and commit; one result per entry, in order.

    An entry that is already a :class:`SubmissionRejected` (the API could not parse it) is
    answered with its errors. Nothing is stored for a rejected entry; a rejected entry never
    stops the others.
    """
    now = now or utcnow()
    results: list[ItemResult | None] = [None] * len(entries)
    existing = _existing_ids({e.client_id for e in entries if isinstance(e, Submission)})
    hint = _hint(entries, now)
    histories: dict[int, _DeviceHistory] = {}
    late: dict[str, bool] = {}

    def counts(device_id: int, at: datetime) -> tuple[int, int, int, int]:
        return histories.setdefault(device_id, _DeviceHistory(device_id, hint)).counts(at)

    def quarter_late(quarter: Period) -> bool:
        if quarter.label not in late:
            late[quarter.label] = is_late(quarter)
        return late[quarter.label]

    accepted: list[tuple[int, Submission, dict[str, Any]]] = []
    first_of: dict[uuid.UUID, int] = {}
    repeats: dict[int, uuid.UUID] = {}
    for index, entry in enumerate(entries):
        if isinstance(entry, SubmissionRejected):
            results[index] = ItemResult(entry.status, errors=entry.errors)
            record_submission("kiosk", "rejected")
            continue
        if entry.client_id in existing:
            results[index] = ItemResult(200, existing[entry.client_id])
            record_submission(entry.channel, "duplicate")
            continue
        if entry.client_id in first_of:
            repeats[index] = entry.client_id
            continue
        try:
            prepared = validate_submission(entry, now, counts=counts, late=quarter_late)
        except SubmissionRejected as rejected:
            results[index] = ItemResult(rejected.status, errors=rejected.errors)
            record_submission(entry.channel, "rejected")
            continue
        first_of[entry.client_id] = index
        accepted.append((index, entry, prepared))
        if entry.device is not None:
            histories.setdefault(entry.device.id, _DeviceHistory(entry.device.id, hint)).add(
                prepared["row"]["answered_at"]
            )

    created: dict[uuid.UUID, int] = {}
    if accepted:
        try:
            created = _store(accepted, now)
            missing = {entry.client_id for _, entry, _ in accepted if entry.client_id not in created}
            # Stored by a concurrent request between our check and our insert: answer its id.
            existing.update(_existing_ids(missing))
            db.session.commit()
        except Exception:
            db.session.rollback()
            raise
    for index, entry, _prepared in accepted:
        if entry.client_id in created:
            results[index] = ItemResult(201, created[entry.client_id])
            record_submission(entry.channel, "created")
        else:
            results[index] = ItemResult(200, existing[entry.client_id])
            record_submission(entry.channel, "duplicate")
    for index, client_id in repeats.items():
        results[index] = ItemResult(200, created.get(client_id) or existing.get(client_id))
        record_submission("kiosk", "duplicate")
    return results  # type: ignore[return-value]


def _store(accepted: list[tuple[int, Submission, dict[str, Any]]], now: datetime) -> dict[uuid.UUID, int]:
    """Insert the accepted rows, their scores and themes (no commit); ``client_id → id`` of the rows inserted."""
    # Deferred: webapp.insights imports the published read models, which import surveys.

    table = Response.__table__
    # In client_id order, so that two batches sharing ratings lock them in the same order (no deadlock).
    rows = sorted((prepared["row"] for _, _, prepared in accepted), key=lambda row: row["client_id"])
    # One statement compiled once (cached), sent as multi-row VALUES … RETURNING (SQLAlchemy's
    # "insertmanyvalues"); rows skipped by ON CONFLICT return nothing.
    returned = db.session.execute(insert_ignoring_duplicates().returning(table.c.id, table.c.client_id), rows).all()
    created = {client_id: response_id for response_id, client_id in returned}
    scores: list[dict[str, Any]] = []
    themes: list[dict[str, Any]] = []
    devices = {}
    for _, entry, prepared in accepted:
        response_id = created.get(entry.client_id)
        if response_id is None:
            continue
        scores += [
            {"response_id": response_id, "metric": metric, "satisfied": value} for metric, value in prepared["scores"]
        ]
        comment = prepared["row"]["comment"]
        if comment and comment.strip():
            # The themes of the comment, read from the masked text the row holds (as store_prepared does).
            themes += rule_rows(response_id, comment)
        if entry.device is not None:
            devices[entry.device.id] = entry.device
    _insert_many(ResponseScore.__table__, scores)
    _insert_many(CommentTheme.__table__, themes)
    for device in devices.values():
        touch_device(device, now)
    return created
