"""Microdata behind a published indicator in two tiers, each with an R script that reproduces it.

**Public file** (open data page, ``flask export microdata``): it must reproduce every published
estimate and SE exactly while labelling nothing the tables hide and letting no combination of
quasi-identifiers (unit, service, channel, respondent type, district or commune) single out a
response. One row per response *per domain type*: ``domain_type, domain, cell, weight,
satisfied``. A row carries one quasi-identifier only, so no cross-classification is published
(the coarsest possible coarsening of the joint table: every combination is one published
domain of at least ``min_n`` responses). ``domain`` is labelled only where that domain's rate
is published in the current snapshot (a count-only or hidden domain is empty); a domain type
with no published domain is left out; nothing at all is written when the province rate itself
is not published. The cell id is opaque and renumbered at random in each block, rows are
sorted within blocks, and there is no response id, quarter or cell total, so rows of one
response are not linked across blocks by the file's layout. Each block is a complete copy of
the design (``svydesign(id=~1, strata=~cell, weights=~weight)``), so R's domain estimates of
a block are exactly the published ones. Why not a coarsened one-row-per-response table: a
published domain's estimate needs every one of its rows labelled, so a table that labels all
published units, services and channels on the same row cannot be coarsened at all.

Residual risk, said in the file's notes: the weights are exact (the published SEs need them),
and within a quarter most weighting cells have distinct weights, so a determined user can
match cells across blocks by their weight. The restricted file holds the full detail anyway
and is given to approved researchers only.

**Restricted file** (administrators, audited; ``--tier restricted``): one row per response with
response id, quarter, cell, cell total, weight, answer and every domain labelled.

**Index indicators** (the SIPAS-style index, the Ministry of Health item-level rate and mean
score) are ratios Σwy/Σwx over each response's answers: their files carry ``x`` and ``y`` instead
of ``satisfied`` — the rated answers and the satisfied ones, or for a mean score the rated answers
and the sum of those answers (1–5) — and the R script uses ``svyratio``.
"""

from __future__ import annotations

import csv
import json
import secrets
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import case, func, select
from sqlalchemy.orm import aliased

from webapp.audit import record_event
from webapp.extensions import db
from webapp.models import Indicator, PublishedEstimate, Response, ResponseScore, Service
from webapp.periods import Period
from webapp.publishing.aggregate import ScoreGroup, fetch_transaction_counts, per_response_aspects
from webapp.publishing.compute import (
    ASPECT_HOST,
    _Cells,
    _domain_functions,
    _domains_of,
    _index_instruments,
    _score_source,
    _unit_infos,
    criterion_instruments,
)
from webapp.publishing.publish import PublishError, current_snapshot
from webapp.safe_text import csv_cell

PUBLIC_COLUMNS = ("domain_type", "domain", "cell", "weight", "satisfied")
RESTRICTED_COLUMNS = ("response_id", "quarter", "cell", "cell_total", "weight", "satisfied")
#: The answer columns of an index indicator's files (in place of ``satisfied``).
RATIO_COLUMNS = ("x", "y")
#: Indicators with microdata: one 0/1 answer per response, or a ratio of answers per response.
MICRODATA_KINDS = ("satisfaction", "share", "index")
#: Columns that could single out a respondent in combination (the public file labels one per row).
QUASI_IDENTIFIERS = ("unit", "service", "channel", "respondent_type", "district", "commune")
#: Domain types published in the tables but never in the microdata (not among its quasi-identifiers).
NOT_IN_MICRODATA = ("mode", "language")
#: Smallest number of rows any labelled combination of quasi-identifiers may hold in the public file.
MIN_COMBINATION = 5
TIERS = ("public", "restricted")


@dataclass(frozen=True)
class MicrodataExport:
    rows: int
    csv_path: Path
    script_path: Path
    notes_path: Path | None = None

    def __str__(self) -> str:
        return f"Wrote {self.rows} rows to {self.csv_path} and the R script {self.script_path}."


