"""Integrity signals: where a unit's or a tablet's ratings look stuffed, for a quarter or the last days.

Each signal is computed with a few SQL ``GROUP BY`` queries over the whole province (no query
per unit), then judged in Python against the constants below. A signal is a prompt to look,
not a verdict: flagged responses are already out of the estimates, and the page lets an
administrator reinstate a response or exclude one by hand (``webapp.integrity.review``).

The thresholds, and why:

* **Responses per dossier far above the unit's history** (``response_rate_jump``): all
  responses, flagged included, divided by the dossiers counted for the quarter, against the
  median of the same ratio over the unit's previous :data:`RATE_HISTORY_QUARTERS` quarters
  (those with a count). It fires at :data:`RATE_JUMP_FACTOR` times the median with at least
  :data:`RATE_JUMP_MIN_RESPONSES` responses, so that a small unit's ordinary noise is quiet.
* **Share of top ratings far from the tablet's peers** (``top_share_outlier``): the share of
  kiosk ratings equal to the top face (the highest value of the ``overall`` item of the
  instrument version rated: 3 on the three-face version, 5 on the five-face one) on one tablet
  against the pooled share of every other tablet of units of the same kind rated on the same
  version — a three-face tablet is never compared with a five-face one — by a two-proportion z
  statistic with the pooled variance. Both sides need :data:`TOP_SHARE_MIN_RATINGS` ratings; it fires at
  ``|z| >=`` :data:`TOP_SHARE_Z` (about 1 in 15 000 under no difference, so with hundreds of
  tablets a quarter a false alarm stays rare).
* **Receipt codes beyond dossiers** (``receipts_beyond_dossiers``): codes issued in the
  quarter and not revoked, over the dossiers counted; a unit cannot hand out more receipts
  than it has dossiers, so any ratio above :data:`RECEIPT_RATIO_LIMIT` fires. Codes with no
  count at all (``receipts_without_dossiers``) fire only once the quarter has ended, since
  counts are imported after it.
* The submission path's own flags (``burst``, ``implausible_rate``, ``backdated``,
  ``outside_hours``, ``same_source``) are counted per tablet or per unit; refused attempts are
  the audit log's ``integrity.*`` events.

Quarterly signals (the two using dossier counts) are computed for the window's quarter: the
quarter itself, or, for "the last N days", the quarter containing today (quarter to date).
"""

from __future__ import annotations

import json
import math
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy import ColumnElement, Text, cast, func, select

from surveys.stored import definition_of
from webapp.extensions import db
from webapp.models import AuditEvent, Instrument, ReceiptToken, Response, TransactionCount, Unit, utcnow
from webapp.periods import VIETNAM, Period

#: Most serious first; the page and the summary sort by this order.
SEVERITIES = ("high", "medium", "low")
#: Responses per dossier at least this many times the unit's median ratio…
RATE_JUMP_FACTOR = 3.0
#: …with at least this many responses in the quarter.
RATE_JUMP_MIN_RESPONSES = 20
#: How many earlier quarters make the unit's history (at least two with a count are needed).
RATE_HISTORY_QUARTERS = 4
RATE_HISTORY_MIN_QUARTERS = 2
#: Ratings a tablet (and its peers together) need before their shares are compared.
TOP_SHARE_MIN_RATINGS = 30
#: |z| of the two-proportion test at which a tablet's share of top ratings is a signal.
TOP_SHARE_Z = 4.0
#: Receipt codes per counted dossier above which the unit issued more codes than it had dossiers.
RECEIPT_RATIO_LIMIT = 1.0
#: A unit whose flagged share is at least this (and at least 10 flagged) is "medium", else "low".
FLAGGED_SHARE_MEDIUM = 0.10
FLAGGED_COUNT_MEDIUM = 10
#: How many source digests are named per unit, and how many hex characters of each are shown.
TOP_DIGESTS = 3
DIGEST_SHOWN = 8
#: Flags that say a tablet's clock or pace was impossible for one counter.
DEVICE_PACE_FLAGS = ("burst", "implausible_rate", "backdated")
#: Audit actions of refused stuffing attempts start with this.
REFUSED_PREFIX = "integrity."

