"""Transparency pages about the programme: the plan's targets, the methodology, open data downloads."""

from __future__ import annotations

import json

from flask import Blueprint, Response, abort, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from analysis.intervals import DEFAULT_CI_METHOD
from analysis.status import MIN_N_PUBLISH, MIN_N_SHOW
from public import downloads, microdata_files, readers
from public.summaries import fetch_headlines
from webapp.access import PUBLIC, declare_access
from webapp.extensions import db
from webapp.models import Indicator
from webapp.models.feedback import PlanProgressValue
from webapp.models.inputs import PopulationMargin
from webapp.publishing.compute import METHODOLOGY_VERSION

public_info = declare_access(Blueprint("public_info", __name__, template_folder="templates"), PUBLIC)

#: Downloads may be cached by browsers and proxies, but must be revalidated (revisions happen).
CACHE_CONTROL = "public, max-age=0, must-revalidate"
#: Coverage of 95% intervals in the simulation of bench/README.md (``bench/coverage_sim.py``):
#: near 97.5% for R's beta, wilson and Wald and the published wilson-cc-kish; near 85% for wilson-cc-kish.
#: (Passed as variables: Jinja folds filters applied to literals at compile time, in one locale.)
SIMULATED_COVERAGE = {
    "beta": 0.906,
    "wilson": 0.890,
    "wald": 0.861,
    "published": 0.980,
    "near85": 0.964,
    "upper_miss_plain": 0.030,
    "upper_miss_published": 0.018,
}


#: Tolerance when comparing an entered share with a target ("100%" entered as 0.9999999).
TOLERANCE = 1e-9


def progress_status(value: float, target: float, comparison: str, as_of_year: int, deadline: int) -> str:
    """``met``, ``not-yet`` (below, deadline not passed) or ``missed`` (below after the deadline)."""
    # ge, and eq: a share of 100% cannot be exceeded, so "exactly" means "reached".
    met = value > target + TOLERANCE if comparison == "gt" else value >= target - TOLERANCE
    if met:
        return "met"
    return "missed" if as_of_year > deadline else "not-yet"


def latest_progress_values() -> dict:
    """The latest entered value of each plan target (by ``as_of``, then by entry time)."""
    latest: dict = {}
    for value in db.session.scalars(
        select(PlanProgressValue).order_by(PlanProgressValue.as_of, PlanProgressValue.entered_at, PlanProgressValue.id)
    ):
        latest[value.target_id] = value
    return latest


def plan_groups(plan: dict) -> list[tuple[str, str | dict, list[dict]]]:
    """The plan's targets grouped in file order: ``(anchor, section or area {vi, en}, targets)``.

    The 2011–2020 plan groups by section (``II.1.3``), the 2021–2030 one by area of reform.
    """
    groups: dict[str, tuple[str | dict, list[dict]]] = {}
    for target in plan["targets"]:
        label = target.get("section") or target["area"]
        groups.setdefault(label if isinstance(label, str) else label["en"], (label, []))[1].append(target)
    return [
        ("section-" + label.replace(".", "-") if isinstance(label, str) else f"area-{plan['id']}-{n}", label, targets)
        for n, (label, targets) in enumerate(groups.values(), start=1)
    ]


@public_info.get("/plan")
def plan():
    """Both reform plans (2011–2020 and 2021–2030) with every target; survey-based ones with the latest figure."""
    headlines = {h.indicator.code: h for h in fetch_headlines()}
    indicators = {i.code: i for i in db.session.scalars(select(Indicator).options(selectinload(Indicator.targets)))}
    plans = [{**plan, "groups": plan_groups(plan)} for plan in downloads.plan_targets()["plans"]]
    return render_template(
        "info/plan.html",
        plans=plans,
        headlines=headlines,
        indicators=indicators,
        progress=latest_progress_values(),
        progress_status=progress_status,
    )


#: The indicators whose rates by mode and by language the methodology page shows, in order.
MODE_INDICATORS = ("sat-agencies", "sat-health", "sat-education")
#: The order of the modes in the table (self-completed first: the others are compared with it).
MODE_ORDER = ("self", "read_aloud", "assisted", "sms")