@dataclass
class _Data:
    indicator: Indicator
    #: The published metric: the indicator's code, or ``<indicator>/item:<criterion>``.
    metric: str
    period: Period
    response_ids: list[int]
    groups: list[ScoreGroup]
    weight: np.ndarray
    stratum: np.ndarray
    stratum_size: dict[int, int]
    labels: dict[str, list[str | None]]
    #: (domain type, domain) whose rate (estimate) is published in the current snapshot.
    published: set[tuple[str, str]]
    #: Each response's answer columns: ``(satisfied,)``, or ``(x, y)`` for an index indicator.
    values: list[tuple] = None  # type: ignore[assignment]

    @property
    def ratio(self) -> bool:
        return self.indicator.kind == "index" or "/item:" in self.metric

    @property
    def answer_columns(self) -> tuple[str, ...]:
        return RATIO_COLUMNS if self.ratio else ("satisfied",)


def _load(period_label: str, indicator_code: str) -> _Data:
    try:
        period = Period.parse(period_label)
    except ValueError as error:
        raise PublishError(f"unknown period {period_label!r}") from error
    host_code, criterion_marker, criterion = indicator_code.partition("/item:")
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == host_code))
    if indicator is None or indicator.kind not in MICRODATA_KINDS:
        raise PublishError(f"unknown satisfaction indicator {indicator_code!r}")
    criterion_ids = criterion_instruments(indicator.sector).get(criterion) if criterion_marker else None
    if criterion_marker and (not criterion_ids or ASPECT_HOST.get(indicator.sector) != indicator.code):
        raise PublishError(f"unknown criterion {indicator_code!r}")
    snapshot = current_snapshot(period.label)
    if snapshot is None:
        raise PublishError(f"{period} has not been published; publish it first")
    # Published = a rate is shown: a count-only row (estimate null) is not, nor a hidden one (not stored).
    published = {
        (domain_type, domain)
        for domain_type, domain in db.session.execute(
            select(PublishedEstimate.domain_type, PublishedEstimate.domain).where(
                PublishedEstimate.snapshot_id == snapshot.id,
                PublishedEstimate.metric == indicator_code,
                PublishedEstimate.estimate.is_not(None),
            )
        )
    }
    services = {s.id: s for s in db.session.scalars(select(Service))}
    source, sector_services = _score_source(indicator, services)
    quarters = [q.label for q in period.quarters]
    key = (
        Response.id,
        Response.period,
        Response.unit_id,
        Response.service_id,
        Response.respondent_type,
        Response.channel,
    )
    if criterion_ids:
        rows = db.session.execute(
            _criterion_query(criterion, criterion_ids, quarters, key)
            .where(Response.service_id.in_(sector_services))
            .order_by(Response.id)
        ).all()
    elif indicator.kind == "index":
        rows = db.session.execute(
            _ratio_query(indicator, quarters, key).where(Response.service_id.in_(sector_services)).order_by(Response.id)
        ).all()
    else:
        rows = db.session.execute(
            select(*key, ResponseScore.satisfied)
            .join(ResponseScore, ResponseScore.response_id == Response.id)
            .where(
                Response.period.in_(quarters),
                Response.status == "valid",
                ResponseScore.metric == source,
                Response.service_id.in_(sector_services),
            )
            .order_by(Response.id)
        ).all()
    # One group per response: the same weighting code as publishing, applied row by row.
    groups = [ScoreGroup(*row[1:6], indicator.code, 1, int(row[6])) for row in rows]
    cells = _Cells(groups, fetch_transaction_counts(quarters), sector_services)
    strata, sizes = np.unique(cells.stratum, return_counts=True)
    domains = _domains_of(indicator, _domain_functions(period, _unit_infos(period), services))
    # Mode and language are published as tables only: the microdata's disclosure rules do not cover them.
    domains = {name: function for name, function in domains.items() if name not in NOT_IN_MICRODATA}
    if criterion_ids:
        domains = {name: domains[name] for name in ("province", "unit")}
    labels = {name: [function(g) for g in groups] for name, function in domains.items()}
    values = [tuple(int(v) for v in row[6:]) for row in rows]
    return _Data(
        indicator,
        indicator_code,
        period,
        [row[0] for row in rows],
        groups,
        cells.weight,
        cells.stratum.astype(int),
        dict(zip(strata.tolist(), sizes.tolist(), strict=True)),
        labels,
        published,
        values,
    )