#: Readable names of the quality flags (the codes stay in the data and the JSON output).
FLAG_NAMES = {
    "burst": _l("burst of ratings"),
    "too_fast": _l("answered too fast"),
    "straight_lining": _l("same answer everywhere"),
    "backdated": _l("answer time before the tablet's last contact"),
    "implausible_rate": _l("more ratings than a counter can serve"),
    "outside_hours": _l("outside opening hours"),
    "same_source": _l("many ratings from one address"),
    "admin_excluded": _l("excluded by an administrator"),
}
CHANNEL_NAMES = {"kiosk": _l("kiosk"), "online": _l("online"), "qr": _l("receipt code"), "paper": _l("paper")}
SIGNAL_NAMES = {
    "flagged_responses": _l("Flagged responses"),
    "late_responses": _l("Late responses"),
    "response_rate_jump": _l("Responses per dossier far above history"),
    "outside_hours": _l("Tablet rating outside opening hours"),
    "top_share_outlier": _l("Tablet's share of top ratings far from its peers"),
    "receipts_beyond_dossiers": _l("More receipt codes than dossiers"),
    "receipts_without_dossiers": _l("Receipt codes but no dossier count"),
    "device_pace": _l("Tablet bursts, impossible pace or backdated ratings"),
    "same_source": _l("Many ratings from one address"),
    "refused_attempts": _l("Refused attempts"),
}
SIGNAL_CODES = tuple(SIGNAL_NAMES)


def flag_name(code: str) -> str:
    return str(FLAG_NAMES.get(code, code))


def channel_name(code: str) -> str:
    return str(CHANNEL_NAMES.get(code, code))


@dataclass(frozen=True)
class UnitRef:
    """What a signal needs to name its unit (``|localized`` reads ``name_vi``/``name_en``)."""

    id: int | None
    code: str
    name_vi: str
    name_en: str


#: Refused attempts whose audit event names no known unit.
UNKNOWN_UNIT = UnitRef(None, "", "Không rõ đơn vị", "Unknown unit")


@dataclass(frozen=True)
class Window:
    """What a computation covers: ``start`` (inclusive) to ``end`` (exclusive), aware datetimes.

    ``period`` is set when the window is a whole quarter (responses are then selected by their
    stored quarter); otherwise responses are selected by the server's receipt time, which a
    tablet cannot backdate. ``quarter`` is the quarter of the dossier-based signals.
    """

    label: str
    start: datetime
    end: datetime
    quarter: Period
    period: Period | None = None

    @classmethod
    def for_quarter(cls, period: Period) -> Window:
        if period.kind != "Q":
            raise ValueError("integrity signals are computed per quarter")
        return cls(period.label, _midnight(period.start), _midnight(period.end) + timedelta(days=1), period, period)

    @classmethod
    def last_days(cls, days: int = 7, now: datetime | None = None) -> Window:
        if not 1 <= days <= 366:
            raise ValueError("days must be from 1 to 366")
        end = now or utcnow()
        return cls(f"{days}d", end - timedelta(days=days), end, Period.quarter_of(end))

    def responses(self) -> ColumnElement[bool]:
        """The condition selecting this window's responses."""
        if self.period is not None:
            return Response.period == self.period.label
        return (Response.received_at >= self.start) & (Response.received_at < self.end)

    @property
    def quarter_ended(self) -> bool:
        return self.quarter.end < utcnow().astimezone(VIETNAM).date()


def _midnight(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=VIETNAM)


@dataclass(frozen=True)
class Signal:
    """One thing worth a look: ``code``, ``severity``, the unit (and tablet), the numbers behind it."""

    code: str
    severity: str
    unit: UnitRef
    numbers: dict[str, Any] = field(default_factory=dict)
    device_id: int | None = None

    @property
    def name(self) -> str:
        return str(SIGNAL_NAMES[self.code])

    @property
    def explanation(self) -> str:
        return explain(self)

    @property
    def rank(self) -> int:
        return SEVERITIES.index(self.severity)

    def as_dict(self) -> dict[str, Any]:
        """JSON-friendly, for ``--format json``."""
        return {
            "code": self.code,
            "severity": self.severity,
            "unit": self.unit.code or None,
            "device": self.device_id,
            "numbers": self.numbers,
            "explanation": self.explanation,
        }


