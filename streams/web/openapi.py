"""The HTTP API described: the OpenAPI 3 document served at `/openapi.json` by every worker
(streams/web/health.py) and, for the lookups it answers, by every lookup replica. The console's
pages and the send services use this API; tests/e2e/test_openapi.py checks the running service
against it."""

from __future__ import annotations

from typing import Any

__all__ = ["REPLICA_PATHS", "openapi_document"]

E164 = {"type": "string", "pattern": r"^\+[1-9][0-9]{6,14}$", "example": "+12125550100"}
ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {"error": {"type": "string"}, "problems": {"type": "array"}},
}
TIME = {"type": ["string", "null"], "description": "ISO 8601, UTC"}
NULLABLE_TEXT = {"type": ["string", "null"]}
LOOKUP_ANSWER = {
    "type": "object",
    "required": ["number", "sender", "blocked", "scope"],
    "properties": {
        "number": {"type": "string"},
        "sender": {"type": "string"},
        "blocked": {"type": "boolean"},
        "scope": {"type": "string", "description": "number:<E.164>, brand:<id> or campaign:<id>"},
        "since": TIME,
        "since_ms": {"type": ["integer", "null"]},
        "texted": NULLABLE_TEXT,
        "keyword": NULLABLE_TEXT,
        "message_id": NULLABLE_TEXT,
        "source": NULLABLE_TEXT,
        "reason": NULLABLE_TEXT,
        "opt_in": {"type": ["object", "null"], "description": "the recorded opt-in relied on"},
    },
}
OBJECT = {"type": "object"}
REASON_BODY = {
    "type": "object",
    "required": ["reason"],
    "properties": {"reason": {"type": "string", "minLength": 1}, "scope": {"type": "string"}},
}
ADMIN: list[dict] = [{"bearer": []}]
LOOKUP: list[dict] = [{}, {"bearer": []}]  # open unless OPTOUT_LOOKUPS_NEED_TOKEN


def _json(schema: dict, description: str = "OK") -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _errors(*statuses: int) -> dict[str, dict]:
    reasons = {
        400: "The request is malformed; `error` says how",
        401: "No valid bearer token (or management over HTTP is off)",
        404: "Not found",
        409: "In conflict with the current state; `error` says why",
        413: "The body is too large",
        422: "Refused by the rules; `problems` lists why",
        503: "A partition is moving between workers, or the worker is starting: try again",
    }
    return {str(s): _json(ERROR, reasons[s]) for s in statuses}


def _in_path(name: str, schema: dict) -> dict:
    return {"name": name, "in": "path", "required": True, "schema": schema}


def _number(name: str = "number") -> dict:
    return _in_path(name, E164)


def _settings_put(summary: str) -> dict:
    return _operation(
        summary,
        {"200": _json(OBJECT), **_errors(400, 401, 413, 422)},
        ADMIN,
        requestBody=_body(OBJECT),
    )


def _operation(summary: str, responses: dict, security: list, **more: Any) -> dict:
    return {"summary": summary, "responses": responses, "security": security, **more}


def _body(schema: dict) -> dict:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def _file_body(line: dict) -> dict:
    return {
        "type": "object",
        "required": ["file", "lines"],
        "properties": {
            "file": {"type": "string", "minLength": 1},
            "lines": {"type": "array", "minItems": 1, "maxItems": 5000, "items": line},
            "apply": {"type": "boolean"},
        },
    }


_LINE_NUMBER = {"line": {"type": "integer", "minimum": 1, "maximum": 2**31 - 1}}
IMPORT_LINE = {
    "type": "object",
    "required": ["line", "number", "user", "action", "at", "source"],
    "properties": _LINE_NUMBER | {
        name: {"type": "string"}
        for name in ("number", "user", "action", "at", "source", "kind", "note",
                     "disclosure_text", "disclosure_version")
    },
}  # fmt: skip
DEACTIVATION_LINE = {
    "type": "object",
    "required": ["line", "number", "date"],
    "properties": _LINE_NUMBER | {"number": E164, "date": {"type": "string"}},
}
IMPORT_ANSWER = {
    "type": "object",
    "required": ["file", "lines", "outcomes", "refused", "applied"],
    "properties": {
        "outcomes": {"type": "object", "additionalProperties": {"type": "integer"}},
        "refused": {"type": "array", "items": {"type": "object"}},
        "applied": {"type": "integer", "description": "lines sent to be applied"},
    },
}
PAIR = [_number("number"), _number("sender")]
COMMAND_ANSWER = {"type": "object", "required": ["accepted", "action", "scope"]}