def _ratio_query(indicator: Indicator, quarters: list[str], key: tuple):
    """Per valid response of an index indicator: its key, x and y (as publishing sums them)."""

    instrument_ids, aspect_metrics = _index_instruments(indicator)
    if indicator.definition.get("over") == "aspect_overall_items":
        per = per_response_aspects(quarters, instrument_ids, aspect_metrics)
        return select(*key, per.c.x, per.c.y).join(per, per.c.response_id == Response.id)
    if (indicator.definition.get("statistic") or "share") == "mean":
        # The mean score Σw·(sum of answers)/Σw·(answers rated): x rated answers, y their sum.
        x, y, stored = Response.items_rated, Response.items_score_sum, Response.items_score_sum >= Response.items_rated
    else:
        x, y, stored = Response.items_rated, Response.items_satisfied, True
    return select(*key, x, y).where(
        Response.period.in_(quarters),
        Response.status == "valid",
        Response.items_rated > 0,
        stored,
        Response.instrument_id.in_(instrument_ids),
    )


def _criterion_query(criterion: str, instrument_ids: list[int], quarters: list[str], key: tuple):
    """Per valid response of the instruments that sample ``criterion``: x = 1 if it rated the criterion
    (asked it and did not answer "no opinion"), y = 1 if satisfied; 0 and 0 otherwise (domain estimation)."""
    score = aliased(ResponseScore)
    rated = case((score.response_id.is_not(None), 1), else_=0)
    return (
        select(*key, rated, func.coalesce(score.satisfied, 0))
        .outerjoin(score, (score.response_id == Response.id) & (score.metric == f"item:{criterion}"))
        .where(Response.period.in_(quarters), Response.status == "valid", Response.instrument_id.in_(instrument_ids))
    )


def export_microdata(period_label: str, indicator_code: str, output: Path, tier: str = "public") -> MicrodataExport:
    """Write the ``tier`` microdata of a published period and indicator, ``<output>.R`` beside it
    (and, for the public tier, ``<output>.json``: what was coarsened)."""
    if tier not in TIERS:
        raise ValueError(f"tier must be one of {', '.join(TIERS)}")
    data = _load(period_label, indicator_code)
    output.parent.mkdir(parents=True, exist_ok=True)
    if tier == "restricted":
        return _write_restricted(data, output)
    return _write_public(data, output)


def _public_rows(data: _Data) -> tuple[list[tuple], dict]:
    """The public blocks and the notes on what was coarsened."""
    rng = np.random.default_rng(secrets.randbits(128))
    answers = data.values
    notes: dict = {
        "tier": "public",
        "indicator": data.metric,
        "period": data.period.label,
        "layout": "one block per domain type; each row carries one domain only (no cross-classification)",
        "dropped_columns": ["response_id", "quarter", "cell_total", "demographics", "free text"],
        "cell": "opaque weighting-cell id, renumbered at random in each block",
        "min_rows_per_labelled_domain": MIN_COMBINATION,
        "blocks": {},
        "left_out": [],
        "residual_risk": "weights are exact (the published standard errors need them); cells can be matched "
        "across blocks by their weight",
    }
    if ("province", "sl") not in data.published or not data.groups:
        notes["left_out"].append("everything: the province rate is not published")
        return [], notes
    out: list[tuple] = []
    for domain_type, values in data.labels.items():  # the province block first
        shown = [v if v is not None and (domain_type, v) in data.published else "" for v in values]
        counts: dict[str, int] = defaultdict(int)
        for value in shown:
            counts[value] += 1
        # A published domain has at least min_n rows; blank any below the floor all the same.
        shown = [v if v == "" or counts[v] >= MIN_COMBINATION else "" for v in shown]
        labelled = sorted({v for v in shown if v})
        if not labelled:
            notes["left_out"].append(domain_type)
            continue
        strata = sorted(set(data.stratum.tolist()))
        renumber = dict(zip(strata, rng.permutation(len(strata)).tolist(), strict=True))
        block = sorted(
            (domain_type, shown[i], f"c{renumber[int(data.stratum[i])]}", float(data.weight[i]), *answers[i])
            for i in range(len(data.groups))
        )
        notes["blocks"][domain_type] = {
            "published_domains": len(labelled),
            "rows_left_empty": sum(1 for v in shown if not v),
        }
        out += block
    return out, notes