@dataclass
class UnitTally:
    """Counts of one unit's responses in the window (flagged ones by reason and channel)."""

    responses: int = 0
    flagged: int = 0
    late: int = 0
    reinstated: int = 0
    by_reason: Counter = field(default_factory=Counter)
    flagged_by_channel: Counter = field(default_factory=Counter)
    late_by_channel: Counter = field(default_factory=Counter)
    #: Every flag seen on the unit's responses, whatever their status now (reinstated included).
    flags_seen: Counter = field(default_factory=Counter)
    #: Per tablet, every flag seen on its responses.
    device_flags: dict[int, Counter] = field(default_factory=lambda: defaultdict(Counter))


@dataclass
class Report:
    """The signals of a window, most serious first, and the per-unit counts they came from."""

    window: Window
    signals: list[Signal]
    tallies: dict[int, UnitTally]
    refused: int = 0

    def by_unit(self) -> list[tuple[UnitRef, list[Signal]]]:
        """Units with at least one signal, the most serious first, then by number of signals."""
        grouped: dict[str, list[Signal]] = defaultdict(list)
        refs: dict[str, UnitRef] = {}
        for signal in self.signals:
            grouped[signal.unit.code].append(signal)
            refs[signal.unit.code] = signal.unit
        order = sorted(grouped, key=lambda code: (min(s.rank for s in grouped[code]), -len(grouped[code]), code))
        return [(refs[code], grouped[code]) for code in order]

    def totals(self) -> dict[str, int]:
        tallies = self.tallies.values()
        return {
            "responses": sum(t.responses for t in tallies),
            "flagged": sum(t.flagged for t in tallies),
            "late": sum(t.late for t in tallies),
            "reinstated": sum(t.reinstated for t in tallies),
            "refused": self.refused,
        }


def compute_signals(window: Window) -> Report:
    """Every signal of every unit for ``window``."""
    tallies = _tallies(window)
    signals: list[Signal] = []
    unit_ids = set(tallies)
    labels = _history_labels(window.quarter)
    responses, dossiers = _quarter_counts(labels)
    rate_rows = _rate_jumps(labels, responses, dossiers)
    top_rows = _top_share_outliers(window)
    receipt_rows = _receipt_ratios(window, dossiers)
    refused_rows = _refused_attempts(window)
    unit_ids |= {row[0] for row in rate_rows} | {row[1] for row in top_rows} | {row[0] for row in receipt_rows}
    codes = {code for code, _, _ in refused_rows if code}
    units = _unit_refs(unit_ids, codes)
    by_code = {ref.code: ref for ref in units.values()}

    for unit_id, tally in tallies.items():
        unit = units[unit_id]
        signals.extend(_tally_signals(unit, tally))
    same_source = {
        unit_id: t.flags_seen["same_source"] for unit_id, t in tallies.items() if t.flags_seen["same_source"]
    }
    digests = _top_digests(window, list(same_source))
    for unit_id, count in same_source.items():
        signals.append(
            Signal("same_source", "medium", units[unit_id], {"count": count, "top_sources": digests.get(unit_id, [])})
        )
    for unit_id, ratio, median, responses, dossiers in rate_rows:
        signals.append(
            Signal(
                "response_rate_jump",
                "high",
                units[unit_id],
                {
                    "quarter": window.quarter.label,
                    "responses": responses,
                    "dossiers": dossiers,
                    "ratio": round(ratio, 4),
                    "history_median": round(median, 4),
                    "times": round(ratio / median, 1),
                },
            )
        )
    for device_id, unit_id, top_face, n, top, share, peer_share, z in top_rows:
        signals.append(
            Signal(
                "top_share_outlier",
                "high" if z > 0 else "medium",
                units[unit_id],
                {
                    "ratings": n,
                    "top_face": top_face,
                    "top": top,
                    "share": round(share, 3),
                    "peer_share": round(peer_share, 3),
                    "z": round(z, 1),
                },
                device_id,
            )
        )
    for unit_id, issued, dossiers in receipt_rows:
        if dossiers:
            signals.append(
                Signal(
                    "receipts_beyond_dossiers",
                    "high",
                    units[unit_id],
                    {
                        "quarter": window.quarter.label,
                        "issued": issued,
                        "dossiers": dossiers,
                        "ratio": round(issued / dossiers, 2),
                    },
                )
            )
        else:
            signals.append(
                Signal(
                    "receipts_without_dossiers",
                    "low",
                    units[unit_id],
                    {"quarter": window.quarter.label, "issued": issued},
                )
            )
    refused_by_unit: dict[UnitRef, Counter] = defaultdict(Counter)
    for code, action, count in refused_rows:
        refused_by_unit[by_code.get(code or "", UNKNOWN_UNIT)][action] += count
    for unit, actions in refused_by_unit.items():
        signals.append(
            Signal("refused_attempts", "medium", unit, {"count": sum(actions.values()), "by_action": dict(actions)})
        )
    signals.sort(key=lambda s: (s.rank, s.unit.code, SIGNAL_CODES.index(s.code), s.device_id or 0))
    return Report(window, signals, tallies, refused=sum(count for _, _, count in refused_rows))


