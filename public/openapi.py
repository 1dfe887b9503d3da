"""The OpenAPI 3.1 description of ``/api/v1`` (served at ``/api/v1/openapi.json``)."""

from __future__ import annotations

from typing import Any

from public.readers import ESTIMATE_FIELDS
from surveys.batch import BATCH_RATE_LIMIT, MAX_BATCH_BYTES
from surveys.batch import MAX_ITEMS as MAX_BATCH_ITEMS
from surveys.definitions import METHODS
from webapp.integrations.openapi_doc import dossier_paths, dossier_schemas, security_schemes
from webapp.models import RESPONDENT_TYPES, UNIT_KINDS
from webapp.models.indicators import COMPARISONS, INDICATOR_KINDS
from webapp.models.publishing import DOMAIN_TYPES

ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["status", "message"],
            "properties": {
                "status": {"type": "integer"},
                "field": {"type": ["string", "null"], "description": "The field at fault, e.g. `answers.overall`."},
                "code": {"type": "string", "description": "A stable key such as `invalid_choice`."},
                "message": {"type": "string", "description": "What to do, in the requester's language."},
                "title": {"type": "string"},
            },
        },
        "errors": {"type": "array", "items": {"type": "object"}},
    },
}

UNIT = {
    "type": "object",
    "required": ["code", "name_vi", "name_en", "kind", "sector", "parent", "valid_from", "valid_to"],
    "properties": {
        "code": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,39}$"},
        "name_vi": {"type": "string"},
        "name_en": {"type": "string"},
        "kind": {"type": "string", "enum": list(UNIT_KINDS)},
        "sector": {"type": "string", "enum": ["admin", "health", "education"]},
        "parent": {"type": ["string", "null"]},
        "valid_from": {"type": "string", "format": "date"},
        "valid_to": {
            "type": ["string", "null"],
            "format": "date",
            "description": "Last day; null while the unit exists.",
        },
        "gso_code": {
            "type": ["string", "null"],
            "description": "Administrative unit code (mã đơn vị hành chính, Mã ĐVHC), where the unit has one.",
        },
        "illustrative": {"type": "boolean", "description": "True for rows made up for the demonstration."},
    },
}

ESTIMATE = {
    "type": "object",
    # Every field of a published estimate (the optional secondary figures are not required).
    "required": list(ESTIMATE_FIELDS),
    "properties": {
        "indicator": {"type": "string"},
        "metric": {
            "type": "string",
            "description": "The indicator, or `<indicator>/aspect:<code>`, `/item:<code>` (one detailed criterion "
            "asked of a random part of respondents; n counts those who rated it), `/item-level`, `/all-items` "
            "(the health sector's item-level rate is the indicator `health-item-level`).",
        },
        "period": {"type": "string"},
        "domain_type": {"type": "string", "enum": list(DOMAIN_TYPES)},
        "domain": {"type": "string", "description": "`sl` for the province; a unit, service, channel… code."},
        "n": {"type": "integer", "minimum": 10},
        "estimate": {"type": ["number", "null"]},
        "se": {"type": ["number", "null"]},
        "ci_low": {"type": ["number", "null"]},
        "ci_high": {"type": ["number", "null"]},
        "ci_method": {"type": "string"},
        "n_eff": {
            "type": ["number", "null"],
            "description": "Effective sample size used for the interval, the n ≥ 30 rule and the funnel: "
            "min(p(1−p)/v, Kish's (Σw)²/Σw²).",
        },
        "deff": {"type": ["number", "null"]},
        "target": {"type": ["number", "null"]},
        "status": {
            "type": "string",
            "enum": ["met", "below", "inconclusive", "insufficient", "no_target"],
            "description": "Against the target in force; `no_target` for a figure that has none (an index, a mean score, a share of facts).",
        },
        "revision": {"type": "integer"},
        "scale": {
            "type": "string",
            "enum": ["share", "score"],
            "description": "`share`: a proportion 0–1; `score`: a mean score 1–5 (e.g. `health-mean-score`), "
            "its estimate, se and interval on that scale.",
        },
    },
}

