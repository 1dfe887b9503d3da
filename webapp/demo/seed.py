"""Synthetic demo data whose true satisfaction is known, so estimates can be checked against it.

The model, in short (all effects on the logit scale):

* every weighting cell h (unit × service × quarter) has a latent satisfaction
  ``η_h = sector trend(t) + unit effect + service effect + quarter noise``; units created in
  the 2025 reorganisation inherit the mean effect of the units they replaced;
* a response through channel c is satisfied with probability ``expit(η_h + δ_c)``: counter
  kiosks read higher (δ = +0.45), online lower (−0.30) — the counter effect seen in practice;
* the cell's true rate is what all of its service users would answer through the cell's mix
  of channels, ``Σ_c mix_c · expit(η_h + δ_c)``; it is stored in ``demo_truths``;
* **selection bias**: cells with happier users answer more often (response propensity
  ∝ exp(η_h − mean η)), so the unweighted mean overstates satisfaction; weighting by the
  cell's transaction count over its number of responses (DESIGN.md §6) corrects it;
* a few responses are deliberately bad (bursts from one kiosk, too-fast forms) and carry
  quality flags, as the real checks would flag them;
* **two eras of questionnaires**: before :data:`DEMO_VERSION_SWITCH` every response answers
  version 1 of its instrument (the counter kiosk then had three faces and no neutral level, which
  reads higher still: δ + :data:`THREE_FACE_SHIFT`), from it the active (latest) version. Three-face
  ratings feed only their own series ``sat-agencies-3face``, so before the switch the truth of
  ``sat-agencies`` is that of the channels other than the kiosk.
* **modes and languages** (issue #17): from :data:`INTERVIEWS_FROM`, a share
  (:data:`ASSISTED_SHARE`) of online answers are assisted interviews, which read higher
  (:data:`ASSISTED_SHIFT`: answering to a person, people prefer a polite answer) — the true rates
  include them, as the cell's users answer that way; a few online, QR and kiosk respondents listen to
  the questions read aloud (no shift), and a few answer in a language other than Vietnamese (every
  language :func:`surveys.languages.codes` knows when the demo is planted). Modes and languages are
  drawn from their own stream, so the other draws stay as they were;
* **planted key drivers** (:data:`PLANTED_DRIVERS`): each respondent is satisfied or not with each
  aspect of a long questionnaire, drawn from their overall verdict; two aspects per sector follow it
  closely (:data:`STRONG_ASPECT`), the others loosely (:data:`WEAK_ASPECT`), and an aspect's
  questions follow the respondent's verdict on the aspect. So the key-driver models
  (:mod:`analysis.drivers`) should rank the planted aspects first; overall rates are unchanged and
  item rates stay near the former 88% / 30% (satisfied / not satisfied overall).
"""

from __future__ import annotations

import hashlib
import math
import random
import uuid
from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import click
import numpy as np
from sqlalchemy import func, insert, select, text

from surveys import definitions
from surveys import languages as survey_languages
from surveys.scoring import score_answers
from surveys.stored import definition_of
from webapp.audit import record_event
from webapp.demo.actions import plant_demo_actions
from webapp.demo.comments import pick_comment
from webapp.extensions import db
from webapp.insights.themes import assign_missing
from webapp.models import (
    Counter,
    DemoTruth,
    Device,
    Instrument,
    Response,
    ResponseScore,
    Service,
    TransactionCount,
    Unit,
    UnitSuccession,
    unit_services,
)
from webapp.models.feedback import CommentReview
from webapp.periods import VIETNAM, Period, current_quarter, quarter_range

DEFAULT_RESPONSES = 120_000
FIRST_QUARTER = Period(2012, "Q", 1)
CHUNK = 5_000