# --- the queries ------------------------------------------------------------------------------


def _tallies(window: Window) -> dict[int, UnitTally]:
    """One GROUP BY over the window's responses: unit × tablet × channel × status × late × flags."""
    reinstated = Response.reinstated_at.is_not(None)
    flags = cast(Response.quality_flags, Text)
    rows = db.session.execute(
        select(
            Response.unit_id,
            Response.device_id,
            Response.channel,
            Response.status,
            Response.late,
            reinstated,
            flags,
            func.count(),
        )
        .where(window.responses())
        .group_by(
            Response.unit_id, Response.device_id, Response.channel, Response.status, Response.late, reinstated, flags
        )
    )
    tallies: dict[int, UnitTally] = defaultdict(UnitTally)
    for unit_id, device_id, channel, status, late, was_reinstated, flag_text, count in rows:
        tally = tallies[unit_id]
        names = _flag_list(flag_text)
        tally.responses += count
        if status == "flagged":
            tally.flagged += count
            tally.flagged_by_channel[channel] += count
            for name in names:
                tally.by_reason[name] += count
        if late:
            tally.late += count
            tally.late_by_channel[channel] += count
        if was_reinstated:
            tally.reinstated += count
        for name in names:
            tally.flags_seen[name] += count
            if device_id is not None:
                tally.device_flags[device_id][name] += count
    return dict(tallies)


def _flag_list(text: str | None) -> list[str]:
    try:
        value = json.loads(text) if text else []
    except ValueError:
        return []
    return [str(name) for name in value] if isinstance(value, list) else []


def _tally_signals(unit: UnitRef, tally: UnitTally) -> list[Signal]:
    found = []
    if tally.flagged:
        share = tally.flagged / tally.responses
        severity = "medium" if tally.flagged >= FLAGGED_COUNT_MEDIUM and share >= FLAGGED_SHARE_MEDIUM else "low"
        found.append(
            Signal(
                "flagged_responses",
                severity,
                unit,
                {
                    "flagged": tally.flagged,
                    "responses": tally.responses,
                    "share": round(share, 3),
                    "reinstated": tally.reinstated,
                    "by_reason": dict(tally.by_reason.most_common()),
                    "by_channel": dict(tally.flagged_by_channel.most_common()),
                },
            )
        )
    if tally.late:
        found.append(
            Signal(
                "late_responses",
                "low",
                unit,
                {"late": tally.late, "by_channel": dict(tally.late_by_channel.most_common())},
            )
        )
    for device_id in sorted(tally.device_flags):
        flags = tally.device_flags[device_id]
        if flags["outside_hours"]:
            found.append(Signal("outside_hours", "medium", unit, {"count": flags["outside_hours"]}, device_id))
        pace = {name: flags[name] for name in DEVICE_PACE_FLAGS if flags[name]}
        if pace:
            severity = "high" if pace.keys() & {"implausible_rate", "backdated"} else "medium"
            found.append(
                Signal("device_pace", severity, unit, {"count": sum(pace.values()), "by_flag": pace}, device_id)
            )
    return found