RESPONSE_BODY = {
    "type": "object",
    "additionalProperties": False,
    "required": ["client_id", "instrument", "unit", "service", "answers"],
    "properties": {
        "client_id": {"type": "string", "format": "uuid", "description": "Made by the client; the idempotency key."},
        "instrument": {"type": "string", "examples": ["counter-quick"]},
        "instrument_version": {"type": "integer", "minimum": 1, "description": "Default: the active version."},
        "unit": {"type": "string", "examples": ["sl-ttpvhcc"]},
        "service": {"type": "string", "examples": ["land"]},
        "channel": {
            "type": "string",
            "enum": ["kiosk"],
            "description": "Only kiosks use this endpoint; the server records `kiosk`.",
        },
        "answers": {
            "type": "object",
            "description": "Item code → value. `counter-quick` (version 2, five faces): `overall` 1 Rất không hài "
            "lòng (very dissatisfied), 2 Không hài lòng (dissatisfied), 3 Bình thường (neutral), 4 Hài lòng "
            "(satisfied), 5 Rất hài lòng (very satisfied); 4 and 5 count as satisfied. Any other value is refused "
            "(422). Version 1 (three faces: 1 not satisfied, 2 satisfied, 3 very satisfied) is accepted only with "
            "`instrument_version: 1`, and its ratings form their own series.",
            "properties": {
                "overall": {
                    "type": "integer",
                    "minimum": 1,
                    "maximum": 5,
                    "description": "The counter quick rating: 1 Rất không hài lòng, 2 Không hài lòng, 3 Bình thường, "
                    "4 Hài lòng, 5 Rất hài lòng.",
                },
            },
            "additionalProperties": {"type": ["integer", "string", "array"]},
        },
        "reasons": {
            "type": "array",
            "maxItems": 20,
            "items": {"type": "string"},
            "description": "Kiosk chips: on_time, clear_guidance, staff_attitude, single_trip, fees_as_published, no_improper_requests.",
        },
        "answered_at": {
            "type": "string",
            "format": "date-time",
            "description": "When a rating queued offline was given, with its UTC offset; default: now. A time before the "
            "kiosk's last contact with the server is stored flagged (`backdated`) and not counted.",
        },
        "duration_seconds": {"type": "integer", "minimum": 0, "maximum": 86400},
        "respondent_type": {"type": "string", "enum": list(RESPONDENT_TYPES)},
        "read_aloud": {
            "type": "boolean",
            "default": False,
            "description": "`true` when the respondent used a listen (Nghe) button: the response is stored with mode "
            "`read_aloud`, else `self`. The client never sets the mode itself.",
        },
        "language": {
            "type": "string",
            "minLength": 1,
            "maxLength": 12,
            "examples": ["vi", "en"],
            "description": "The language the kiosk showed the question in: `vi` (default), `en` or an installed "
            "language pack's code; any other value is refused (422).",
        },
    },
}

RESPONSE_BATCH = {
    "type": "object",
    "additionalProperties": False,
    "required": ["responses"],
    "properties": {
        "responses": {
            "type": "array",
            "maxItems": MAX_BATCH_ITEMS,
            "items": {"description": "A ResponseBody; an invalid one is answered in its own result (422)."},
        }
    },
}

RESPONSE_RESULT = {
    "type": "object",
    "required": ["index", "status"],
    "description": "One item of a batch: its HTTP status, and the id or the error a single call would have answered.",
    "properties": {
        "index": {"type": "integer", "minimum": 0, "maximum": MAX_BATCH_ITEMS - 1},
        "status": {"type": "integer", "enum": [200, 201, 409, 422]},
        "id": {"type": "integer", "description": "201: the new response; 200: the one stored before."},
        "error": ERROR["properties"]["error"],
        "errors": ERROR["properties"]["errors"],
    },
}

#: ``?page=`` and ``?limit=`` of list answers (see ``public.api``).
PAGING_PARAMETERS = [
    {
        "name": "page",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "default": 1},
        "description": "Which page of the list, from 1.",
    },
    {
        "name": "limit",
        "in": "query",
        "schema": {"type": "integer", "minimum": 1, "maximum": 5000, "default": 500},
        "description": "Rows per page.",
    },
]
#: The paging keys every list answer carries beside its list.
TEXT = {
    "type": "object",
    "additionalProperties": False,
    "required": ["vi", "en"],
    "properties": {"vi": {"type": "string"}, "en": {"type": "string"}},
}