CHANNEL_SHIFT = {"kiosk": 0.45, "paper": 0.15, "qr": 0.0, "online": -0.30}
#: Assisted interviews (commune officers and volunteers) start in this year: share of online answers, logit shift.
INTERVIEWS_FROM = 2025
ASSISTED_SHARE = 0.3
ASSISTED_SHIFT = 0.5
#: Share of online, QR and kiosk respondents who listen to the questions read aloud.
READ_ALOUD_SHARE = 0.06
#: Share of online and QR respondents who answer in a language other than Vietnamese.
OTHER_LANGUAGE_SHARE = 0.05
#: The day (Vietnam time) the demo's questionnaires change: responses before it answer version 1 of
#: every instrument, from it the active version (the five-face kiosk). The first day of a quarter,
#: so that each quarter's true rates belong to one era.
DEMO_VERSION_SWITCH = date(2026, 7, 1)
#: Three faces without "Bình thường": people who would say neutral press "Hài lòng" (logit shift).
THREE_FACE_SHIFT = 0.6
#: Administrative procedures are rated a little lower than the agency's service as a whole.
PROCEDURE_SHIFT = -0.25
#: Satisfaction at the start of 2012 and at the end of the current quarter, by sector.
SECTOR_TREND = {"admin": (0.74, 0.90), "health": (0.70, 0.87), "education": (0.73, 0.89)}
SERVICE_SHIFT = {
    "land": -0.55,
    "construction": -0.40,
    "environment": -0.20,
    "investment": -0.15,
    "civil-status": 0.35,
    "certification": 0.40,
    "justice": 0.15,
    "inpatient": -0.20,
    "outpatient": 0.05,
}
#: Transactions per quarter of a typical cell, by kind of unit.
BASE_VOLUME = {
    "agency": 700,
    "department": 90,
    "district": 260,
    "commune": 40,
    "ward": 80,
    "township": 60,
    "hospital": 6000,
    "health_centre": 2500,
    "school": 220,
}
SERVICE_VOLUME = {"civil-status": 1.8, "certification": 2.2, "land": 1.3, "labour-social": 1.0, "inpatient": 0.2}
#: Share of businesses among the users of services that businesses use; counts are split for these.
BUSINESS_SHARE = {"business-registration": 0.7, "investment": 0.6, "construction": 0.25, "industry-trade": 0.5}
COUNTERS_PER_KIND = {"agency": 6, "district": 3, "department": 1, "commune": 1, "ward": 2, "township": 1}


class DemoError(RuntimeError):
    """The demo data cannot be created (registry not loaded, data already present…)."""


def expit(x: float) -> float:
    return 1.0 / (1.0 + math.exp(-x))


def logit(p: float) -> float:
    return math.log(p / (1 - p))


def channel_mix(sector: str, year: int, has_counter: bool) -> dict[str, float]:
    """How the users of a service of ``sector`` answered in ``year``."""
    if sector == "admin":
        if year < 2019 or not has_counter:
            mix = {"paper": 0.7, "online": 0.3} if year < 2019 else {"paper": 0.4, "online": 0.35, "qr": 0.25}
        elif year < 2023:
            mix = {"kiosk": 0.4, "paper": 0.35, "online": 0.15, "qr": 0.1}
        else:
            mix = {"kiosk": 0.5, "qr": 0.2, "online": 0.15, "paper": 0.15}
    elif sector == "health":
        mix = {"paper": 0.8, "online": 0.2} if year < 2020 else {"paper": 0.45, "qr": 0.35, "online": 0.2}
    else:
        mix = {"paper": 0.7, "online": 0.3} if year < 2020 else {"paper": 0.4, "online": 0.6}
    return mix


def database_has_responses() -> bool:
    return db.session.scalar(select(func.count()).select_from(Response)) > 0


@dataclass(frozen=True)
class _UnitInfo:
    id: int
    code: str
    kind: str
    sector: str
    valid_from: date
    valid_to: date | None


@dataclass(frozen=True)
class _ServiceInfo:
    id: int
    code: str
    sector: str
    instrument_code: str


@dataclass
class _Cell:
    unit: _UnitInfo
    service: _ServiceInfo
    eta: float
    transactions: int
    business_share: float | None
    mix: dict[str, float]
    #: Share of the cell's online answers given in assisted interviews.
    assisted: float = 0.0


#: The aspects planted as key drivers of overall satisfaction, per sector (docs/key-drivers.md).
#: ``procedure`` (admin) is not a candidate: its overall question carries ``sat-procedures``.
PLANTED_DRIVERS = {
    "admin": ("civil_servant", "access"),
    "health": ("staff", "results"),
    "education": ("facilities", "activities"),
}
#: P(satisfied with the aspect | satisfied overall, not satisfied overall): planted and other aspects.
STRONG_ASPECT = (0.93, 0.15)
WEAK_ASPECT = (0.9, 0.45)
#: P(a question of the aspect is answered "satisfied" | satisfied with the aspect, not).
ASPECT_ITEM = (0.93, 0.2)


