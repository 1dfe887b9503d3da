"""The OpenAPI description of ``POST /api/v1/dossiers`` and ``/dossiers/batch`` (merged into ``public/openapi.py``).

The request schema comes from :mod:`webapp.integrations.schema`, the rules the server applies, so
the document accepts exactly what the server accepts (data-dependent refusals are listed as 403/409/422).
"""

from __future__ import annotations

from typing import Any

from webapp.integrations.schema import MAX_DOSSIERS_PER_BATCH, dossier_schema

SECURITY_SCHEME = "oneStopToken"

DOSSIER_LINK = {
    "type": "object",
    "additionalProperties": False,
    "required": ["survey_url", "code", "expires_on"],
    "properties": {
        "survey_url": {
            "type": "string",
            "format": "uri",
            "description": "The dossier's single-use survey link: send it to the citizen (or print it as a QR code).",
        },
        "code": {
            "type": "string",
            "pattern": "^[0-9A-Z]{4}(-[0-9A-Z]{4}){3}$",
            "description": "The same link as a code to type at /r (groups of four).",
        },
        "expires_on": {"type": "string", "format": "date", "description": "Last day (Việt Nam) the link can be used."},
    },
}

DOSSIER_RESULT = {
    "type": "object",
    "required": ["index", "status"],
    "description": "One dossier of a batch: its HTTP status and the body a single call would have answered.",
    "properties": {
        "index": {"type": "integer", "minimum": 0},
        "status": {"type": "integer", "enum": [200, 201, 403, 409, 422]},
        **DOSSIER_LINK["properties"],
        "error": {"type": "object"},
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}

EXAMPLE = {
    "dossier_number": "000.00.12.H52-261207-0001",
    "unit": "sl-ttpvhcc",
    "service": "land",
    "returned_at": "2026-12-07T09:30:00+07:00",
    "respondent_type": "citizen",
    "contact": {"phone": "0912 345 678"},
    "deliver": ["sms"],
}
LINK_EXAMPLE = {
    "survey_url": "https://chiso.sonla.gov.vn/r/7K2MQ9XD4TBN8W3R",
    "code": "7K2M-Q9XD-4TBN-8W3R",
    "expires_on": "2027-02-05",
}


def _json(schema: dict[str, Any], example: Any | None = None) -> dict[str, Any]:
    content: dict[str, Any] = {"schema": schema}
    if example is not None:
        content["example"] = example
    return {"content": {"application/json": content}}


def dossier_paths() -> dict[str, Any]:
    error = _json({"$ref": "#/components/schemas/Error"})
    challenge = {"WWW-Authenticate": {"schema": {"type": "string"}, "description": 'Bearer realm="sonla-index"'}}
    common = {
        "400": {"description": "The body is not valid JSON", **error},
        "401": {"description": "No bearer token, or an unknown or revoked one", "headers": challenge, **error},
        "413": {"description": "Body too large", **error},
        "415": {"description": "Not application/json", **error},
        "429": {"description": "Too many requests from this client", **error},
    }
    link = {"$ref": "#/components/schemas/DossierLink"}
    security = [{SECURITY_SCHEME: []}]
    return {
        "/dossiers": {
            "post": {
                "summary": "A survey link for one returned dossier (idempotent on unit and dossier number)",
                "description": "For the provincial one-stop system, with the token printed by `flask --app webapp "
                "integrations create`. A new dossier answers 201; the same dossier number of the same unit answers "
                "200 with the same link and sends nothing again. With `contact` and `deliver` the link is sent to "
                "the citizen once; the contact and the dossier number are never stored.",
                "security": security,
                "requestBody": {"required": True, **_json({"$ref": "#/components/schemas/DossierBody"}, EXAMPLE)},
                "responses": {
                    "201": {"description": "A new link", **_json(link, LINK_EXAMPLE)},
                    "200": {
                        "description": "The dossier was reported before: the same link",
                        **_json(link, LINK_EXAMPLE),
                    },
                    **common,
                    "403": {"description": "The unit is outside the client's scope", **error},
                    "409": {"description": "The dossier number already has a link for another service", **error},
                    "422": {
                        "description": "An invalid field (named in `error.field`), an unknown unit or service, a "
                        "service the unit does not offer today, a date in the future, or a `deliver` channel "
                        "without its contact; nothing stored",
                        **error,
                    },
                },
            }
        },
        "/dossiers/batch": {
            "post": {
                "summary": f"Up to {MAX_DOSSIERS_PER_BATCH} dossiers in one call (nightly synchronisation)",
                "description": "Each item is a DossierBody and gets its own result, in order, with the status and "
                "body a single call would answer; an invalid item never blocks the others.",
                "security": security,
                "requestBody": {
                    "required": True,
                    **_json(
                        {
                            "type": "object",
                            "additionalProperties": False,
                            "required": ["dossiers"],
                            "properties": {
                                "dossiers": {
                                    "type": "array",
                                    "maxItems": MAX_DOSSIERS_PER_BATCH,
                                    "items": {
                                        "description": "A DossierBody (an invalid one is answered in its result)."
                                    },
                                }
                            },
                        },
                        {"dossiers": [EXAMPLE]},
                    ),
                },
                "responses": {
                    "200": {
                        "description": "One result per dossier",
                        **_json(
                            {
                                "type": "object",
                                "required": ["results"],
                                "additionalProperties": False,
                                "properties": {
                                    "results": {
                                        "type": "array",
                                        "items": {"$ref": "#/components/schemas/DossierResult"},
                                    }
                                },
                            },
                            {"results": [{"index": 0, "status": 201, **LINK_EXAMPLE}]},
                        ),
                    },
                    **common,
                    "422": {
                        "description": f"`dossiers` is missing, not a list, or longer than {MAX_DOSSIERS_PER_BATCH}",
                        **error,
                    },
                },
            }
        },
    }


def dossier_schemas() -> dict[str, Any]:
    return {"DossierBody": dossier_schema(), "DossierLink": DOSSIER_LINK, "DossierResult": DOSSIER_RESULT}


def security_schemes() -> dict[str, Any]:
    return {
        SECURITY_SCHEME: {
            "type": "http",
            "scheme": "bearer",
            "description": "The secret token of an integration client (`flask --app webapp integrations create --name "
            "NAME --unit CODE`, or the admin page /admin/integrations). It acts for its unit and every unit below it.",
        }
    }