def _quarter_counts(labels: list[str]) -> tuple[dict[tuple[int, str], int], dict[tuple[int, str], int]]:
    """Responses (all statuses) and counted dossiers per (unit, quarter) for ``labels``."""
    responses = {
        (unit_id, period): count
        for unit_id, period, count in db.session.execute(
            select(Response.unit_id, Response.period, func.count())
            .where(Response.period.in_(labels))
            .group_by(Response.unit_id, Response.period)
        )
    }
    dossiers = {
        (unit_id, period): int(total or 0)
        for unit_id, period, total in db.session.execute(
            select(TransactionCount.unit_id, TransactionCount.period, func.sum(TransactionCount.count))
            .where(TransactionCount.period.in_(labels))
            .group_by(TransactionCount.unit_id, TransactionCount.period)
        )
    }
    return responses, dossiers


def _history_labels(quarter: Period) -> list[str]:
    """``quarter`` then the :data:`RATE_HISTORY_QUARTERS` before it, newest first."""
    history = [quarter]
    for _step in range(RATE_HISTORY_QUARTERS):
        history.append(history[-1].previous())
    return [period.label for period in history]


def _rate_jumps(
    labels: list[str], responses: dict[tuple[int, str], int], dossiers: dict[tuple[int, str], int]
) -> list[tuple[int, float, float, int, int]]:
    """``(unit_id, ratio, history median, responses, dossiers)`` for units far above their history.

    ``labels`` are the quarter then its history (:func:`_history_labels`), the counts those of
    :func:`_quarter_counts` for them."""
    found = []
    for (unit_id, period), count in responses.items():
        if period != labels[0] or count < RATE_JUMP_MIN_RESPONSES or not dossiers.get((unit_id, period)):
            continue
        past = [
            responses.get((unit_id, label), 0) / dossiers[(unit_id, label)]
            for label in labels[1:]
            if dossiers.get((unit_id, label))
        ]
        if len(past) < RATE_HISTORY_MIN_QUARTERS:
            continue
        median = statistics.median(past)
        ratio = count / dossiers[(unit_id, period)]
        if median > 0 and ratio >= RATE_JUMP_FACTOR * median:
            found.append((unit_id, ratio, median, count, dossiers[(unit_id, period)]))
    return found


def two_proportion_z(top: int, n: int, other_top: int, other_n: int) -> float | None:
    """z of the difference of two shares with the pooled variance; ``None`` when it has none."""
    pooled = (top + other_top) / (n + other_n)
    variance = pooled * (1 - pooled) * (1 / n + 1 / other_n)
    if variance <= 0:
        return None
    return (top / n - other_top / other_n) / math.sqrt(variance)


def top_faces(instrument_ids) -> dict[int, int]:
    """The top face of each instrument version: the highest value of its ``overall`` item."""
    rows = db.session.scalars(select(Instrument).where(Instrument.id.in_(sorted(set(instrument_ids)))))
    return {row.id: max(definition_of(row).item("overall").option_values) for row in rows}