class _AnswerMaker:
    """Builds plausible answers to one instrument from the respondent's satisfaction."""

    def __init__(self, instrument: definitions.Instrument, rand: random.Random):
        self.instrument = instrument
        self.rand = rand
        self.item_of_indicator = {link.indicator: link.item for link in instrument.indicators}
        self.plan = [
            (item.code, item.type, item.option_values, item.required, item.demographic) for item in instrument.items
        ]
        # A five-point item without a "no opinion" option (the five-face kiosk) never gets 0.
        self.no_opinion = {item.code for item in instrument.items if definitions.NO_OPINION in item.option_values}
        # Yes/no facts counted by a share indicator ("asked for money beyond the published fee"): rare.
        self.facts = {
            code
            for code, values in definitions.share_items(instrument).items()
            if values == ("yes",) and instrument.item(code).type == "yes_no"
        }
        self.aspect_of = {item.code: section.code for section in instrument.aspects for item in section.items}
        # The verdicts on aspects come from their own stream (seeded from the demo's, without drawing
        # from it), so every other answer, and every property of the demo, is as before the planting.
        # Seeded from the state's integers only: the state's last item may be None, whose hash
        # changes from process to process before Python 3.12.
        state = rand.getstate()[1]
        self.aspect_rand = random.Random(hash(state))  # noqa: S311 (demo data, not secrets)  # nosec B311
        # Comments too (their texts are repeated by weight to plant themes: drawing them from the
        # main stream would shift every later answer).
        self.comment_rand = random.Random(hash(state) + 1)  # noqa: S311  # nosec B311
        planted = PLANTED_DRIVERS.get(instrument.sector, ())
        self.aspect_odds = {
            section.code: STRONG_ASPECT if section.code in planted else WEAK_ASPECT for section in instrument.aspects
        }

    def scale5(self, satisfied: bool) -> int:
        draw = self.rand.random()
        if satisfied:
            return 5 if draw < 0.4 else 4
        return 3 if draw < 0.6 else (2 if draw < 0.9 else 1)

    def make(self, satisfied: dict[str, bool], respondent_type: str, consent: bool, demographics: dict) -> dict:
        rand = self.rand
        main = next(iter(satisfied.values()))
        linked = {self.item_of_indicator[code]: value for code, value in satisfied.items()}
        # The respondent's verdict on each aspect, from the overall one (planted drivers follow it closely).
        aspect_ok = {
            code: self.aspect_rand.random() < (odds[0] if main else odds[1]) for code, odds in self.aspect_odds.items()
        }
        answers: dict = {}
        for code, kind, values, required, demographic in self.plan:
            if code in linked:
                if kind == "scale5":
                    answers[code] = self.scale5(linked[code])
                else:
                    answers[code] = (3 if rand.random() < 0.45 else 2) if linked[code] else 1
            elif code == definitions.RESPONDENT_TYPE_ITEM:
                answers[code] = respondent_type
            elif code == definitions.CONSENT_ITEM:
                answers[code] = "yes" if consent else "no"
            elif demographic:
                if consent and demographics.get(code) is not None:
                    # An older version lists fewer ethnic groups: the others answer "other" there.
                    value = demographics[code]
                    answers[code] = value if not values or value in values or "other" not in values else "other"
            elif kind == "scale5":
                if rand.random() < 0.04 and code in self.no_opinion:
                    answers[code] = definitions.NO_OPINION
                elif code in self.aspect_of:
                    ok = aspect_ok[self.aspect_of[code]]
                    answers[code] = self.scale5(rand.random() < (ASPECT_ITEM[0] if ok else ASPECT_ITEM[1]))
                else:
                    answers[code] = self.scale5(rand.random() < (0.88 if main else 0.3))
            elif code in self.facts:
                if rand.random() < 0.8:
                    answers[code] = "yes" if rand.random() < (0.02 if main else 0.12) else "no"
            elif kind in ("choice", "yes_no") and values:
                if required or rand.random() < 0.7:
                    # Happier respondents lean to the later (more positive) options.
                    position = (
                        len(values) - 1 - rand.randrange(min(2, len(values))) if main else rand.randrange(len(values))
                    )
                    answers[code] = values[position]
            elif kind == "multi_choice" and values and rand.random() < 0.5:
                answers[code] = sorted(
                    rand.sample(list(values), rand.randint(1, min(3, len(values)))), key=values.index
                )
            elif kind == "text" and rand.random() < 0.08:
                # The demo's main stream takes the draw it took before themes were planted (a choice
                # among 8 texts), so every later answer, and every tested property, is unchanged.
                rand.randrange(8)
                answers[code] = pick_comment(self.comment_rand, main)
        return answers


def _trend(sector: str, quarter_index: int, total_quarters: int) -> float:
    start, end = SECTOR_TREND[sector]
    share = quarter_index / max(total_quarters - 1, 1)
    return logit(start) + (logit(end) - logit(start)) * share


def _quarter_weights(count: int) -> np.ndarray:
    """Responses per quarter grow over time, as the programme and its channels grew."""
    weights = np.exp(0.05 * np.arange(count))
    return weights / weights.sum()


def _valid_whole_quarter(unit: _UnitInfo, quarter: Period) -> bool:
    return unit.valid_from <= quarter.start and (unit.valid_to is None or unit.valid_to >= quarter.end)