PATHS: dict[str, dict] = {
    "/v1/blocklist/{number}/{sender}": {
        "parameters": PAIR,
        "get": _operation(
            "May the number text the sender? In which consent scope, and why",
            {"200": _json(LOOKUP_ANSWER), **_errors(400, 401, 503)},
            LOOKUP,
        ),
        "post": _operation(
            "Block by hand (applied in order with the end user's other changes)",
            {"202": _json(COMMAND_ANSWER, "Accepted"), **_errors(400, 401, 409, 413)},
            ADMIN,
            requestBody=_body(REASON_BODY),
        ),
        "delete": _operation(
            "Unblock by hand",
            {"202": _json(COMMAND_ANSWER, "Accepted"), **_errors(400, 401, 409, 413)},
            ADMIN,
            requestBody=_body(REASON_BODY),
        ),
    },
    "/v1/blocklist/check": {
        "post": _operation(
            "Many lookups at once (at most 1,000 pairs), answered in order",
            {
                "200": _json(
                    {"type": "object", "properties": {"results": {"items": LOOKUP_ANSWER}}}
                ),
                **_errors(400, 401, 413, 503),
            },
            LOOKUP,
            requestBody=_body(
                {
                    "type": "object",
                    "required": ["pairs"],
                    "properties": {
                        "pairs": {
                            "type": "array",
                            "maxItems": 1000,
                            "items": {
                                "type": "object",
                                "required": ["number", "sender"],
                                "properties": {"number": E164, "sender": E164},
                            },
                        }
                    },
                }
            ),
        ),
    },
    "/v1/blocklist/{number}/{sender}/history": {
        "parameters": PAIR,
        "get": _operation(
            "Every consent change that speaks for the number; ?at=TIME: the state then",
            {"200": _json(OBJECT), **_errors(400, 401, 503)},
            LOOKUP,
            parameters=[{"name": "at", "in": "query", "schema": {"type": "string"}}],
        ),
    },
    "/v1/blocklist/{number}/{sender}/evidence": {
        "parameters": PAIR,
        "get": _operation(
            "Everything a consent dispute asks for (?format=html: a printable page)",
            {
                "200": {
                    "description": "The evidence",
                    "content": {"application/json": {"schema": OBJECT}, "text/html": {}},
                },
                **_errors(400, 401, 503),
            },
            LOOKUP,
            parameters=[{"name": "format", "in": "query", "schema": {"enum": ["json", "html"]}}],
        ),
    },
    "/v1/blocklist/{number}": {
        "parameters": [_number()],
        "get": _operation(
            "The senders blocked in the number's scope, a page at a time",
            {"200": _json(OBJECT), **_errors(400, 401, 503)},
            ADMIN,
            parameters=[
                {"name": "limit", "in": "query", "schema": {"type": "integer", "minimum": 1}},
                {"name": "after", "in": "query", "schema": E164},
            ],
        ),
    },
    "/v1/numbers/{number}": {
        "parameters": [_number()],
        "get": _operation("A number's settings", {"200": _json(OBJECT), **_errors(400)}, []),
        "put": _settings_put("Change a number's settings (returns once the service applies them)"),
    },
    "/v1/brands/{brand_id}": {
        "parameters": [
            _in_path("brand_id", {"type": "string", "pattern": "^[A-Za-z0-9_.-]{1,64}$"})
        ],
        "get": _operation("A brand's defaults", {"200": _json(OBJECT), **_errors(400)}, []),
        "put": _settings_put("Change a brand's defaults (its numbers that set none follow)"),
    },
    "/v1/messages": {
        "post": _operation(
            "Send through the gate; the result comes on `send-results`",
            {"202": _json(OBJECT, "Accepted"), **_errors(400, 401, 413)},
            ADMIN,
            requestBody=_body(
                {
                    "type": "object",
                    "required": ["from", "to", "text"],
                    "properties": {
                        "from": E164,
                        "to": E164,
                        "text": {"type": "string"},
                        "media_urls": {"type": "array", "items": {"type": "string"}},
                        "reference": {"type": "string"},
                        "category": {"type": "string"},
                        "message_id": {"type": "string"},
                    },
                }  # fmt: skip
            ),
        ),
    },
    "/v1/consent/import": {
        "post": _operation(
            "Plan (or with apply, send) part of an imported list of opt-outs and opt-ins",
            {"200": _json(IMPORT_ANSWER), **_errors(400, 401, 413, 503)},
            ADMIN,
            requestBody=_body(_file_body(IMPORT_LINE)),
        ),
    },
    "/v1/consent/deactivations": {
        "post": _operation(
            "Plan (or with apply, send) part of a carrier's deactivation file",
            {"200": _json(IMPORT_ANSWER), **_errors(400, 401, 413, 503)},
            ADMIN,
            requestBody=_body(_file_body(DEACTIVATION_LINE)),
        ),
    },
    "/v1/consent/opt-ins": {
        "post": _operation(
            "Record an opt-in (applied in order with the end user's other changes)",
            {"202": _json(OBJECT, "Accepted"), **_errors(400, 401, 413)},
            ADMIN,
            requestBody=_body(
                {
                    "type": "object",
                    "required": ["number", "user", "method"],
                    "properties": {
                        "number": {"type": "string", "description": "E.164, or brand:ID etc."},
                        "user": E164,
                        "kinds": {"type": "array", "items": {"type": "string"}},
                        "method": {"enum": ["web", "keyword", "paper", "api"]},
                        "disclosure_text": {"type": "string"},
                        "disclosure_version": {"type": "string"},
                        "at": {"type": "string", "description": "ISO 8601; default now"},
                        "page": {"type": "string"},
                        "client_address": {"type": "string"},
                    },
                }
            ),
        ),
    },
    "/v1/review": {
        "get": _operation(
            "Messages flagged for review, the soonest due first (?overdue=1: only late ones)",
            {"200": _json(OBJECT), **_errors(401)},
            ADMIN,
            parameters=[{"name": "overdue", "in": "query", "schema": {"enum": ["0", "1"]}}],
        ),
    },
    "/v1/review/{review_id}": {
        "parameters": [_in_path("review_id", {"type": "string"})],
        "post": _operation(
            "Decide a flagged message: opt_out blocks like a manual change, dismiss closes it",
            {"200": _json(OBJECT), **_errors(400, 401, 404, 413)},
            ADMIN,
            requestBody=_body(
                {
                    "type": "object",
                    "required": ["resolution", "reason"],
                    "properties": {
                        "resolution": {"enum": ["opt_out", "dismiss"]},
                        "reason": {"type": "string", "minLength": 1},
                    },
                }
            ),
        ),
    },
    "/v1/dead-letters": {
        "get": _operation(
            "The latest dead letters, each with its reason",
            {"200": _json(OBJECT), **_errors(401)},
            ADMIN,
        ),
    },
    "/v1/dead-letters/{dead_letter_id}/replay": {
        "parameters": [
            _in_path("dead_letter_id", {"type": "string", "pattern": "^[0-9]+-[0-9]+$"})
        ],
        "post": _operation(
            "Put a dead-lettered delivery back on its topic (same key, same Idempotency-Key)",
            {"202": _json(OBJECT, "Replayed"), **_errors(401, 404, 409)},
            ADMIN,
        ),
    },
    "/v1/figures": {
        "get": _operation(
            "This worker's figures: messages by intent, deliveries by outcome, consumer lag, "
            "the compliance clock",
            {"200": _json({"type": "object", "additionalProperties": {"type": "object"}})},
            LOOKUP,
        ),
    },
    "/v1/internal/classified": {
        "get": _operation(
            "How far this worker has classified each inbound partition it reads (the next "
            "offset to handle): other workers ask while a lookup or a send waits",
            {"200": _json(OBJECT)},
            [],
        ),
    },
    "/healthz": {
        "get": _operation(
            "Ready to answer (200) or not yet (503)",
            {"200": _json(OBJECT), "503": _json(OBJECT, "Not ready")},
            [],
        ),
    },
}
REPLICA_PATHS = ("/v1/blocklist/{number}/{sender}", "/v1/blocklist/check", "/healthz")


def openapi_document(paths: tuple[str, ...] | None = None) -> dict[str, Any]:
    """The document; `paths`: only those (a lookup replica answers lookups only)."""
    chosen = {p: v for p, v in PATHS.items() if paths is None or p in paths}
    if paths is not None:  # a replica answers GET lookups and batches, nothing else
        chosen = {
            p: {m: o for m, o in v.items() if m in ("get", "parameters") or p.endswith("check")}
            for p, v in chosen.items()
        }
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Opt-Out Assist",
            "version": "1",
            "description": "Block-list lookups for send services, hand-made changes, settings, "
            "sends through the gate, the review queue and dead letters. The operator console "
            "(/console) uses the same API.",
        },
        "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
        "paths": chosen,
    }