def public_rows(period_label: str, indicator_code: str) -> list[dict]:
    """The public file's rows as dictionaries (for the disclosure audit and tests)."""
    data = _load(period_label, indicator_code)
    rows, _ = _public_rows(data)
    columns = PUBLIC_COLUMNS[:-1] + data.answer_columns
    return [dict(zip(columns, row, strict=True)) for row in rows]


def _write_public(data: _Data, output: Path) -> MicrodataExport:
    rows, notes = _public_rows(data)
    with output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(PUBLIC_COLUMNS[:-1] + data.answer_columns)
        for row in rows:
            # csv_cell: domain codes come from the registry; a spreadsheet must never evaluate one.
            writer.writerow([csv_cell(cell) for cell in row])
    notes_path = output.with_suffix(".json")
    notes_path.write_text(json.dumps(notes, ensure_ascii=False, indent=2), encoding="utf-8")
    script = output.with_suffix(".R")
    script.write_text(
        _public_r_script(output.name, data.metric, data.period.label, notes, data.ratio), encoding="utf-8"
    )
    return MicrodataExport(len(rows), output, script, notes_path)


def _write_restricted(data: _Data, output: Path) -> MicrodataExport:
    names = list(data.labels)
    with output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(RESTRICTED_COLUMNS[:-1] + data.answer_columns + tuple(names))
        for i, group in enumerate(data.groups):
            stratum = int(data.stratum[i])
            weight = float(data.weight[i])
            values = [data.labels[name][i] or "" for name in names]
            writer.writerow(
                [
                    csv_cell(cell)
                    for cell in (
                        data.response_ids[i],
                        group.quarter,
                        f"h{stratum}",
                        weight * data.stratum_size[stratum],
                        weight,
                        *data.values[i],
                        *values,
                    )
                ]
            )
    script = output.with_suffix(".R")
    script.write_text(
        _restricted_r_script(
            output.name, data.metric, data.period.label, [n for n in names if n != "province"], data.ratio
        ),
        encoding="utf-8",
    )
    return MicrodataExport(len(data.groups), output, script)


_R_HEADER = """# Weights are N_h/n_h per weighting cell (with empty cells spread within their unit and
# quarter); the design treats the cells as strata. Single-response cells use the
# "adjust" rule, as the published figures do. Intervals: see the methodology page
# (the published default is Wilson on the effective size, floored at Kish's).
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE)
"""


#: R estimators: a share (``svymean`` of the 0/1 answer) or a ratio of answers (``svyratio`` of y over x).
_R_WHOLE = {False: "svymean(~satisfied, design)", True: "svyratio(~y, ~x, design)"}
_R_BY = {False: "svymean, na.rm.by = TRUE", True: "svyratio, denominator = ~x, na.rm.by = TRUE"}
_R_BY_OUTCOME = {False: "~satisfied", True: "~y"}