def _random_moments(rng, quarter: Period, size: int, until: datetime) -> list[datetime]:
    """Office-hours moments in ``quarter`` (Vietnam time), never after ``until``, as UTC."""
    start = datetime.combine(quarter.start, time(7, 30), tzinfo=VIETNAM)
    last_day = min(quarter.end, until.astimezone(VIETNAM).date())
    days = max((last_day - quarter.start).days + 1, 1)
    day_offsets = rng.integers(0, days, size=size)
    seconds = rng.integers(0, int(9.5 * 3600), size=size)
    moments = []
    for day, second in zip(day_offsets.tolist(), seconds.tolist(), strict=True):
        moment = start + timedelta(days=day, seconds=second)
        moments.append(min(moment, until).astimezone(UTC))
    return moments


def seed_demo(
    responses: int = DEFAULT_RESPONSES,
    seed: int = 2012,
    progress: bool = False,
    now: datetime | None = None,
    first_quarter: Period = FIRST_QUARTER,
) -> str:
    """Create demo transaction counts, counters, devices, responses and their true rates.

    ``first_quarter`` (default 2012-Q1) lets tests make a dense recent data set quickly.
    Refuses to run when the registry is missing or demo data already exists.
    """
    now = (now or datetime.now(UTC)).astimezone(UTC)
    rng = np.random.default_rng(seed)
    # Everything is read in a fixed order: the same seed must give the same data.
    units = db.session.scalars(select(Unit).order_by(Unit.code)).all()
    if not units:
        raise DemoError("The registry is empty: run 'flask --app webapp registry load' first.")
    if database_has_responses() or db.session.scalar(select(func.count()).select_from(TransactionCount)):
        raise DemoError(
            "The database already holds responses or transaction counts; demo data is only added to an empty database."
        )
    eras = _instrument_eras()
    if "counter-quick" not in eras[True]:
        raise DemoError("No active instruments: run 'flask --app webapp registry load' first.")
    definitions_by_id = {row.id: definition_of(row) for era in eras.values() for row in era.values()}

    # Plain records: the loops below touch these attributes millions of times.
    services = {
        s.id: _ServiceInfo(s.id, s.code, s.sector, s.instrument_code)
        for s in db.session.scalars(select(Service).order_by(Service.code))
    }
    offered: dict[int, list[_ServiceInfo]] = defaultdict(list)
    for unit_id, service_id in db.session.execute(select(unit_services.c.unit_id, unit_services.c.service_id)):
        offered[unit_id].append(services[service_id])
    for unit_services_list in offered.values():
        unit_services_list.sort(key=lambda service: service.code)
    all_units = [_UnitInfo(u.id, u.code, u.kind, u.sector, u.valid_from, u.valid_to) for u in units]
    units = [u for u in all_units if offered.get(u.id)]
    counters = _create_counters(units, rng)

    quarters = quarter_range(first_quarter, current_quarter(now))
    unit_effect = _unit_effects(units, rng)
    service_effect = {s.id: SERVICE_SHIFT.get(s.code, 0.0) + rng.normal(0, 0.1) for s in services.values()}
    # Demo data only needs reproducible randomness, not secrecy.
    rand = random.Random(seed)  # noqa: S311 (reproducible demo data, not secrets)  # nosec B311
    residence_units = [u for u in all_units if u.kind in ("commune", "ward", "township")]
    #: code -> (id, urban or rural); wards and townships are urban.
    residence_by_code = {
        u.code: (u.id, "urban" if u.kind in ("ward", "township") else "rural") for u in residence_units
    }
    makers = {instrument_id: _AnswerMaker(d, rand) for instrument_id, d in sorted(definitions_by_id.items())}

    per_quarter = rng.multinomial(responses, _quarter_weights(len(quarters)))
    next_id = (db.session.scalar(select(func.max(Response.id))) or 0) + 1
    totals = defaultdict(int)
    bar = click.progressbar(length=responses, label="Demo responses") if progress else None
    try:
        if bar:
            bar.__enter__()  # noqa: SIM115 (entered here, left in the finally below)
        for index, quarter in enumerate(quarters):
            cells = _cells_for_quarter(
                quarter, index, len(quarters), units, offered, unit_effect, service_effect, counters, rng
            )
            _write_counts_and_truths(quarter, cells, now, five_faces=quarter.start >= DEMO_VERSION_SWITCH)
            residence_codes = sorted(u.code for u in residence_units if _valid_whole_quarter(u, quarter))
            buffer_responses: list[dict] = []
            buffer_scores: list[dict] = []
            for row, scores in _responses_for_quarter(
                quarter,
                cells,
                int(per_quarter[index]),
                eras,
                definitions_by_id,
                makers,
                counters,
                residence_codes,
                residence_by_code,
                rng,
                rand,
                now,
            ):
                row["id"] = next_id
                for metric, satisfied in scores:
                    buffer_scores.append((next_id, metric, satisfied))
                next_id += 1
                buffer_responses.append(row)
                totals[row["channel"]] += 1
                if row["status"] == "flagged":
                    totals["flagged"] += 1
                if len(buffer_responses) >= CHUNK:
                    _flush(buffer_responses, buffer_scores, bar)
            _flush(buffer_responses, buffer_scores, bar)
        _reset_sequence()
        # The bulk insert bypasses the submission service, which themes comments as they are stored.
        assign_missing()
        _demo_reviews(now)
        plant_demo_actions(now)
        record_event(
            "demo.seed",
            actor="cli",
            detail=f"seed={seed} responses={responses}",
            after={"responses": sum(v for k, v in totals.items() if k != "flagged"), **totals},
        )
        db.session.commit()
        # Fresh statistics, or the planner guesses a handful of rows where there are thousands.
        db.session.execute(text("ANALYZE"))
        db.session.commit()
    except Exception:
        db.session.rollback()
        raise
    finally:
        if bar:
            bar.__exit__(None, None, None)
    written = sum(v for k, v in totals.items() if k != "flagged")
    by_channel = ", ".join(f"{totals[c]} {c}" for c in ("kiosk", "online", "qr", "paper"))
    return (
        f"Demo data: {written} responses ({by_channel}; {totals['flagged']} flagged) "
        f"over {len(quarters)} quarters from {quarters[0]} to {quarters[-1]}, "
        f"{len(counters)} counters with kiosks, seed {seed}."
    )