INDICATOR_TARGET = {
    "type": "object",
    "description": "A milestone: the indicator should be above (`gt`) or at least (`ge`) `value` in `year`.",
    "additionalProperties": False,
    "required": ["year", "value", "comparison", "source", "source_vi", "source_en"],
    "properties": {
        "year": {"type": "integer", "minimum": 2000, "maximum": 2100},
        "value": {"type": "number", "minimum": 0, "maximum": 1, "description": "A share (0.9 is 90%)."},
        "comparison": {"type": "string", "enum": list(COMPARISONS)},
        "source": {
            **TEXT,
            "description": "The document and section the milestone comes from (Decision 210/QĐ-UBND, Resolution "
            "76/NQ-CP), in Vietnamese and English.",
        },
        "source_vi": {"type": ["string", "null"], "description": "Same as `source.vi` (kept for existing clients)."},
        "source_en": {"type": ["string", "null"], "description": "Same as `source.en` (kept for existing clients)."},
    },
}

INDICATOR = {
    "type": "object",
    "additionalProperties": False,
    "required": [
        "code",
        "name_vi",
        "name_en",
        "description_vi",
        "description_en",
        "kind",
        "method",
        "sector",
        "plan_section",
        "subset_of",
        "min_n",
        "min_n_show",
        "targets",
    ],
    "properties": {
        "code": {"type": "string"},
        "name_vi": {"type": "string"},
        "name_en": {"type": "string"},
        "description_vi": {"type": ["string", "null"]},
        "description_en": {"type": ["string", "null"]},
        "kind": {"type": "string", "enum": list(INDICATOR_KINDS)},
        "method": {
            "type": "string",
            "enum": list(METHODS),
            "description": "The official method it follows: `sipas` (Ministry of Home Affairs), `moh` (Ministry of "
            "Health), `moe` (Ministry of Education and Training), `province` (the province's own plan).",
        },
        "sector": {"type": ["string", "null"], "enum": ["admin", "health", "education", None]},
        "plan_section": {
            "type": ["string", "null"],
            "description": "Section of the plan of Decision 210/QĐ-UBND it measures, e.g. `II.2.3`.",
        },
        "subset_of": {
            "type": ["object", "null"],
            "description": "For a sub-indicator: the indicator whose answers it counts, limited to these services.",
            "additionalProperties": False,
            "required": ["indicator", "services"],
            "properties": {"indicator": {"type": "string"}, "services": {"type": "array", "items": {"type": "string"}}},
        },
        "min_n": {"type": "integer", "minimum": 1},
        "min_n_show": {"type": "integer", "minimum": 1},
        "targets": {"type": "array", "items": {"$ref": "#/components/schemas/IndicatorTarget"}},
    },
}

PAGING_PROPERTIES = {
    "count": {"type": "integer", "minimum": 0, "description": "Rows that match, on every page."},
    "page": {"type": "integer", "minimum": 1},
    "limit": {"type": "integer", "minimum": 1, "maximum": 5000},
    "next": {"type": ["string", "null"], "description": "URL of the next page; null on the last one."},
    "prev": {"type": ["string", "null"], "description": "URL of the previous page; null on the first one."},
}
#: Caching headers of every GET answer.
CACHING_HEADERS = {
    "ETag": {"schema": {"type": "string"}, "description": "Send it back in If-None-Match to get 304 when unchanged."},
    "Last-Modified": {
        "schema": {"type": "string"},
        "description": "The publication, or the last change of the registry; send it back in "
        "If-Modified-Since to get 304 when unchanged.",
    },
}
LIST_HEADERS = {
    **CACHING_HEADERS,
    "Link": {
        "schema": {"type": "string"},
        "description": 'RFC 8288 links to the neighbouring pages, e.g. `</api/v1/units?page=2>; rel="next"`.',
    },
}
NOT_MODIFIED = {"304": {"description": "Not modified since the ETag or date the client sent"}}


