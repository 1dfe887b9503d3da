"""Open data downloads: CSV with a BOM, JSON, the Data Package, caching validators, CORS, suppression."""

from __future__ import annotations

import csv
import io
import json
import re

import pytest

from public.readers import ESTIMATE_FIELDS
from tests.public import test_info_pages as info

# The published demo of the page tests (module fixtures: this module builds its own copy).
published = info.published
web = info.web
QUARTERS = info.QUARTERS

NUMBERS_FROM_ANSWERS = ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff", "change", "funnel")
API_FIELDS = set(ESTIMATE_FIELDS)


def read_csv(response) -> list[dict]:
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf"), "UTF-8 byte order mark, for Excel"
    return list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"), newline="")))


def test_csv_starts_with_a_bom_parses_and_matches_the_api(web):
    response = web.get("/data/2026-Q3/estimates.csv")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    rows = read_csv(response)
    assert rows and set(rows[0]) >= API_FIELDS and {"domain_name_vi", "domain_name_en"} <= set(rows[0])
    assert {row["revision"] for row in rows} == {"2"}, "the latest revision"
    province = next(r for r in rows if r["metric"] == "sat-agencies" and r["domain_type"] == "province")
    api = web.get("/api/v1/estimates?indicator=sat-agencies&period=2026-Q3&domain_type=province").json["estimates"][0]
    assert float(province["estimate"]) == pytest.approx(api["estimate"], abs=1e-12)
    assert float(province["ci_low"]) == pytest.approx(api["ci_low"], abs=1e-12)
    assert int(province["n"]) == api["n"]
    units = [r for r in rows if r["domain_type"] == "unit"]
    assert units and all(r["domain_name_vi"] and r["domain_name_en"] for r in units)
    assert any(re.search(r"[ơưăđạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", r["domain_name_vi"]) for r in units), (
        "Vietnamese names survive the round trip"
    )


def test_latest_is_the_latest_published_quarter(web):
    latest = web.get("/data/latest/estimates.csv")
    assert latest.get_data() == web.get("/data/2026-Q3/estimates.csv").get_data()
    document = web.get("/data/latest/estimates.json").json
    assert document["period"] == "2026-Q3" and document["revision"] == 2
    assert web.get("/data/2026-Q4/estimates.csv").status_code == 404, "not published"
    assert web.get("/data/nonsense/estimates.json").status_code == 404


def test_json_download_is_valid_and_carries_every_published_row(web):
    response = web.get("/data/2026-Q2/estimates.json")
    assert response.mimetype == "application/json" and response.headers["Access-Control-Allow-Origin"] == "*"
    document = json.loads(response.get_data(as_text=True))
    assert document["license"] == "CC-BY-4.0" and document["period"] == "2026-Q2" and document["revision"] == 1
    rows = document["estimates"]
    assert rows, "the quarter has published rows"
    assert set(rows[0]) >= API_FIELDS
    assert any("/aspect:" in row["metric"] for row in rows), "aspect rates are published tables too"
    csv_rows = read_csv(web.get("/data/2026-Q2/estimates.csv"))
    assert len(csv_rows) == len(rows)
    for row in rows:
        assert row["n"] >= 10, "cells under 10 are never published"


@pytest.mark.parametrize("period", ["2025", *QUARTERS])
def test_insufficient_rows_carry_only_their_count(web, period):
    rows = web.get(f"/data/{period}/estimates.json").json["estimates"]
    insufficient = [r for r in rows if r["status"] == "insufficient"]
    shown = [r for r in rows if r["status"] != "insufficient"]
    assert shown
    if period != "2025":
        assert insufficient, "the demo has small domains"
    for row in insufficient:
        assert all(row[key] is None for key in NUMBERS_FROM_ANSWERS), row
        assert row["n"] >= 10
    csv_rows = read_csv(web.get(f"/data/{period}/estimates.csv"))
    assert csv_rows
    for row in csv_rows:
        if row["status"] == "insufficient":
            assert all(row[key] == "" for key in ("estimate", "se", "ci_low", "ci_high", "n_eff", "deff")), row
            assert "change" not in row and "funnel" not in row