def _instrument_eras() -> dict[bool, dict[str, Instrument]]:
    """``{after the switch: {code: instrument row}}``: before :data:`DEMO_VERSION_SWITCH` the highest
    stored version up to 1 of each instrument, from it the active version."""
    rows = db.session.scalars(select(Instrument).order_by(Instrument.code, Instrument.version)).all()
    before = {row.code: row for row in rows if row.version <= 1}
    after = {row.code: row for row in rows if row.active}
    return {False: {code: before.get(code, row) for code, row in after.items()}, True: after}


#: Demo kiosks exist (approved) since the first demo year, so their history is plausible.
DEMO_DEVICES_SINCE = datetime(2012, 1, 1, tzinfo=UTC)


def _create_counters(units: list[_UnitInfo], rng) -> dict[int, list[tuple[int, int]]]:
    """One-stop counters with a kiosk each: ``{unit_id: [(counter_id, device_id), …]}``."""

    result: dict[int, list[tuple[int, int]]] = {}
    for unit in units:
        how_many = COUNTERS_PER_KIND.get(unit.kind, 0)
        if unit.sector != "admin" or how_many == 0:
            continue
        for number in range(1, how_many + 1):
            counter = Counter(unit_id=unit.id, name=f"Quầy {number}")
            key = rng.bytes(24).hex()
            device = Device(
                counter=counter,
                key_hash=hashlib.sha256(key.encode()).hexdigest(),
                label=f"Máy tính bảng {number}",
                created_at=DEMO_DEVICES_SINCE,
                approved_at=DEMO_DEVICES_SINCE,
                contact_floor_at=DEMO_DEVICES_SINCE,
            )
            db.session.add_all([counter, device])
            db.session.flush()
            result.setdefault(unit.id, []).append((counter.id, device.id))
    return result


def _unit_effects(units: list[_UnitInfo], rng) -> dict[int, float]:

    effects = {u.id: float(rng.normal(0, 0.45)) for u in units}
    predecessors: dict[int, list[int]] = defaultdict(list)
    for link in db.session.scalars(select(UnitSuccession)):
        predecessors[link.new_unit_id].append(link.old_unit_id)
    for unit in units:
        old = [effects[i] for i in predecessors.get(unit.id, []) if i in effects]
        if old:
            effects[unit.id] = float(np.mean(old) + rng.normal(0, 0.15))
    return effects


def _cells_for_quarter(
    quarter, index, total, units, offered, unit_effect, service_effect, counters, rng
) -> list[_Cell]:
    cells = []
    for unit in units:
        if not _valid_whole_quarter(unit, quarter):
            continue
        noise = rng.normal(0, 0.12)
        for service in offered[unit.id]:
            eta = _trend(service.sector, index, total) + unit_effect[unit.id] + service_effect[service.id] + noise
            volume = BASE_VOLUME.get(unit.kind, 50) * SERVICE_VOLUME.get(service.code, 0.6)
            transactions = max(1, int(round(volume * rng.lognormal(0, 0.3) * (1 + 0.01 * index))))
            mix = channel_mix(service.sector, quarter.year, unit.id in counters)
            assisted = ASSISTED_SHARE if quarter.year >= INTERVIEWS_FROM else 0.0
            cells.append(_Cell(unit, service, eta, transactions, BUSINESS_SHARE.get(service.code), mix, assisted))
    return cells


