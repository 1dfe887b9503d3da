"""Microdata downloads on /data: served on demand, cached, revalidated, and faithful to the published figures."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest

from tests.pages import check_page
from tests.public import test_info_pages as info

# The published demo of the information pages (module fixture: this module builds its own copy).
published = info.published
PERIOD = "2026-Q3"


@pytest.fixture(scope="module")
def web(app, published, tmp_path_factory):
    from webapp.extensions import limiter

    previous = app.config.get("MICRODATA_CACHE_DIR")
    app.config["MICRODATA_CACHE_DIR"] = str(tmp_path_factory.mktemp("microdata-cache"))
    limiter.reset()
    yield app.test_client()
    app.config["MICRODATA_CACHE_DIR"] = previous


def read_rows(response) -> list[dict]:
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True), newline="")))


def weighted_rate(rows: list[dict]) -> tuple[float, int]:
    total = sum(float(r["weight"]) for r in rows)
    return sum(float(r["weight"]) * int(r["satisfied"]) for r in rows) / total, len(rows)


@pytest.mark.parametrize("indicator", ["sat-agencies", "sat-health"])
def test_the_served_file_reproduces_the_published_estimates(web, indicator):
    response = web.get(f"/data/{PERIOD}/microdata/{indicator}.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert f"filename=son-la-microdata-{PERIOD}-{indicator}.csv" in response.headers["Content-Disposition"]
    blocks: dict[str, list[dict]] = defaultdict(list)
    for row in read_rows(response):
        blocks[row["domain_type"]].append(row)
    api = web.get(f"/api/v1/estimates?indicator={indicator}&period={PERIOD}").json["estimates"]
    province = next(e for e in api if e["domain_type"] == "province")
    estimate, n = weighted_rate(blocks["province"])
    assert n == province["n"]
    assert estimate == pytest.approx(province["estimate"], rel=1e-12, abs=1e-12)
    by_unit: dict[str, list[dict]] = defaultdict(list)
    for row in blocks["unit"]:
        if row["domain"]:
            by_unit[row["domain"]].append(row)
    published_units = {e["domain"]: e for e in api if e["domain_type"] == "unit" and e["estimate"] is not None}
    assert by_unit, "no unit is labelled"
    assert set(by_unit) <= set(published_units), "only units whose rate is published are labelled"
    for code, unit_rows in by_unit.items():
        e = published_units[code]
        assert len(unit_rows) == e["n"]
        assert weighted_rate(unit_rows)[0] == pytest.approx(e["estimate"], rel=1e-12, abs=1e-12)
    assert by_unit


def test_no_free_text_or_personal_columns(web):
    rows = read_rows(web.get(f"/data/{PERIOD}/microdata/sat-agencies.csv"))
    assert set(rows[0]) == {"domain_type", "domain", "cell", "weight", "satisfied"}


def test_the_r_script_comes_beside_it(web):
    response = web.get(f"/data/{PERIOD}/microdata/sat-agencies.R")
    assert response.status_code == 200 and response.mimetype == "text/plain"
    text = response.get_data(as_text=True)
    assert "svydesign(id = ~1, strata = ~cell, weights = ~weight" in text
    assert f"son-la-microdata-{PERIOD}-sat-agencies.csv" in text


def test_downloads_revalidate_and_are_cached(web, app):
    from pathlib import Path

    first = web.get(f"/data/{PERIOD}/microdata/sat-agencies.csv")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert etag and modified and first.headers["Cache-Control"].startswith("public")
    assert web.get(f"/data/{PERIOD}/microdata/sat-agencies.csv", headers={"If-None-Match": etag}).status_code == 304
    assert (
        web.get(f"/data/{PERIOD}/microdata/sat-agencies.csv", headers={"If-Modified-Since": modified}).status_code
        == 304
    )
    assert web.get(f"/data/{PERIOD}/microdata/sat-agencies.R").headers["ETag"] != etag
    assert web.get("/data/2026-Q2/microdata/sat-agencies.csv").headers["ETag"] != etag
    cached = list(Path(app.config["MICRODATA_CACHE_DIR"]).glob("*/*.csv"))
    assert cached and not list(Path(app.config["MICRODATA_CACHE_DIR"]).glob(".export-*")), "no half-written exports"
    again = web.get(f"/data/{PERIOD}/microdata/sat-agencies.csv")
    assert again.get_data() == first.get_data()


@pytest.mark.parametrize(
    "path",
    [
        "/data/2026-Q4/microdata/sat-agencies.csv",
        "/data/nonsense/microdata/sat-agencies.csv",
        f"/data/{PERIOD}/microdata/coverage-psu.csv",
        f"/data/{PERIOD}/microdata/no-such-indicator.R",
    ],
)
def test_unknown_or_unpublished_is_404(web, path):
    assert web.get(path).status_code == 404


@pytest.mark.parametrize("lang", ["vi", "en"])
def test_data_page_links_the_latest_quarter_and_offers_a_form(web, lang):
    soup = check_page(web.get(f"/data?lang={lang}"), lang=lang)
    links = {a["href"] for a in soup.find_all("a")}
    for code in ("sat-procedures", "sat-agencies", "sat-health", "sat-education"):
        assert f"/data/{PERIOD}/microdata/{code}.csv" in links and f"/data/{PERIOD}/microdata/{code}.R" in links
    assert not any("coverage-psu" in link for link in links if "/microdata/" in link)
    form = soup.find("form", action="/data/microdata")
    assert form["method"] == "get"
    assert {o["value"] for o in form.find("select", id="microdata-period").find_all("option")} == {
        "2025",
        "2026-Q2",
        "2026-Q3",
    }


def test_the_form_sends_the_reader_to_the_file(web):
    response = web.get("/data/microdata?period=2026-Q2&indicator=sat-health&format=R")
    assert response.status_code == 303 and response.headers["Location"].endswith("/data/2026-Q2/microdata/sat-health.R")
    for query, message in (
        ("period=2026-Q2&indicator=sat-health&format=xlsx", "Choose the file"),
        ("period=2026-Q2&indicator=coverage-psu&format=csv", "satisfaction indicators"),
        ("period=1999&indicator=sat-health&format=csv", "published periods"),
    ):
        soup = check_page(web.get(f"/data/microdata?{query}&lang=en"), status=400)
        assert message in soup.find(class_="error-summary").get_text()


def test_methodology_points_to_the_downloads(web):
    text = " ".join(check_page(web.get("/methodology?lang=en")).get_text().split())
    assert "anyone can also download de-identified microdata" in text
    assert "Department of Home Affairs can export" not in text