def _top_share_outliers(window: Window) -> list[tuple[int, int, int, int, int, float, float, float]]:
    """``(device, unit, top face, n, top, share, peer share, z)`` for tablets far from their peers.

    Peers are the other tablets of units of the same kind rated on the same instrument version:
    shares of top faces on different scales are never compared.
    """
    rows = db.session.execute(
        select(
            Response.device_id, Response.unit_id, Unit.kind, Response.instrument_id, Response.kiosk_rating, func.count()
        )
        .join(Unit, Unit.id == Response.unit_id)
        .where(window.responses(), Response.device_id.is_not(None), Response.kiosk_rating.is_not(None))
        .group_by(Response.device_id, Response.unit_id, Unit.kind, Response.instrument_id, Response.kiosk_rating)
    ).all()
    top_of = top_faces(row.instrument_id for row in rows)
    tablets: dict[tuple[int, int, str, int], list[int]] = defaultdict(lambda: [0, 0])
    for device_id, unit_id, kind, instrument_id, rating, count in rows:
        tally = tablets[(device_id, unit_id, kind, instrument_id)]
        tally[0] += count
        tally[1] += count if rating == top_of[instrument_id] else 0
    peers: dict[tuple[str, int], list[int]] = defaultdict(lambda: [0, 0])
    for (_device, _unit, kind, instrument_id), (n, tops) in tablets.items():
        peers[(kind, instrument_id)][0] += n
        peers[(kind, instrument_id)][1] += tops
    found = []
    for (device_id, unit_id, kind, instrument_id), (n, tops) in sorted(tablets.items()):
        all_n, all_top = peers[(kind, instrument_id)]
        other_n, other_top = all_n - n, all_top - tops
        if n < TOP_SHARE_MIN_RATINGS or other_n < TOP_SHARE_MIN_RATINGS:
            continue
        z = two_proportion_z(tops, n, other_top, other_n)
        if z is not None and abs(z) >= TOP_SHARE_Z:
            found.append((device_id, unit_id, top_of[instrument_id], n, tops, tops / n, other_top / other_n, z))
    return found


def _receipt_ratios(window: Window, dossiers: dict[tuple[int, str], int]) -> list[tuple[int, int, int]]:
    """``(unit, codes issued, dossiers)`` where codes exceed dossiers (or have no count once the quarter ended).

    ``dossiers`` are the counts per (unit, quarter) of :func:`_quarter_counts`; codes are counted
    from the quarter's start to the window's end (a whole-quarter window ends with the quarter)."""
    quarter = Window.for_quarter(window.quarter)
    until = min(quarter.end, window.end)
    issued = db.session.execute(
        select(ReceiptToken.unit_id, func.count())
        .where(
            ReceiptToken.issued_at >= quarter.start, ReceiptToken.issued_at < until, ReceiptToken.revoked_at.is_(None)
        )
        .group_by(ReceiptToken.unit_id)
    ).all()
    found = []
    for unit_id, count in issued:
        counted = dossiers.get((unit_id, window.quarter.label), 0)
        if counted and count / counted > RECEIPT_RATIO_LIMIT:
            found.append((unit_id, count, counted))
        elif not counted and window.quarter_ended:
            found.append((unit_id, count, 0))
    return found


def _top_digests(window: Window, unit_ids: list[int]) -> dict[int, list[dict[str, Any]]]:
    """The few source digests with the most responses per unit (only the first hex characters)."""
    if not unit_ids:
        return {}
    rows = db.session.execute(
        select(Response.unit_id, Response.source_digest, func.count().label("n"))
        .where(window.responses(), Response.unit_id.in_(unit_ids), Response.source_digest.is_not(None))
        .group_by(Response.unit_id, Response.source_digest)
        .order_by(func.count().desc(), Response.source_digest)
    )
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for unit_id, digest, count in rows:
        if len(found[unit_id]) < TOP_DIGESTS:
            found[unit_id].append({"source": digest[:DIGEST_SHOWN], "count": count})
    return dict(found)


def _refused_attempts(window: Window) -> list[tuple[str | None, str, int]]:
    """``(unit code or None, action, count)`` of the audit log's refused stuffing attempts."""
    rows = db.session.execute(
        select(AuditEvent.object_type, AuditEvent.object_id, AuditEvent.action, func.count())
        .where(
            AuditEvent.action.startswith(REFUSED_PREFIX, autoescape=True),
            AuditEvent.at >= window.start,
            AuditEvent.at < window.end,
        )
        .group_by(AuditEvent.object_type, AuditEvent.object_id, AuditEvent.action)
    )
    return [
        (object_id if object_type == "unit" else None, action, count) for object_type, object_id, action, count in rows
    ]