def _truth(cell: _Cell, mix: dict[str, float], shift: float) -> float:
    """The share satisfied of the cell's users answering through ``mix`` (logit ``shift`` added)."""
    total = sum(mix.values())
    return sum(m * _channel_truth(cell, c, shift) for c, m in mix.items()) / total


def _channel_truth(cell: _Cell, channel: str, shift: float) -> float:
    """The share satisfied of the cell's users answering through ``channel``: online, assisted
    interviews included."""
    alone = expit(cell.eta + shift + CHANNEL_SHIFT[channel])
    if channel != "online" or not cell.assisted:
        return alone
    return (1 - cell.assisted) * alone + cell.assisted * expit(
        cell.eta + shift + CHANNEL_SHIFT[channel] + ASSISTED_SHIFT
    )


def _cell_truths(cell: _Cell, five_faces: bool) -> list[tuple[str, float]]:
    """``(indicator, true rate)`` of a cell. Procedures are never rated at the kiosk; before the
    switch the kiosk's three faces feed only their own series, so ``sat-agencies`` is then the
    truth of the other channels."""
    sector = cell.service.sector
    if sector != "admin":
        return [(f"sat-{sector}", _truth(cell, cell.mix, 0.0))]
    others = {c: m for c, m in cell.mix.items() if c != "kiosk"}
    truths = [
        ("sat-agencies", _truth(cell, cell.mix if five_faces else others, 0.0)),
        ("sat-procedures", _truth(cell, others, PROCEDURE_SHIFT)),
    ]
    if not five_faces and "kiosk" in cell.mix:
        truths.append(("sat-agencies-3face", _truth(cell, {"kiosk": 1.0}, THREE_FACE_SHIFT)))
    return truths


def _bulk_insert(table, columns: tuple[str, ...], rows: list[tuple]) -> None:
    """Insert plain rows (strings and numbers only) straight through the driver — COPY on
    PostgreSQL: the demo writes hundreds of thousands of them, and per-row SQLAlchemy
    processing would dominate."""
    if not rows:
        return
    connection = db.session.connection()
    # Table and column names come from our own metadata, never from input.
    names = ", ".join(columns)
    if db.engine.dialect.name == "postgresql":
        cursor = connection.connection.driver_connection.cursor()
        with cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    marker = "?" if db.engine.dialect.paramstyle == "qmark" else "%s"
    statement = f"INSERT INTO {table.name} ({names}) VALUES ({', '.join([marker] * len(columns))})"  # noqa: S608 (names from our own metadata, values bound)  # nosec B608
    connection.exec_driver_sql(statement, rows)


def _write_counts_and_truths(quarter: Period, cells: list[_Cell], imported_at: datetime, five_faces: bool) -> None:
    label = quarter.label
    counts, truths = [], []
    for cell in cells:
        unit_id, service_id = cell.unit.id, cell.service.id
        if cell.business_share is None:
            counts.append((label, unit_id, service_id, "all", cell.transactions))
        else:
            business = int(round(cell.transactions * cell.business_share))
            counts.append((label, unit_id, service_id, "business", business))
            counts.append((label, unit_id, service_id, "citizen", cell.transactions - business))
        for indicator, rate in _cell_truths(cell, five_faces):
            truths.append((label, unit_id, service_id, indicator, cell.transactions, rate))
    if counts:
        # Through SQLAlchemy once per quarter for the timestamp type, then plain rows.
        db.session.execute(
            insert(TransactionCount.__table__),
            [
                {
                    "period": p,
                    "unit_id": u,
                    "service_id": s,
                    "respondent_type": r,
                    "count": c,
                    "source": "demo",
                    "imported_at": imported_at,
                }
                for p, u, s, r, c in counts
            ],
        )
    _bulk_insert(
        DemoTruth.__table__, ("period", "unit_id", "service_id", "indicator_code", "transactions", "rate"), truths
    )


ETHNICITY_GROUP = {"thai": "thai", "kinh": "kinh", "hmong": "hmong"}
#: The options of the questionnaires' ethnicity item (v2 lists Sơn La's groups; v1 had the first five and other).
ETHNICITIES = ("thai", "kinh", "hmong", "muong", "dao", "xinh_mun", "kho_mu", "khang", "la_ha", "lao", "other")
AGE_BANDS = ("under_25", "25_34", "35_44", "45_54", "55_64", "65_plus")


