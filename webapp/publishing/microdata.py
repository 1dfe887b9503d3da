"""Publication-safe microdata behind an indicator, and an R script that reproduces it.

One row per valid response counted for the indicator in the period: ``response_id, cell,
cell_total, weight, satisfied`` and the domain columns. No free text and no demographics.
A domain value that is not published (fewer than ``min_n_show`` responses, or hidden by
secondary suppression) is left empty (``NA`` in R), so the file reveals nothing the
published tables hide, while the province estimate and every published domain estimate are
still reproduced exactly by ``svydesign(id=~1, strata=~cell, weights=~weight)``.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sqlalchemy import select

from webapp.extensions import db
from webapp.models import Indicator, PublishedEstimate, Response, ResponseScore, Service
from webapp.periods import Period
from webapp.publishing.aggregate import ScoreGroup, fetch_transaction_counts
from webapp.publishing.compute import _Cells, _domain_functions, _unit_infos
from webapp.publishing.publish import PublishError, current_snapshot
from webapp.safe_text import csv_cell

COLUMNS = ("response_id", "cell", "cell_total", "weight", "satisfied")


@dataclass(frozen=True)
class MicrodataExport:
    rows: int
    csv_path: Path
    script_path: Path

    def __str__(self) -> str:
        return f"Wrote {self.rows} responses to {self.csv_path} and the R script {self.script_path}."


def export_microdata(period_label: str, indicator_code: str, output: Path) -> MicrodataExport:
    """Write the microdata of a published period and indicator, and ``<output>.R`` beside it."""
    period = Period.parse(period_label)
    indicator = db.session.scalar(select(Indicator).where(Indicator.code == indicator_code))
    if indicator is None or indicator.kind != "satisfaction":
        raise PublishError(f"unknown satisfaction indicator {indicator_code!r}")
    snapshot = current_snapshot(period.label)
    if snapshot is None:
        raise PublishError(f"{period} has not been published; publish it first")
    published = {
        (domain_type, domain)
        for domain_type, domain in db.session.execute(
            select(PublishedEstimate.domain_type, PublishedEstimate.domain).where(
                PublishedEstimate.snapshot_id == snapshot.id, PublishedEstimate.metric == indicator.code)
        )
    }
    services = {s.id: s for s in db.session.scalars(select(Service))}
    sector_services = {sid for sid, s in services.items() if indicator.sector in (None, s.sector)}
    quarters = [q.label for q in period.quarters]
    rows = db.session.execute(
        select(Response.id, Response.period, Response.unit_id, Response.service_id, Response.respondent_type, Response.channel,
               ResponseScore.satisfied)
        .join(ResponseScore, ResponseScore.response_id == Response.id)
        .where(Response.period.in_(quarters), Response.status == "valid", ResponseScore.metric == indicator.code,
               Response.service_id.in_(sector_services))
        .order_by(Response.id)
    ).all()
    # One group per response: the same weighting code as publishing, applied row by row.
    groups = [ScoreGroup(q, u, s, r, c, indicator.code, 1, int(y)) for _, q, u, s, r, c, y in rows]
    cells = _Cells(groups, fetch_transaction_counts(quarters), sector_services)
    strata, sizes = np.unique(cells.stratum, return_counts=True)
    stratum_size = dict(zip(strata.tolist(), sizes.tolist(), strict=True))
    units = _unit_infos(period)
    domains = _domain_functions(period, units, services)
    domain_columns = [name for name in domains if name != "province"]
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([csv_cell(name) for name in COLUMNS + tuple(domain_columns)])
        for i, (response_id, *_rest) in enumerate(rows):
            group = groups[i]
            weight = float(cells.weight[i])
            stratum = int(cells.stratum[i])
            values = []
            for name in domain_columns:
                value = domains[name](group)
                values.append(value if value is not None and (name, value) in published else "")
            # csv_cell: domain codes come from the registry; a spreadsheet must never evaluate one.
            writer.writerow([csv_cell(cell) for cell in (response_id, f"h{stratum}", weight * stratum_size[stratum],
                                                         weight, group.satisfied, *values)])
    script = output.with_suffix(".R")
    script.write_text(_r_script(output.name, indicator.code, period.label, domain_columns), encoding="utf-8")
    return MicrodataExport(len(rows), output, script)


def _r_script(csv_name: str, indicator: str, period: str, domain_columns: list[str]) -> str:
    by_blocks = "\n".join(
        f"""by_{name} <- svyby(~satisfied, ~{name}, design, svymean, na.rm.by = TRUE)
out <- rbind(out, data.frame(domain_type = "{name}", domain = as.character(by_{name}${name}),
                             estimate = coef(by_{name}), se = SE(by_{name})))"""
        for name in domain_columns
    )
    return f"""# Reproduces the published estimates of {indicator} for {period} with R's survey package.
# Sơn La Satisfaction Index — microdata export. Run: Rscript {csv_name.removesuffix('.csv')}.R
# Weights are N_h/n_h per weighting cell (with empty cells spread within their unit and
# quarter); the design treats the cells as strata. Single-response cells use the
# "adjust" rule, as the published figures do. Intervals: see the methodology page
# (the published default is Wilson on the effective size, floored at Kish's).
suppressPackageStartupMessages(library(survey))
options(survey.lonely.psu = "adjust")
args <- commandArgs(trailingOnly = TRUE)
file <- if (length(args) > 0) args[1] else "{csv_name}"
data <- read.csv(file, colClasses = c(cell = "character"), na.strings = "")
design <- svydesign(id = ~1, strata = ~cell, weights = ~weight, data = data)
province <- svymean(~satisfied, design)
out <- data.frame(domain_type = "province", domain = "sl", estimate = coef(province)[[1]], se = SE(province)[[1]])
{by_blocks}
rownames(out) <- NULL
write.csv(out, stdout(), row.names = FALSE)
"""
