"""List answers of /api/v1 come in pages (limit, page, next/prev, Link) and revalidate by date too."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import jsonschema
import pytest
from openapi_spec_validator import validate

NOW = datetime(2026, 11, 28, 3, 0, tzinfo=UTC)
SEPTEMBER = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)


@pytest.fixture()
def loaded(client, registry):
    return client


def test_units_come_in_pages_that_add_up_to_the_whole_list(loaded):
    client = loaded
    whole = client.get("/api/v1/units").json
    assert whole["count"] == len(whole["units"]) > 300, "the default page holds the whole registry"
    assert whole["page"] == 1 and whole["limit"] == 500 and whole["next"] is None and whole["prev"] is None
    codes, url, pages = [], "/api/v1/units?limit=100", 0
    while url:
        response = client.get(url)
        assert response.status_code == 200
        document = response.json
        assert len(document["units"]) <= 100 and document["count"] == whole["count"]
        codes += [u["code"] for u in document["units"]]
        url = document["next"]
        if url:
            assert response.headers["Link"].startswith(f"<{url}>; " + 'rel="next"')
        pages += 1
    assert pages == -(-whole["count"] // 100)
    assert codes == [u["code"] for u in whole["units"]], "every unit once, in the same order"


def test_next_and_prev_keep_the_filters(loaded):
    document = loaded.get("/api/v1/units?kind=commune&limit=20&page=2").json
    assert "kind=commune" in document["next"] and "page=3" in document["next"] and "limit=20" in document["next"]
    assert "page=1" in document["prev"]
    response = loaded.get("/api/v1/units?kind=commune&limit=20&page=2")
    assert 'rel="prev"' in response.headers["Link"] and 'rel="next"' in response.headers["Link"]
    beyond = loaded.get("/api/v1/units?kind=commune&limit=20&page=999").json
    assert beyond["units"] == [] and beyond["next"] is None and beyond["prev"] is not None


@pytest.mark.parametrize("query", ["limit=0", "limit=5001", "limit=ten", "page=0", "page=-1", "page=1.5"])
def test_a_bad_page_or_limit_is_a_400_in_the_requesters_language(loaded, query):
    en = loaded.get(f"/api/v1/units?{query}&lang=en")
    assert en.status_code == 400
    error = en.json["error"]
    assert error["field"] in ("limit", "page") and "whole number" in error["message"]
    vi = loaded.get(f"/api/v1/estimates?{query}&lang=vi")
    assert vi.status_code == 400 and vi.json["error"]["field"] == error["field"]


def test_registry_answers_revalidate_by_date(loaded):
    first = loaded.get("/api/v1/units?kind=district")
    modified = first.headers["Last-Modified"]
    assert modified and first.headers["ETag"]
    assert loaded.get("/api/v1/units?kind=district", headers={"If-Modified-Since": modified}).status_code == 304
    old = format_datetime(datetime(2020, 1, 1, tzinfo=UTC), usegmt=True)
    assert loaded.get("/api/v1/units?kind=district", headers={"If-Modified-Since": old}).status_code == 200
    assert loaded.get("/api/v1/units/sl").headers["Last-Modified"] == modified
    assert loaded.get("/api/v1/indicators").headers["Last-Modified"] == modified


def test_estimates_come_in_pages_and_carry_the_publication_date(app, client, db, make_device, rate):
    from webapp.publishing.publish import publish_period

    device, _ = make_device("sl-ttpvhcc")
    rate("sl-ttpvhcc", "land", overall=5, count=40, start=SEPTEMBER, device=device)
    publish_period("2026-Q3", now=NOW)
    db.session.commit()
    whole = client.get("/api/v1/estimates?period=2026-Q3&aspects=1").json
    assert whole["count"] == len(whole["estimates"]) >= 3
    rows, url = [], "/api/v1/estimates?period=2026-Q3&aspects=1&limit=2"
    while url:
        document = client.get(url).json
        assert len(document["estimates"]) <= 2 and document["period"] == "2026-Q3" and document["revision"] == 1
        rows += document["estimates"]
        url = document["next"]
    assert rows == whole["estimates"]
    response = client.get("/api/v1/estimates?period=2026-Q3")
    assert response.last_modified == NOW, "the publication time"
    again = client.get(
        "/api/v1/estimates?period=2026-Q3", headers={"If-Modified-Since": response.headers["Last-Modified"]}
    )
    assert again.status_code == 304 and again.get_data() == b""
    spec = client.get("/api/v1/openapi.json").json
    schema = spec["paths"]["/estimates"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    jsonschema.validate(whole, {**schema, "components": spec["components"]})


def test_paged_answers_match_the_openapi_document(loaded):
    document = loaded.get("/api/v1/openapi.json").json
    validate(document)
    spec = document["paths"]["/units"]["get"]
    assert {"page", "limit"} <= {p["name"] for p in spec["parameters"]}
    assert {"Link", "Last-Modified", "ETag"} <= set(spec["responses"]["200"]["headers"])
    assert "304" in spec["responses"]
    schema = spec["responses"]["200"]["content"]["application/json"]["schema"]
    resolver_schema = {**schema, "components": document["components"]}
    answer = loaded.get("/api/v1/units?limit=3&page=2").json
    jsonschema.validate(answer, resolver_schema)
    for name in ("count", "page", "limit", "next", "prev"):
        assert name in schema["required"]
