"""Store a citizen's response exactly once, whatever the network does.

Every channel — the kiosk's queue, the online survey, a receipt's QR code, keyed-in paper —
goes through :func:`submit_response`. The client's UUID is the idempotency key: the same
``client_id`` sent again, in sequence or many times at once, stores nothing more and gives
back the first response's id. Everything is validated before anything is written, and a
rejected submission writes nothing.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import func, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm.attributes import set_committed_value

from surveys import definitions, languages
from surveys.demographics import RESIDENCE_KINDS, demographic_columns
from surveys.pii import mask_text
from surveys.registry_cache import InstrumentEntry, RegistryView, registry_view
from surveys.scoring import score_answers
from surveys.stored import definition_of
from webapp.extensions import db
from webapp.insights import themes as comment_themes
from webapp.models import (
    CHANNELS,
    MODES,
    Device,
    PublishedSnapshot,
    ReceiptToken,
    Response,
    ResponseScore,
    Unit,
    utcnow,
)
from webapp.ops.metrics import record_submission
from webapp.periods import VIETNAM, Period

#: A kiosk may hold ratings while offline this long; older ones are refused as implausible.
MAX_QUEUE_AGE = timedelta(days=180)
#: Clocks drift: an answer time this far in the future is still accepted (and clamped).
CLOCK_SKEW = timedelta(minutes=10)
#: A rating with this many others from its device within BURST_WINDOW before or after its answer
#: time is flagged as a burst. Both sides are checked so that sending the newest rating first
#: cannot hide a burst.
BURST_LIMIT = 6
BURST_WINDOW = timedelta(seconds=60)
#: Fewer seconds per rated item than this means the questions cannot have been read.
MIN_SECONDS_PER_ITEM = 1.0
#: Straight-lining is only judged on instruments with at least this many rated answers.
STRAIGHT_LINING_MIN_ITEMS = 10
MAX_REASONS = 12
#: A counter serves about one citizen every two minutes when busy: a kiosk rating with this many
#: others in the half hour before or after its (claimed) answer time is flagged
#: ``implausible_rate``. A steady two-minute pace stays under it; a rating every 15 seconds, or
#: clusters of 15 every quarter of an hour, do not.
IMPLAUSIBLE_LIMIT = 15
IMPLAUSIBLE_WINDOW = timedelta(minutes=30)
#: Counters open in the day: kiosk ratings outside these hours (Vietnam time) are flagged.
#: The ``KIOSK_OPENING_HOURS`` setting overrides it (the test suite opens all day).
OPENING_HOURS = (6, 20)
#: More online/QR ratings than this from one network address within SOURCE_WINDOW are flagged.
SOURCE_LIMIT = 20
SOURCE_WINDOW = timedelta(hours=24)
#: A device silent for longer than this starts a new sync: its contact floor moves to its last contact.
SYNC_GAP = timedelta(minutes=5)
#: A sync older than this has drained its queue: from then on a rating may be dated at most this far back.
QUEUE_DRAIN = timedelta(minutes=15)
#: How stale a device's "last seen" time may get before a rating updates it.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
COMMENT_ITEM = "comment"
#: Short instruments asked about any service of their sector (the counter tablet, the SMS survey).
ANY_SERVICE_INSTRUMENTS = ("counter-quick", "sms-quick")


@dataclass(frozen=True)
class FieldError:
    """A problem with one field: ``code`` is a short key the web layer turns into words."""

    field: str
    code: str
    params: dict[str, Any] = field(default_factory=dict)


class SubmissionRejected(ValueError):
    """The submission is invalid; nothing was stored."""

    def __init__(self, errors: Sequence[FieldError], status: int = 422):
        self.errors = list(errors)
        self.status = status
        super().__init__("; ".join(f"{e.field}: {e.code}" for e in self.errors))


@dataclass(frozen=True)
class Submission:
    """What a channel hands over. ``answers`` are canonical values (see definitions.coerce_answers)."""

    client_id: uuid.UUID
    instrument_code: str
    unit_code: str
    service_code: str
    channel: str
    answers: Mapping[str, Any]
    reasons: Sequence[str] = ()
    answered_at: datetime | None = None
    duration_seconds: int | None = None
    instrument_version: int | None = None
    respondent_type: str | None = None
    device: Device | None = None
    receipt_token: ReceiptToken | None = None
    #: The sender's network address (online and QR forms); only a keyed hash of it is stored.
    source_address: str | None = None
    #: Matrix sampling: the item codes the respondent was asked (None: everything was asked).
    asked_items: frozenset[str] | None = None
    #: How the respondent answered (``MODES``): set by the path the response came in on, never taken
    #: from the client as such (``assisted`` only from an interviewer's session, ``sms`` only by SMS).
    mode: str = "self"
    #: The language the questions were shown in (``surveys.languages``).
    language: str = "vi"


@dataclass(frozen=True)
class Stored:
    response_id: int
    #: False when the client_id had already been stored (a retry).
    created: bool
    flagged: bool = False


def find_response_id(client_id: uuid.UUID) -> int | None:
    return db.session.scalar(select(Response.id).where(Response.client_id == client_id))


def _instrument(submission: Submission, view: RegistryView, errors: list[FieldError]) -> InstrumentEntry | None:
    if submission.instrument_version is None:
        entry = view.active.get(submission.instrument_code)
    else:
        entry = view.instruments.get((submission.instrument_code, submission.instrument_version))
    if entry is None:
        errors.append(FieldError("instrument", "unknown_instrument"))
    return entry


def _check_time(submission: Submission, now: datetime, errors: list[FieldError]) -> datetime:
    """The answer time: the server's clock, except for a kiosk's queued offline ratings."""
    if submission.device is None and submission.channel != "paper":
        # Online, QR and anything else without a device: the server decides the time.
        return now
    answered_at = submission.answered_at or now
    if answered_at.tzinfo is None:
        errors.append(FieldError("answered_at", "timezone_required"))
        return now
    if answered_at > now + CLOCK_SKEW:
        errors.append(FieldError("answered_at", "in_future"))
    elif answered_at < now - MAX_QUEUE_AGE:
        errors.append(FieldError("answered_at", "too_old", {"days": MAX_QUEUE_AGE.days}))
    return min(answered_at, now)


def sync_state(device: Device, now: datetime) -> tuple[datetime, datetime]:
    """``(floor, sync start)``: the earliest answer time ``device`` may claim when it contacts the server at ``now``.

    A kiosk may queue ratings while offline, but never from before its last contact with the
    server preceding this sync (or its approval): a device silent for more than SYNC_GAP starts
    a new sync whose floor is its last contact. A queue drains within minutes of reconnecting,
    so once a sync has lasted QUEUE_DRAIN, only ratings from the last QUEUE_DRAIN are plausible:
    a device that merely keeps in touch cannot keep an old floor.
    """
    floor = device.contact_floor_at or device.approved_at or device.created_at or now
    last_seen, started = device.last_seen_at, device.sync_started_at
    if last_seen is None or started is None or now - last_seen > SYNC_GAP:
        if last_seen is not None and now - last_seen > SYNC_GAP:
            floor = max(floor, last_seen)
        return floor, now
    if now - started > QUEUE_DRAIN:
        floor = max(floor, now - QUEUE_DRAIN)
    return floor, started


def touch_device(device: Device, now: datetime | None = None) -> None:
    """Record a contact from ``device`` (a rating or its page), moving its floor as :func:`sync_state` says."""
    now = now or utcnow()
    values: dict[str, Any] = {}
    floor, started = sync_state(device, now)
    # Small moves are skipped: a busy kiosk should not write its device row on every rating.
    if device.contact_floor_at is None or floor - device.contact_floor_at > LAST_SEEN_RESOLUTION:
        values["contact_floor_at"] = floor
    if started != device.sync_started_at:
        values["sync_started_at"] = started
    if device.last_seen_at is None or now - device.last_seen_at > LAST_SEEN_RESOLUTION:
        values["last_seen_at"] = now
    if values:
        db.session.execute(update(Device).where(Device.id == device.id).values(**values))
        for name, value in values.items():
            set_committed_value(device, name, value)


def _network(address: str) -> str:
    """The address itself, or its /64 for IPv6 (one household or phone has a whole /64)."""
    try:
        parsed = ipaddress.ip_address(address)
    except ValueError:
        return address
    if parsed.version == 6:
        return str(ipaddress.ip_network(f"{parsed}/64", strict=False))
    return str(parsed)


def source_digest(address: str | None) -> str | None:
    """A keyed hash of a network address: enough to count ratings from one address, not to find it."""
    if not address:
        return None
    secret = current_app.config["SECRET_KEY"]
    key = secret.encode() if isinstance(secret, str) else secret
    return hmac.new(key, b"source:" + _network(address).encode("utf-8", "replace"), hashlib.sha256).hexdigest()[:32]


def is_late(quarter: Period) -> bool:
    """Whether the quarter, or a half-year or year containing it, has already been published."""
    labels = [p.label for p in quarter.containing()]
    return (
        db.session.scalar(select(PublishedSnapshot.id).where(PublishedSnapshot.period.in_(labels)).limit(1)) is not None
    )


def _residence_units(on_day) -> dict[str, tuple[int, str]]:
    rows = db.session.execute(
        select(Unit.code, Unit.id, Unit.kind).where(
            Unit.kind.in_(tuple(RESIDENCE_KINDS)),
            Unit.valid_from <= on_day,
            (Unit.valid_to.is_(None)) | (Unit.valid_to >= on_day),
        )
    )
    return {code: (unit_id, kind) for code, unit_id, kind in rows}


def overall_satisfied(instrument: definitions.Instrument, value: Any) -> bool | None:
    """Whether an ``overall`` answer counts as satisfied under the rule the instrument declares for it.

    Three faces (version 1 of ``counter-quick``): 2 and 3; five faces: 4 and 5. The rule comes
    from the instrument version answered, never from a constant.
    """
    rule = next(link.rule for link in instrument.indicators if link.item == "overall")
    return definitions.apply_rule(rule, value)


def _merge_reasons(
    instrument: definitions.Instrument, answers: dict, reasons: Sequence[str], errors: list[FieldError]
) -> None:
    """Kiosk chips arrive as a flat ``reasons`` list: file them under what went well or badly."""
    if not reasons:
        return
    if (
        not isinstance(reasons, list | tuple)
        or len(reasons) > MAX_REASONS
        or not all(isinstance(r, str) for r in reasons)
    ):
        errors.append(FieldError("reasons", "invalid_type"))
        return
    overall = answers.get("overall")
    if not instrument.has_item("went_well") or overall not in instrument.item("overall").option_values:
        errors.append(
            FieldError("reasons", "unknown_item" if not instrument.has_item("went_well") else "invalid_choice")
        )
        return
    target = "went_well" if overall_satisfied(instrument, overall) else "went_badly"
    if not instrument.has_item(target):
        errors.append(FieldError("reasons", "unknown_item"))
        return
    order = list(instrument.item(target).option_values)
    unknown = [r for r in reasons if r not in order]
    if unknown:
        errors.append(FieldError("reasons", "invalid_choice", {"value": unknown[0]}))
        return
    # Kept in the questionnaire's order, so the same chips always give the same answers.
    answers[target] = sorted(set(reasons) | set(answers.get(target, ())), key=order.index)


#: ``(before, after, burst before, burst after)``: a device's ratings around an answer time (see :func:`device_counts`).
DeviceCounts = Callable[[int, datetime], tuple[int, int, int, int]]


def device_counts(device_id: int, answered_at: datetime) -> tuple[int, int, int, int]:
    """The device's stored ratings within IMPLAUSIBLE_WINDOW at or before / at or after ``answered_at``,
    and within BURST_WINDOW at or before / at or after it (one query)."""
    return tuple(
        db.session.execute(
            select(
                func.count().filter(Response.answered_at <= answered_at),
                func.count().filter(Response.answered_at >= answered_at),
                func.count().filter(
                    Response.answered_at > answered_at - BURST_WINDOW, Response.answered_at <= answered_at
                ),
                func.count().filter(
                    Response.answered_at < answered_at + BURST_WINDOW, Response.answered_at >= answered_at
                ),
            ).where(
                Response.device_id == device_id,
                Response.answered_at > answered_at - IMPLAUSIBLE_WINDOW,
                Response.answered_at < answered_at + IMPLAUSIBLE_WINDOW,
            )
        ).one()
    )


def _quality_flags(
    submission: Submission,
    definition: definitions.Instrument,
    answers: Mapping[str, Any],
    answered_at: datetime,
    now: datetime,
    digest: str | None,
    backdated: bool,
    counts: DeviceCounts = device_counts,
) -> list[str]:
    flags = ["backdated"] if backdated else []
    rated = [
        answers[i.code]
        for i in definitions.rated_items(definition)
        if isinstance(answers.get(i.code), int) and answers[i.code] > 0
    ]
    too_fast = submission.duration_seconds is not None and submission.duration_seconds < MIN_SECONDS_PER_ITEM * len(
        rated
    )
    if len(rated) >= 3 and too_fast:
        flags.append("too_fast")
    if len(rated) >= STRAIGHT_LINING_MIN_ITEMS and len(set(rated)) == 1:
        flags.append("straight_lining")
    if submission.device is not None:
        before, after, burst_before, burst_after = counts(submission.device.id, answered_at)
        # Either side of the answer time, so that neither the order of sending nor clusters
        # spread between windows can hide a pace no counter serves.
        if max(burst_before, burst_after) >= BURST_LIMIT:
            flags.append("burst")
        if max(before, after) >= IMPLAUSIBLE_LIMIT:
            flags.append("implausible_rate")
        opens, closes = current_app.config.get("KIOSK_OPENING_HOURS", OPENING_HOURS)
        if not opens <= answered_at.astimezone(VIETNAM).hour < closes:
            flags.append("outside_hours")
    if digest is not None:
        same = db.session.scalar(
            select(func.count())
            .select_from(Response)
            .where(Response.source_digest == digest, Response.received_at > now - SOURCE_WINDOW)
        )
        if same >= SOURCE_LIMIT:
            flags.append("same_source")
    return flags


def validate_submission(
    submission: Submission,
    now: datetime | None = None,
    *,
    counts: DeviceCounts = device_counts,
    late: Callable[[Period], bool] | None = None,
) -> dict[str, Any]:
    """Check everything and return the row to insert; raise :class:`SubmissionRejected`.

    A batch (surveys/batch.py) passes ``counts`` that also see its own not yet inserted
    ratings, and ``late`` that asks the database once per quarter.
    """
    now = now or utcnow()
    errors: list[FieldError] = []
    if submission.channel not in CHANNELS:
        errors.append(FieldError("channel", "invalid_choice", {"value": submission.channel}))
    if submission.channel == "kiosk" and submission.device is None:
        errors.append(FieldError("channel", "device_required"))
    if submission.channel == "qr" and submission.receipt_token is None:
        errors.append(FieldError("token", "required"))
    if submission.mode not in MODES or (submission.mode == "sms") != (submission.channel == "sms"):
        errors.append(FieldError("mode", "invalid_choice", {"value": submission.mode}))
    if not languages.is_known(submission.language):
        errors.append(FieldError("language", "invalid_choice", {"value": submission.language}))
    answered_at = _check_time(submission, now, errors)
    backdated = False
    if submission.device is not None:
        floor, _started = sync_state(submission.device, now)
        if answered_at < floor - CLOCK_SKEW:
            # Older than the kiosk's last contact: kept, dated at the floor, flagged and not counted.
            backdated, answered_at = True, floor
    view = registry_view()
    unit = view.units.get(submission.unit_code)
    service = view.services.get(submission.service_code)
    instrument = _instrument(submission, view, errors)
    if unit is None:
        errors.append(FieldError("unit", "unknown_unit"))
    elif not unit.valid_on(answered_at.date()):
        errors.append(FieldError("unit", "unit_not_valid_then"))
    if service is None:
        errors.append(FieldError("service", "unknown_service"))
    elif unit is not None and (unit.id, service.id) not in view.offered:
        errors.append(FieldError("service", "not_offered"))
    elif not service.valid_on(answered_at.astimezone(VIETNAM).date()):
        # A group that had ended (its procedures moved to a successor) or did not exist yet.
        errors.append(FieldError("service", "service_not_valid_then"))
    if submission.device is not None and unit is not None and submission.device.counter.unit_id != unit.id:
        errors.append(FieldError("unit", "not_this_device"))
    token = submission.receipt_token
    if token is not None and (
        unit is None or service is None or token.unit_id != unit.id or token.service_id != service.id
    ):
        errors.append(FieldError("token", "not_this_service"))
    if errors or instrument is None:
        raise SubmissionRejected(errors)

    definition = definition_of(instrument)
    if submission.channel not in definition.channels:
        errors.append(FieldError("channel", "not_for_instrument"))
    if service.instrument_code != instrument.code and instrument.code not in ANY_SERVICE_INSTRUMENTS:
        errors.append(FieldError("instrument", "not_for_service"))
    if definition.sector != service.sector:
        errors.append(FieldError("instrument", "not_for_service"))
    answers = dict(submission.answers)
    _merge_reasons(definition, answers, submission.reasons, errors)
    # Only questionnaires that ask where the respondent lives need the list of communes.
    asks_residence = any(item.source == "residence_units" for item in definition.items)
    residence = _residence_units(answered_at.date()) if asks_residence else {}
    for problem in definitions.validate_answers(
        definition, answers, sources={"residence_units": residence}, asked=submission.asked_items
    ):
        errors.append(FieldError(f"answers.{problem.item}", problem.code, dict(problem.params)))
    respondent_type = answers.get(definitions.RESPONDENT_TYPE_ITEM) or submission.respondent_type or "citizen"
    if respondent_type not in definition.respondent_types:
        errors.append(FieldError("respondent_type", "invalid_choice", {"value": respondent_type}))
    if submission.duration_seconds is not None and not (0 <= submission.duration_seconds <= 86_400):
        errors.append(FieldError("duration_seconds", "out_of_range"))
    if errors:
        raise SubmissionRejected(errors)

    comment = answers.get(COMMENT_ITEM)
    if comment:
        # Personal data never reaches the database: the comment is stored masked.
        comment = mask_text(comment)
        answers[COMMENT_ITEM] = comment
    scores = score_answers(definition, answers)
    digest = source_digest(submission.source_address) if submission.device is None else None
    flags = _quality_flags(submission, definition, answers, answered_at, now, digest, backdated, counts)
    quarter = Period.quarter_of(answered_at)
    return {
        "row": {
            "client_id": submission.client_id,
            "instrument_id": instrument.id,
            "unit_id": unit.id,
            "service_id": service.id,
            "counter_id": submission.device.counter_id if submission.device else None,
            "device_id": submission.device.id if submission.device else None,
            "channel": submission.channel,
            "mode": submission.mode,
            "language": submission.language,
            "respondent_type": respondent_type,
            "period": quarter.label,
            "answered_at": answered_at,
            "received_at": now,
            "duration_seconds": submission.duration_seconds,
            "answers": answers,
            "reasons": list(submission.reasons),
            "kiosk_rating": answers.get("overall") if instrument.code == "counter-quick" else None,
            "items_rated": scores.items_rated,
            "items_satisfied": scores.items_satisfied,
            "items_score_sum": scores.items_score_sum,
            "comment": comment or None,
            "status": "flagged" if flags else "valid",
            "quality_flags": flags,
            "late": (late or is_late)(quarter),
            "source_digest": digest,
            "asked_items": sorted(submission.asked_items) if submission.asked_items is not None else None,
            **demographic_columns(answers, residence.get(answers.get("residence"))),
        },
        "scores": scores.metrics,
    }


def insert_ignoring_duplicates():
    """``INSERT INTO responses … ON CONFLICT (client_id) DO NOTHING``, for one row (``.values``) or
    many (executed with a list of rows: SQLAlchemy sends them as multi-row VALUES)."""
    dialect = db.engine.dialect.name
    table = Response.__table__
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=["client_id"])
    if dialect == "sqlite":
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=["client_id"])
    return insert(table)  # pragma: no cover - other engines are not supported


def _insert_ignoring_duplicate(row: dict[str, Any]) -> int | None:
    """INSERT … ON CONFLICT (client_id) DO NOTHING RETURNING id: None when it already existed."""
    return db.session.execute(insert_ignoring_duplicates().values(row).returning(Response.__table__.c.id)).scalar()


def store_prepared(submission: Submission, prepared: dict[str, Any]) -> int | None:
    """Insert a validated response and its scores in the current transaction (no commit).

    Returns the new id, or None when the ``client_id`` was stored meanwhile. Raises
    :class:`SubmissionRejected` (409) when the receipt token was used by another response.
    """
    response_id = _insert_ignoring_duplicate(prepared["row"])
    if response_id is None:
        return None
    if prepared["row"]["comment"]:
        # The themes of the comment, read from the masked text the row holds.
        comment_themes.store_rule_themes(response_id, prepared["row"]["comment"])
    if prepared["scores"]:
        db.session.execute(
            insert(ResponseScore.__table__),
            [
                {"response_id": response_id, "metric": metric, "satisfied": value}
                for metric, value in prepared["scores"]
            ],
        )
    if submission.receipt_token is not None:
        marked = db.session.execute(
            update(ReceiptToken)
            .where(ReceiptToken.id == submission.receipt_token.id, ReceiptToken.used_at.is_(None))
            .values(used_at=prepared["row"]["received_at"], response_id=response_id)
        ).rowcount
        if marked != 1:
            raise SubmissionRejected([FieldError("token", "already_used")], status=409)
    if submission.device is not None:
        touch_device(submission.device, prepared["row"]["received_at"])
    return response_id


def submit_response(submission: Submission, now: datetime | None = None) -> Stored:
    """Validate and store ``submission`` once; a repeated ``client_id`` returns the stored id.

    Raises :class:`SubmissionRejected` (nothing stored) for invalid input, with status 409
    when a receipt token was used by another response meanwhile.
    """
    existing = find_response_id(submission.client_id)
    if existing is not None:
        record_submission(submission.channel, "duplicate")
        return Stored(existing, created=False)
    try:
        prepared = validate_submission(submission, now)
    except SubmissionRejected:
        record_submission(submission.channel, "rejected")
        raise
    try:
        response_id = store_prepared(submission, prepared)
        if response_id is None:
            # Another request stored the same client_id between our check and our insert.
            db.session.rollback()
            record_submission(submission.channel, "duplicate")
            return Stored(find_response_id(submission.client_id), created=False)
        db.session.commit()
    except SubmissionRejected:
        db.session.rollback()
        record_submission(submission.channel, "rejected")
        raise
    except Exception:
        db.session.rollback()
        raise
    record_submission(submission.channel, "created")
    return Stored(response_id, created=True, flagged=prepared["row"]["status"] == "flagged")