def test_conditional_get_answers_304(web):
    for path in ("/data/2026-Q3/estimates.csv", "/data/latest/estimates.json", "/data/datapackage.json"):
        first = web.get(path)
        etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
        assert etag and modified
        assert first.headers["Access-Control-Allow-Origin"] == "*"
        again = web.get(path, headers={"If-None-Match": etag})
        assert again.status_code == 304 and again.get_data() == b""
        assert again.headers["Access-Control-Allow-Origin"] == "*"
        assert web.get(path, headers={"If-Modified-Since": modified}).status_code == 304
        assert web.get(path, headers={"If-None-Match": '"something-else"'}).status_code == 200
    assert (
        web.get("/data/2026-Q3/estimates.csv").headers["ETag"] != web.get("/data/2026-Q2/estimates.csv").headers["ETag"]
    )
    assert (
        web.get("/data/2026-Q3/estimates.csv").headers["ETag"]
        != web.get("/data/2026-Q3/estimates.json").headers["ETag"]
    )


FRICTIONLESS_TYPES = {"string", "number", "integer", "boolean", "object", "array", "date", "datetime", "year"}
NAME = re.compile(r"^[a-z0-9._-]+$")


def test_datapackage_describes_every_published_period(web):
    package = web.get("/data/datapackage.json").json
    # The shape a Frictionless Data Package (tabular) needs.
    assert NAME.match(package["name"]) and package["title"]
    assert package["profile"] == "tabular-data-package"
    assert [lic["name"] for lic in package["licenses"]] == ["CC-BY-4.0"]
    assert all(lic.get("path", "").startswith("https://") for lic in package["licenses"])
    resources = package["resources"]
    assert sorted(r["period"] for r in resources) == sorted(["2025", *QUARTERS])
    names = [r["name"] for r in resources]
    assert names
    assert len(set(names)) == len(names) and all(NAME.match(n) for n in names)
    for resource in resources:
        assert resource["profile"] == "tabular-data-resource" and resource["format"] == "csv"
        assert not resource["path"].startswith("/") and ".." not in resource["path"], "relative POSIX path"
        fields = resource["schema"]["fields"]
        assert fields
        assert all(f["name"] and f["type"] in FRICTIONLESS_TYPES and f["description"] for f in fields)
        assert {f["name"] for f in fields if f["name"] in ("estimate", "ci_low", "ci_high")} == {
            "estimate",
            "ci_low",
            "ci_high",
        }
        assert all(f.get("unit") for f in fields if f["name"] in ("estimate", "ci_low", "ci_high", "n"))
        assert set(resource["schema"]["primaryKey"]) <= {f["name"] for f in fields}
        # The path resolves next to datapackage.json, and the file's header is the schema.
        download = web.get("/data/" + resource["path"])
        assert download.status_code == 200
        header = download.get_data().decode("utf-8-sig").splitlines()[0].split(",")
        assert header == [f["name"] for f in fields]
        rows = read_csv(download)
        assert {r["revision"] for r in rows} == {str(resource["revision"])}
        check_rows_against_schema(rows, fields)


def check_rows_against_schema(rows: list[dict], fields: list[dict]) -> None:
    """Each value casts to its field's type and respects its constraints (what frictionless validate checks)."""
    assert rows and fields
    for row in rows:
        for field in fields:
            value = row[field["name"]]
            constraints = field.get("constraints", {})
            if value == "":
                assert not constraints.get("required"), (field["name"], row)
                continue
            if field["type"] == "integer":
                int(value)
            elif field["type"] == "number":
                number = float(value)
                if "minimum" in constraints:
                    assert constraints["minimum"] <= number <= constraints["maximum"], (field["name"], value)
            elif field["type"] == "boolean":
                assert value in ("true", "false")
            if "enum" in constraints:
                assert value in constraints["enum"]
