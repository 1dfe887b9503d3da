"""Transparency pages about the programme: the plan's targets, the methodology, open data downloads."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, render_template, request
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from public import downloads
from webapp.access import PUBLIC, declare_access
from webapp.extensions import db

public_info = declare_access(Blueprint("public_info", __name__, template_folder="templates"), PUBLIC)

#: Downloads may be cached by browsers and proxies, but must be revalidated (revisions happen).
CACHE_CONTROL = "public, max-age=0, must-revalidate"
#: Coverage of 95% intervals in the simulation of bench/README.md (``bench/coverage_sim.py``):
#: near 97.5% for R's beta, wilson and Wald and the published wilson-kish; near 85% for wilson-kish.
#: (Passed as variables: Jinja folds filters applied to literals at compile time, in one locale.)
SIMULATED_COVERAGE = {"beta": 0.906, "wilson": 0.890, "wald": 0.861, "published": 0.968, "near85": 0.958}


@public_info.get("/plan")
def plan():
    """Every target of Decision 210/QĐ-UBND with its deadline; survey-based ones with the latest figure."""
    from public.summaries import fetch_headlines
    from webapp.models import Indicator

    headlines = {h.indicator.code: h for h in fetch_headlines()}
    indicators = {i.code: i for i in db.session.scalars(select(Indicator).options(selectinload(Indicator.targets)))}
    document = downloads.plan_targets()
    sections: dict[str, list[dict]] = {}
    for target in document["targets"]:
        sections.setdefault(target["section"], []).append(target)
    return render_template(
        "info/plan.html",
        source=document["source"],
        sections=sorted(sections.items()),
        headlines=headlines,
        indicators=indicators,
    )


@public_info.get("/methodology")
def methodology():
    """The method in plain words and in formulas, and the log of revised publications."""
    from analysis.intervals import DEFAULT_CI_METHOD
    from webapp.publishing.compute import METHODOLOGY_VERSION

    return render_template(
        "info/methodology.html",
        revisions=downloads.revisions_log(),
        methodology_version=METHODOLOGY_VERSION,
        default_ci_method=DEFAULT_CI_METHOD,
        coverage=SIMULATED_COVERAGE,
    )


@public_info.get("/data")
def data():
    """The list of published periods with their downloads, the licence and the fields."""
    return render_template(
        "info/data.html",
        snapshots=downloads.latest_snapshots(),
        latest=downloads.latest_quarter(),
        fields=downloads.FIELDS,
    )


def _download(body: bytes, mimetype: str, validators: downloads.Validators, filename: str | None = None) -> Response:
    response = Response(body, mimetype=mimetype)
    response.set_etag(validators.etag)
    response.last_modified = validators.last_modified
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified"
    response.headers["Cache-Control"] = CACHE_CONTROL
    if filename:
        response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response.make_conditional(request)


def _snapshot_or_404(period: str):
    snapshot = downloads.find_snapshot(period)
    if snapshot is None:
        abort(404)
    return snapshot


@public_info.get("/data/<period>/estimates.csv")
def estimates_csv(period: str):
    snapshot = _snapshot_or_404(period)
    return _download(
        downloads.estimates_csv(snapshot),
        "text/csv",
        downloads.snapshot_validators(snapshot, "csv"),
        f"son-la-estimates-{snapshot.period}.csv",
    )


@public_info.get("/data/<period>/estimates.json")
def estimates_json(period: str):
    snapshot = _snapshot_or_404(period)
    body = json.dumps(downloads.estimates_json(snapshot), ensure_ascii=False, indent=1).encode("utf-8")
    return _download(body, "application/json", downloads.snapshot_validators(snapshot, "json"))


@public_info.get("/data/datapackage.json")
def datapackage():
    validators = downloads.package_validators()
    if validators is None:
        validators = downloads.Validators("package-empty", None)
    body = json.dumps(downloads.datapackage(request.url_root), ensure_ascii=False, indent=1).encode("utf-8")
    return _download(body, "application/json", validators)