def _demographics(rand: random.Random, channel: str, residence_codes: list[str]) -> dict:
    """Who answered: online respondents are younger and more often Kinh than the population."""
    online = channel in ("online", "qr")
    ethnicity_weights = (
        (0.40, 0.34, 0.12, 0.06, 0.02, 0.01, 0.01, 0.01, 0.005, 0.005, 0.02)
        if online
        else (0.52, 0.17, 0.16, 0.07, 0.02, 0.02, 0.01, 0.01, 0.005, 0.005, 0.01)
    )
    age_weights = (0.12, 0.27, 0.26, 0.18, 0.11, 0.06) if online else (0.08, 0.2, 0.25, 0.22, 0.15, 0.1)
    return {
        "gender": "female" if rand.random() < 0.47 else "male",
        "age_band": rand.choices(AGE_BANDS, age_weights)[0],
        "ethnicity": rand.choices(ETHNICITIES, ethnicity_weights)[0],
        "residence": rand.choice(residence_codes) if residence_codes else None,
    }


def _satisfied_probability(cell: _Cell, channel: str, link: definitions.IndicatorLink, mode: str = "self") -> float:
    """How likely a respondent of ``cell`` through ``channel`` (in ``mode``) is satisfied on ``link``'s item."""
    shift = CHANNEL_SHIFT[channel] + (PROCEDURE_SHIFT if link.indicator == "sat-procedures" else 0.0)
    shift += ASSISTED_SHIFT if mode == "assisted" else 0.0
    if definitions.RULES[link.rule].item_type == "scale3":
        shift += THREE_FACE_SHIFT
    return expit(cell.eta + shift)


def _mode_and_language(modes: random.Random, cell: _Cell, channel: str, others: list[str]) -> tuple[str, str]:
    """How one demo respondent answered, and in which language (see the module's documentation)."""
    draw = modes.random()
    if channel == "online" and draw < cell.assisted:
        mode = "assisted"
    elif channel in ("online", "qr", "kiosk") and modes.random() < READ_ALOUD_SHARE:
        mode = "read_aloud"
    else:
        mode = "self"
    language = "vi"
    if others and channel in ("online", "qr") and mode != "assisted" and modes.random() < OTHER_LANGUAGE_SHARE:
        language = modes.choice(others)
    return mode, language


def _responses_for_quarter(
    quarter, cells, count, eras, definitions_by_id, makers, counters, residence_codes, residence_by_code, rng, rand, now
):
    """Yield ``(response row, [(metric, satisfied), …])`` for one quarter.

    ``eras`` are :func:`_instrument_eras`: each response answers the instrument version of its day.
    """
    if not cells or count == 0:
        return
    # Modes and languages from a stream of their own (seeded by the quarter), so that planting
    # them leaves every other draw of the demo as it was.
    modes = random.Random(f"modes:{quarter.label}")  # noqa: S311 (reproducible demo data)  # nosec B311
    languages = [code for code in survey_languages.codes() if code != survey_languages.SOURCE]
    eta = np.array([c.eta for c in cells])
    propensity = np.exp(eta - eta.mean()) * np.array([c.transactions for c in cells], dtype=float)
    allocation = rng.multinomial(count, propensity / propensity.sum())
    for cell, n in zip(cells, allocation.tolist(), strict=True):
        if n == 0:
            continue
        unit_id, service_id = cell.unit.id, cell.service.id
        channels = list(cell.mix)
        drawn_channels = rand.choices(channels, [cell.mix[c] for c in channels], k=n)
        moments = _random_moments(rng, quarter, n, now)
        unit_counters = counters.get(unit_id, [])
        burst_left, burst_start = 0, None
        for channel, answered_at in zip(drawn_channels, moments, strict=True):
            flags: list[str] = []
            mode, language = _mode_and_language(modes, cell, channel, languages)
            instrument_code = "counter-quick" if channel == "kiosk" else cell.service.instrument_code
            instrument_row = eras[answered_at.astimezone(VIETNAM).date() >= DEMO_VERSION_SWITCH][instrument_code]
            instrument = definitions_by_id[instrument_row.id]
            if cell.business_share is not None:
                respondent_type = "business" if rand.random() < cell.business_share else "citizen"
            else:
                respondent_type = "citizen" if rand.random() < 0.95 else "business"
            satisfied = {
                link.indicator: rand.random() < _satisfied_probability(cell, channel, link, mode)
                for link in instrument.indicators
            }
            consent = channel != "kiosk" and rand.random() < 0.55
            demographics = _demographics(rand, channel, residence_codes) if consent else {}
            answers = makers[instrument_row.id].make(satisfied, respondent_type, consent, demographics)
            # Matrix sampling (online and QR only): the detail questions not drawn are not asked.
            asked = definitions.draw_asked_items(instrument, rand) if channel in ("online", "qr") else None
            if asked is not None:
                answers = {code: value for code, value in answers.items() if code in asked}
            if channel == "kiosk":
                duration = rand.randint(4, 24)
            elif rand.random() < 0.01:
                duration = rand.randint(5, 24)
                flags.append("too_fast")
            else:
                duration = rand.randint(150, 700)
            counter_id = device_id = None
            if channel == "kiosk":
                counter_id, device_id = rand.choice(unit_counters)
                if burst_left == 0 and rand.random() < 0.003:
                    burst_left, burst_start = 12, answered_at
                if burst_left:
                    # Someone pressing the same face again and again: the burst check flags it.
                    answered_at = burst_start + timedelta(seconds=3 * (12 - burst_left))
                    burst_left -= 1
                    answers = {"overall": 1}
                    flags.append("burst")
            scores = score_answers(instrument, answers)
            residence_unit = residence_by_code.get(answers.get("residence")) if consent else None
            ethnicity = answers.get("ethnicity")
            age_band = answers.get("age_band")
            yield (
                {
                    "client_id": uuid.UUID(int=rand.getrandbits(128), version=4),
                    "instrument_id": instrument_row.id,
                    "unit_id": unit_id,
                    "service_id": service_id,
                    "counter_id": counter_id,
                    "device_id": device_id,
                    "channel": channel,
                    "mode": mode,
                    "language": language,
                    "respondent_type": answers.get(definitions.RESPONDENT_TYPE_ITEM, respondent_type),
                    "period": quarter.label,
                    "answered_at": answered_at,
                    "received_at": answered_at + timedelta(seconds=rand.randint(1, 120)),
                    "duration_seconds": duration,
                    "answers": answers,
                    "reasons": list(answers.get("went_well", ())) + list(answers.get("went_badly", ())),
                    "kiosk_rating": answers.get("overall") if channel == "kiosk" else None,
                    "items_rated": scores.items_rated,
                    "items_satisfied": scores.items_satisfied,
                    "items_score_sum": scores.items_score_sum,
                    "asked_items": sorted(asked) if asked is not None else None,
                    "comment": answers.get("comment"),
                    "consent_demographics": consent,
                    "gender": answers.get("gender") if answers.get("gender") in ("female", "male", "other") else None,
                    "age_band": age_band if age_band in AGE_BANDS else None,
                    "ethnicity_group": ETHNICITY_GROUP.get(ethnicity, "other") if ethnicity in ETHNICITIES else None,
                    "residence_area": residence_unit[1] if residence_unit else None,
                    "residence_unit_id": residence_unit[0] if residence_unit else None,
                    "status": "flagged" if flags else "valid",
                    "quality_flags": flags,
                },
                scores.metrics,
            )