def _public_r_script(csv_name: str, indicator: str, period: str, notes: dict, ratio: bool = False) -> str:
    blocks = ", ".join(notes["blocks"]) or "none"
    left_out = ", ".join(notes["left_out"]) or "none"
    return f"""# Reproduces the published estimates of {indicator} for {period} with R's survey package.
# Sơn La Satisfaction Index — public microdata. Run: Rscript {csv_name.removesuffix(".csv")}.R
# Disclosure control: one block of rows per domain type (blocks: {blocks}); each row carries
# one domain only, labelled only where its rate is published (else empty), so no combination
# of unit, service, channel, respondent type and area is published; no response id, quarter
# or cell total; cell ids are renumbered at random in each block. Left out: {left_out}.
# Each block holds every response once: it is the whole design.
{_R_HEADER}file <- if (length(args) > 0) args[1] else "{csv_name}"
data <- read.csv(file, colClasses = c(domain_type = "character", domain = "character", cell = "character"),
                 na.strings = "")
out <- data.frame(domain_type = character(), domain = character(), estimate = numeric(), se = numeric())
for (block in unique(data$domain_type)) {{
  part <- data[data$domain_type == block, ]
  design <- svydesign(id = ~1, strata = ~cell, weights = ~weight, data = part)
  if (nrow(out) == 0) {{
    province <- {_R_WHOLE[ratio]}
    out <- data.frame(domain_type = "province", domain = "sl", estimate = coef(province)[[1]], se = SE(province)[[1]])
  }}
  # A block with no published domain (all empty) has nothing to estimate.
  if (block == "province" || all(is.na(part$domain))) next
  by <- svyby({_R_BY_OUTCOME[ratio]}, ~domain, design, {_R_BY[ratio]})
  out <- rbind(out, data.frame(domain_type = block, domain = as.character(by$domain),
                               estimate = coef(by), se = SE(by)))
}}
rownames(out) <- NULL
write.csv(out, stdout(), row.names = FALSE)
"""


def _restricted_r_script(
    csv_name: str, indicator: str, period: str, domain_columns: list[str], ratio: bool = False
) -> str:
    columns = ", ".join(f'"{name}"' for name in domain_columns)
    classes = ", ".join(f'{name} = "character"' for name in domain_columns)
    return f"""# Estimates of {indicator} for {period} (every domain, published or not) with R's survey package.
# Sơn La Satisfaction Index — RESTRICTED microdata for approved researchers; do not redistribute.
# Run: Rscript {csv_name.removesuffix(".csv")}.R
{_R_HEADER}file <- if (length(args) > 0) args[1] else "{csv_name}"
data <- read.csv(file, colClasses = c(cell = "character"{", " + classes if classes else ""}), na.strings = "")
design <- svydesign(id = ~1, strata = ~cell, weights = ~weight, data = data)
province <- {_R_WHOLE[ratio]}
out <- data.frame(domain_type = "province", domain = "sl", estimate = coef(province)[[1]], se = SE(province)[[1]])
for (name in c({columns})) {{
  # An all-empty column (e.g. no commune before the 2025 reorganisation) has nothing to estimate.
  if (all(is.na(data[[name]]))) next
  by <- svyby({_R_BY_OUTCOME[ratio]}, as.formula(paste0("~", name)), design, {_R_BY[ratio]})
  out <- rbind(out, data.frame(domain_type = name, domain = as.character(by[[name]]),
                               estimate = coef(by), se = SE(by)))
}}
rownames(out) <- NULL
write.csv(out, stdout(), row.names = FALSE)
"""


#: Shortest acceptable statement of who receives a restricted file, why, and under which approval.
MIN_PURPOSE_LENGTH = 20


def export_restricted_microdata(
    period_label: str, indicator_code: str, output: Path, *, purpose: str, actor: str | None = None
) -> MicrodataExport:
    """The restricted file, for an approved researcher: refused without a purpose, audited with it.

    The audit event (who, which file, why) is committed before the file is handed over."""

    purpose = " ".join((purpose or "").split())
    if len(purpose) < MIN_PURPOSE_LENGTH:
        raise ValueError(
            "name the approved researcher, the purpose and the approval reference "
            f"(at least {MIN_PURPOSE_LENGTH} characters)"
        )
    result = export_microdata(period_label, indicator_code, output, tier="restricted")
    record_event(
        "microdata.restricted_export",
        actor=actor,
        object_type="microdata",
        object_id=f"{period_label}/{indicator_code}"[:60],
        after={"rows": result.rows, "tier": "restricted"},
        detail=purpose[:2000],
    )
    db.session.commit()
    return result