def _unit_refs(unit_ids: set[int], codes: set[str]) -> dict[int, UnitRef]:
    if not unit_ids and not codes:
        return {}
    rows = db.session.execute(
        select(Unit.id, Unit.code, Unit.name_vi, Unit.name_en).where(Unit.id.in_(unit_ids) | Unit.code.in_(codes))
    )
    return {row[0]: UnitRef(*row) for row in rows}


# --- words --------------------------------------------------------------------------------------


def _list(counts: dict[str, int], names) -> str:
    return ", ".join(f"{names(code)} {count}" for code, count in counts.items())


def explain(signal: Signal) -> str:
    """One translated sentence saying what the numbers mean."""
    n = signal.numbers
    device = signal.device_id
    if signal.code == "flagged_responses":
        return _(
            "%(flagged)s of %(responses)s responses are flagged (%(reasons)s; by channel: %(channels)s); %(reinstated)s reinstated.",
            flagged=n["flagged"],
            responses=n["responses"],
            reasons=_list(n["by_reason"], flag_name),
            channels=_list(n["by_channel"], channel_name),
            reinstated=n["reinstated"],
        )
    if signal.code == "late_responses":
        return _(
            "%(late)s responses arrived after their period was published (%(channels)s).",
            late=n["late"],
            channels=_list(n["by_channel"], channel_name),
        )
    if signal.code == "response_rate_jump":
        return _(
            "%(responses)s responses for %(dossiers)s dossiers in %(quarter)s: %(ratio)s per dossier, %(times)s times the median of earlier quarters (%(median)s).",
            responses=n["responses"],
            dossiers=n["dossiers"],
            quarter=n["quarter"],
            ratio=n["ratio"],
            times=n["times"],
            median=n["history_median"],
        )
    if signal.code == "outside_hours":
        return _(
            "Tablet %(device)s sent %(count)s ratings outside opening hours (06:00–20:00).",
            device=device,
            count=n["count"],
        )
    if signal.code == "top_share_outlier":
        return _(
            "Tablet %(device)s: %(share)s%% of %(ratings)s ratings are the top face, against %(peer)s%% on the other tablets of the same kind of unit (z = %(z)s).",
            device=device,
            share=round(100 * n["share"]),
            ratings=n["ratings"],
            peer=round(100 * n["peer_share"]),
            z=n["z"],
        )
    if signal.code == "receipts_beyond_dossiers":
        return _(
            "%(issued)s receipt codes issued in %(quarter)s for %(dossiers)s dossiers counted (%(ratio)s codes per dossier).",
            issued=n["issued"],
            quarter=n["quarter"],
            dossiers=n["dossiers"],
            ratio=n["ratio"],
        )
    if signal.code == "receipts_without_dossiers":
        return _(
            "%(issued)s receipt codes issued in %(quarter)s but no dossier count was imported.",
            issued=n["issued"],
            quarter=n["quarter"],
        )
    if signal.code == "device_pace":
        return _(
            "Tablet %(device)s: %(count)s ratings flagged for its pace or clock (%(flags)s).",
            device=device,
            count=n["count"],
            flags=_list(n["by_flag"], flag_name),
        )
    if signal.code == "same_source":
        sources = ", ".join(f"{item['source']}… ({item['count']})" for item in n["top_sources"]) or "–"
        return _(
            "%(count)s ratings flagged as many from one network address; busiest addresses (hashed): %(sources)s.",
            count=n["count"],
            sources=sources,
        )
    if signal.code == "refused_attempts":
        return _(
            "%(count)s attempts refused (%(actions)s).",
            count=n["count"],
            actions=", ".join(f"{action} {count}" for action, count in sorted(n["by_action"].items())),
        )
    return signal.code  # pragma: no cover - every code is explained above
