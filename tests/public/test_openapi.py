"""The OpenAPI document is valid 3.1 and matches what the API answers."""

from __future__ import annotations

import jsonschema
from openapi_spec_validator import validate


def test_openapi_document_is_valid_openapi_3_1(client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_unit_list_matches_its_schema(client, registry):
    document = client.get("/api/v1/openapi.json").json
    unit_schema = document["components"]["schemas"]["Unit"]
    units = client.get("/api/v1/units").json["units"]
    for unit in units[:50]:
        jsonschema.validate(unit, unit_schema)


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/v1/openapi.json").json
    documented = {"/api/v1" + path.replace("{", "<").replace("}", ">") for path in document["paths"]}
    routes = {
        rule.rule
        for rule in app.url_map.iter_rules()
        if rule.rule.startswith("/api/v1") and rule.rule != "/api/v1/openapi.json"
    }
    assert routes <= documented, routes - documented


def test_get_answers_are_open_and_revalidate_with_etag(client, registry):
    first = client.get("/api/v1/units?kind=district")
    assert first.status_code == 200
    assert first.headers["Access-Control-Allow-Origin"] == "*"
    etag = first.headers["ETag"]
    again = client.get("/api/v1/units?kind=district", headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.get_data() == b""
    other = client.get("/api/v1/units?kind=province", headers={"If-None-Match": etag})
    assert other.status_code == 200


def test_errors_are_not_cached_as_open_data(client):
    response = client.get("/api/v1/units?kind=planet")
    assert response.status_code == 400
    assert "ETag" not in response.headers
