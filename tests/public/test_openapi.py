"""The OpenAPI document is valid 3.1 and matches what the API answers."""

from __future__ import annotations

import jsonschema
from openapi_spec_validator import validate


def test_openapi_document_is_valid_openapi_3_1(client):
    document = client.get("/api/v1/openapi.json").json
    validate(document)
    assert document["openapi"].startswith("3.1")


def test_unit_list_matches_its_schema(client, runner):
    runner.invoke(args=["registry", "load"])
    document = client.get("/api/v1/openapi.json").json
    unit_schema = document["components"]["schemas"]["Unit"]
    units = client.get("/api/v1/units").json["units"]
    for unit in units[:50]:
        jsonschema.validate(unit, unit_schema)


def test_every_api_route_is_documented(app, client):
    document = client.get("/api/v1/openapi.json").json
    documented = {"/api/v1" + path.replace("{", "<").replace("}", ">") for path in document["paths"]}
    routes = {rule.rule for rule in app.url_map.iter_rules() if rule.rule.startswith("/api/v1") and rule.rule != "/api/v1/openapi.json"}
    assert routes <= documented, routes - documented