def mode_and_language_tables() -> dict | None:
    """The latest published quarter's rates by mode and by language of :data:`MODE_INDICATORS`:
    ``{"period": label, "indicators": [(indicator, mode rows, language rows)]}``, or None before any."""
    latest = readers.latest_snapshot("Q")
    if latest is None:
        return None
    indicators = {i.code: i for i in db.session.scalars(select(Indicator).where(Indicator.code.in_(MODE_INDICATORS)))}
    tables = []
    for code in MODE_INDICATORS:
        modes = readers.rows_of(latest, code, "mode")
        languages = readers.rows_of(latest, code, "language")
        if code in indicators and (modes or languages):
            modes.sort(key=lambda r: MODE_ORDER.index(r.domain) if r.domain in MODE_ORDER else len(MODE_ORDER))
            languages.sort(key=lambda r: (r.domain != "vi", r.domain))
            tables.append((indicators[code], modes, languages))
    return {"period": latest.period, "indicators": tables}


def census_ethnic_mix() -> list[tuple[str, float]]:
    """The census's ethnic groups and their shares of the province's population (province-wide: the
    loaded margins have no commune-level mix)."""
    rows = db.session.execute(
        select(PopulationMargin.category, PopulationMargin.total).where(PopulationMargin.variable == "ethnicity_group")
    ).all()
    total = sum(count for _, count in rows)
    return sorted(((group, count / total) for group, count in rows), key=lambda r: -r[1]) if total else []


@public_info.get("/methodology")
def methodology():
    """The method in plain words and in formulas, and the log of revised publications."""
    return render_template(
        "info/methodology.html",
        modes=mode_and_language_tables(),
        census_ethnic_mix=census_ethnic_mix(),
        revisions=readers.revised_periods(),
        methodology_version=METHODOLOGY_VERSION,
        default_ci_method=DEFAULT_CI_METHOD,
        coverage=SIMULATED_COVERAGE,
        min_n=MIN_N_PUBLISH,
        min_n_show=MIN_N_SHOW,
    )


def _data_page(error: str | None = None, status: int = 200):
    return (
        render_template(
            "info/data.html",
            snapshots=downloads.latest_snapshots(),
            latest=downloads.latest_quarter(),
            fields=downloads.FIELDS,
            microdata_indicators=microdata_files.satisfaction_indicators(),
            microdata_error=error,
        ),
        status,
    )


@public_info.get("/data")
def data():
    """The list of published periods with their downloads, the licence and the fields."""
    return _data_page()


#: The microdata file formats: the data (CSV) and the R script that reproduces the estimates.
MICRODATA_FORMATS = {"csv": "text/csv", "R": "text/plain"}


@public_info.get("/data/microdata")
def microdata_choice():
    """The microdata form on /data (no JavaScript): send the reader to the file's own address."""
    period, indicator, fmt = (request.args.get(k, "") for k in ("period", "indicator", "format"))
    if fmt not in MICRODATA_FORMATS:
        return _data_page(_("Choose the file: the data (CSV) or the R script."), 400)
    if indicator not in {i.code for i in microdata_files.satisfaction_indicators()}:
        return _data_page(_("Choose one of the satisfaction indicators in the list."), 400)
    if downloads.find_snapshot(period) is None:
        return _data_page(_("Choose one of the published periods in the list."), 400)
    endpoint = "public_info.microdata_csv" if fmt == "csv" else "public_info.microdata_script"
    return redirect(url_for(endpoint, period=period, indicator=indicator), 303)


def _microdata(period: str, indicator: str, fmt: str):
    snapshot = _snapshot_or_404(period)
    if indicator not in {i.code for i in microdata_files.satisfaction_indicators()}:
        abort(404)
    files = microdata_files.microdata_files(snapshot, indicator)
    path = files.csv_path if fmt == "csv" else files.script_path
    response = send_file(
        path,
        mimetype=MICRODATA_FORMATS[fmt],
        as_attachment=True,
        download_name=path.name,
        etag=f"{files.etag}-{fmt}",
        last_modified=snapshot.published_at,
        conditional=True,
        max_age=0,
    )
    response.headers["Access-Control-Allow-Origin"] = "*"
    response.headers["Access-Control-Expose-Headers"] = "ETag, Last-Modified"
    response.headers["Cache-Control"] = CACHE_CONTROL
    if fmt == "R":
        response.mimetype, response.charset = "text/plain", "utf-8"
    return response


@public_info.get("/data/<period>/microdata/<indicator>.csv")
def microdata_csv(period: str, indicator: str):
    """One row per response counted for ``indicator`` in ``period``: cell, weight, answer, published domains."""
    return _microdata(period, indicator, "csv")


@public_info.get("/data/<period>/microdata/<indicator>.R")
def microdata_script(period: str, indicator: str):
    """The R script that reproduces the published estimates from the microdata file."""
    return _microdata(period, indicator, "R")


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