def openapi_document() -> dict[str, Any]:
    """The API description; kept beside the code it describes and tested against it."""
    json_error = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Sơn La Satisfaction Index API",
            "version": "1",
            "description": "Open data of the Sơn La Satisfaction Index (read-only), and the submission endpoint of "
            "counter kiosks and the web survey. Errors are in the requester's language (`?lang=vi|en` or "
            "Accept-Language).",
            "license": {"name": "CC BY 4.0 (data)", "url": "https://creativecommons.org/licenses/by/4.0/"},
        },
        "servers": [{"url": "/api/v1"}],
        "paths": {
            "/units": {
                "get": {
                    "summary": "The registry of units (open data)",
                    "parameters": [
                        {"name": "kind", "in": "query", "schema": {"type": "string", "enum": list(UNIT_KINDS)}},
                        {
                            "name": "valid_on",
                            "in": "query",
                            "schema": {"type": "string", "format": "date"},
                            "description": "Only units that existed on this day.",
                        },
                        *PAGING_PARAMETERS,
                    ],
                    "responses": {
                        "200": {
                            "description": "Units, one page",
                            "headers": LIST_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["units", "count", "page", "limit", "next", "prev"],
                                        "properties": {
                                            "units": {"type": "array", "items": {"$ref": "#/components/schemas/Unit"}},
                                            **PAGING_PROPERTIES,
                                        },
                                    }
                                }
                            },
                        },
                        **NOT_MODIFIED,
                        "400": {"description": "A bad filter or page", **json_error},
                    },
                }
            },
            "/units/{code}": {
                "get": {
                    "summary": "One unit with the services it offers and its 2025 successors or predecessors",
                    "parameters": [{"name": "code", "in": "path", "required": True, "schema": {"type": "string"}}],
                    "responses": {
                        "200": {
                            "description": "The unit",
                            "headers": CACHING_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "allOf": [
                                            {"$ref": "#/components/schemas/Unit"},
                                            {
                                                "type": "object",
                                                "properties": {
                                                    "services": {"type": "array", "items": {"type": "object"}},
                                                    "children": {"type": "array", "items": {"type": "string"}},
                                                    "successors": {"type": "array", "items": {"type": "string"}},
                                                    "predecessors": {"type": "array", "items": {"type": "string"}},
                                                },
                                            },
                                        ]
                                    }
                                }
                            },
                        },
                        **NOT_MODIFIED,
                        "404": {"description": "No such unit", **json_error},
                    },
                }
            },
            "/indicators": {
                "get": {
                    "summary": "The indicators, the official method each follows, and their targets by year with sources",
                    "responses": {
                        **NOT_MODIFIED,
                        "200": {
                            "description": "Indicators",
                            "headers": CACHING_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["indicators"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "indicators": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Indicator"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                    },
                }
            },
            "/estimates": {
                "get": {
                    "summary": "Published estimates of a period (its latest revision)",
                    "description": "Only published snapshots are read. Cells with fewer than 10 responses are never "
                    "included; cells with fewer than 30 (or an effective size under 30) carry `n` and status "
                    "`insufficient` with `estimate`, `se` and the interval null.",
                    "parameters": [
                        {
                            "name": "indicator",
                            "in": "query",
                            "schema": {"type": "string"},
                            "examples": {"agencies": {"value": "sat-agencies"}},
                        },
                        {
                            "name": "period",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "2026-Q3, 2026-H1 or 2026; default: the latest published.",
                        },
                        {
                            "name": "unit",
                            "in": "query",
                            "schema": {"type": "string"},
                            "description": "Only this unit's row.",
                        },
                        {
                            "name": "domain_type",
                            "in": "query",
                            "schema": {"type": "string", "enum": list(DOMAIN_TYPES)},
                        },
                        {
                            "name": "aspects",
                            "in": "query",
                            "schema": {"type": "string", "enum": ["1", "true"]},
                            "description": "Also the aspect, item-level and all-items rates (metrics with a '/').",
                        },
                        *PAGING_PARAMETERS,
                    ],
                    "responses": {
                        "200": {
                            "description": "Estimates, one page",
                            "headers": LIST_HEADERS,
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["estimates", "count", "page", "limit", "next", "prev"],
                                        "properties": {
                                            "estimates": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Estimate"},
                                            },
                                            "period": {"type": ["string", "null"]},
                                            "revision": {"type": ["integer", "null"]},
                                            "published_at": {"type": "string", "format": "date-time"},
                                            "methodology_version": {"type": "string"},
                                            **PAGING_PROPERTIES,
                                        },
                                    }
                                }
                            },
                        },
                        **NOT_MODIFIED,
                        "400": {"description": "A bad parameter", **json_error},
                    },
                }
            },
            "/responses": {
                "post": {
                    "summary": "Submit one response (idempotent on client_id)",
                    "description": "Counter kiosks only: the kiosk sends its `X-Device-Key` (online and QR ratings use the "
                    "survey pages, paper forms the import). The same `client_id` again stores nothing and answers 200 "
                    "with the first id.",
                    "parameters": [
                        {"name": "X-Device-Key", "in": "header", "required": True, "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ResponseBody"}}},
                    },
                    "responses": {
                        "201": {
                            "description": "Stored",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["id", "status"],
                                        "properties": {"id": {"type": "integer"}, "status": {"const": "stored"}},
                                    }
                                }
                            },
                        },
                        "200": {
                            "description": "Already stored (a retry)",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["id", "status"],
                                        "properties": {"id": {"type": "integer"}, "status": {"const": "duplicate"}},
                                    }
                                }
                            },
                        },
                        "400": {"description": "Not JSON", **json_error},
                        "401": {"description": "No device key", **json_error},
                        "403": {"description": "Unknown, revoked or not yet approved device key", **json_error},
                        "413": {"description": "Body larger than 64 KB", **json_error},
                        "415": {"description": "Not application/json", **json_error},
                        "422": {"description": "Invalid field(s); nothing stored", **json_error},
                        "429": {"description": "Too many requests", **json_error},
                    },
                }
            },
            "/responses/batch": {
                "post": {
                    "summary": f"Submit up to {MAX_BATCH_ITEMS} responses in one call (a kiosk draining its offline queue)",
                    "description": "Counter kiosks only, with their `X-Device-Key`. Each item is a ResponseBody and is "
                    "checked exactly as `POST /responses` checks it; the valid ones are stored in one transaction. The "
                    "answer is 200 with one result per item, in order: 201 stored, 200 already stored (the same "
                    "`client_id` sent before, or earlier in this batch: the first id), or the 4xx and error a single "
                    "call would answer (an invalid item never blocks the others). Every item counts against the "
                    f"device's limit of {BATCH_RATE_LIMIT.replace('/', ' ratings a ')}.",
                    "parameters": [
                        {"name": "X-Device-Key", "in": "header", "required": True, "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ResponseBatch"}}},
                    },
                    "responses": {
                        "200": {
                            "description": "One result per item, in order",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["results"],
                                        "additionalProperties": False,
                                        "properties": {
                                            "results": {
                                                "type": "array",
                                                "maxItems": MAX_BATCH_ITEMS,
                                                "items": {"$ref": "#/components/schemas/ResponseResult"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "400": {
                            "description": f"Not JSON, `responses` missing, not a list or with more than "
                            f"{MAX_BATCH_ITEMS} items, or another field; nothing stored",
                            **json_error,
                        },
                        "401": {"description": "No device key", **json_error},
                        "403": {"description": "Unknown, revoked or not yet approved device key", **json_error},
                        "413": {
                            "description": f"A body larger than {MAX_BATCH_BYTES // (1024 * 1024)} MB; nothing stored",
                            **json_error,
                        },
                        "415": {"description": "Not application/json", **json_error},
                        "429": {"description": "Too many ratings from this device; nothing stored", **json_error},
                    },
                }
            },
            **dossier_paths(),  # the one-stop system (webapp/integrations)
        },
        "components": {
            "schemas": {
                "Error": ERROR,
                "Unit": UNIT,
                "ResponseBody": RESPONSE_BODY,
                "ResponseBatch": RESPONSE_BATCH,
                "ResponseResult": RESPONSE_RESULT,
                "Estimate": ESTIMATE,
                "Indicator": INDICATOR,
                "IndicatorTarget": INDICATOR_TARGET,
                **dossier_schemas(),
            },
            "securitySchemes": security_schemes(),
        },
    }