def _flush(responses: list[dict], scores: list[dict], bar) -> None:
    if responses:
        db.session.execute(insert(Response.__table__), responses)
    _bulk_insert(ResponseScore.__table__, ("response_id", "metric", "satisfied"), scores)
    if bar:
        bar.update(len(responses))
    responses.clear()
    scores.clear()


def _reset_sequence() -> None:
    """After inserting explicit ids, move PostgreSQL's sequence past them."""
    if db.engine.dialect.name == "postgresql":
        db.session.execute(
            text(
                "SELECT setval(pg_get_serial_sequence('responses', 'id'), (SELECT COALESCE(MAX(id), 1) FROM responses))"
            )
        )


#: Canned answers of agencies to demo comments ("you said, we did").
DEMO_REPLIES = (
    "Cảm ơn ông/bà đã góp ý. Đơn vị đã bố trí thêm cán bộ tiếp nhận hồ sơ vào buổi sáng.",
    "Đơn vị đã lắp máy lấy số thứ tự và niêm yết thời gian trả kết quả tại bộ phận một cửa.",
    "Cảm ơn ông/bà. Ý kiến đã được chuyển tới lãnh đạo đơn vị để nhắc nhở, chấn chỉnh.",
)


def _demo_reviews(now: datetime) -> None:
    """Moderate a few recent demo comments so the agency inbox and the public pages show every state:
    most stay pending, some are published (a third of those with an answer), a few are hidden."""

    rows = (
        db.session.execute(
            select(Response.id).where(Response.comment.is_not(None)).order_by(Response.id.desc()).limit(600)
        )
        .scalars()
        .all()
    )
    for index, response_id in enumerate(rows):
        if index % 4 == 1:
            reply = DEMO_REPLIES[index % len(DEMO_REPLIES)] if index % 12 == 1 else None
            db.session.add(
                CommentReview(
                    response_id=response_id,
                    status="published",
                    reviewed_at=now,
                    reply=reply,
                    replied_at=now if reply else None,
                )
            )
        elif index % 25 == 3:
            db.session.add(
                CommentReview(
                    response_id=response_id,
                    status="hidden",
                    reviewed_at=now,
                    hidden_reason="Không liên quan đến dịch vụ (dữ liệu minh họa)",
                )
            )
    db.session.flush()
