"""The HTTP API under ``/api/v1`` for other systems (issue 19; docs/api.md).

Every endpoint but the OpenAPI document takes ``Authorization: Bearer <token>``, a
token made by ``rapport api-token create NAME --scope ingest|send|read``
(:mod:`rapport.engine.web.api_tokens`). A missing, unknown or revoked token is
``401`` with ``WWW-Authenticate: Bearer``; a live token without the scope an
endpoint needs is ``403``. Answers are JSON, refusals ``{"error": "..."}``.

Programs send neither ``Origin`` nor ``Sec-Fetch-Site``, so the cross-site check
(:mod:`rapport.engine.web.csrf`) lets their POSTs through; a browser page on another
site could not add the ``Authorization`` header without a CORS preflight, which this
app never grants. The OpenAPI 3.1 document (:func:`openapi_document`) is written by
hand beside the routes (the ingest items' fields come from the importer's columns),
and a test checks that it names every route. The ingest endpoints are in
:mod:`rapport.engine.web.api_ingest`, the transactional messages in
:mod:`rapport.engine.web.api_messages`.
"""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.engine.core.config import Settings
from rapport.engine.core.text import escaped_surrogates
from rapport.engine.core.timeutil import utcnow
from rapport.engine.customers import events, importer
from rapport.engine.web.api_messages_schema import message_paths, message_schemas
from rapport.engine.web.api_tokens import SCOPES, token_scope
from rapport.engine.web.context import web_context

PREFIX = "/api/v1"
Handler = Callable[[Request], Awaitable[Response]]


def api_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    """``{"error": message}``; a key of the request the message quotes may be a lone
    surrogate, which is sent as its escape (the response could not be encoded)."""
    return JSONResponse({"error": escaped_surrogates(message)}, status_code=status, headers=headers)


async def authenticate(request: Request, scope: str | None) -> tuple[str, str] | Response:
    """(name, scope) of the request's token, or the 401/403 answer to give instead.
    ``scope`` None accepts a token of any scope."""
    header = request.headers.get("authorization", "")
    kind, _, token = header.partition(" ")
    if kind.lower() != "bearer" or not token.strip():
        return api_error(401, "a bearer token is required", {"WWW-Authenticate": "Bearer"})
    found = await run_in_threadpool(token_scope, web_context(request).engine, token.strip())
    if found is None:
        return api_error(
            401, "unknown or revoked token", {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )
    if scope is not None and found[1] != scope:
        return api_error(403, f"this endpoint needs a token with scope {scope!r}")
    return found


async def openapi(request: Request) -> Response:
    return JSONResponse(openapi_document(web_context(request).settings))


async def whoami(request: Request) -> Response:
    found = await authenticate(request, None)
    if isinstance(found, Response):
        return found
    name, scope = found
    return JSONResponse({"name": name, "scope": scope})


routes = [
    Route(f"{PREFIX}/openapi.json", openapi, methods=["GET"]),
    Route(f"{PREFIX}/token", whoami, methods=["GET"]),
]

_ERROR = {"$ref": "#/components/schemas/Error"}


def _refusal(description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": _ERROR}}}


#: The OpenAPI 3.1 document served at ``/api/v1/openapi.json``, less the ingest
#: endpoints, which :func:`openapi_document` adds.
OPENAPI: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {
        "title": "Rapport API",
        "version": "1",
        "description": "Rapport's HTTP API for other systems; see docs/api.md.",
    },
    "servers": [{"url": "/"}],
    "components": {
        "securitySchemes": {
            "bearer": {
                "type": "http",
                "scheme": "bearer",
                "description": "A token from `rapport api-token create NAME --scope S`; "
                f"scopes: {', '.join(SCOPES)}.",
            }
        },
        "schemas": {
            "Error": {
                "type": "object",
                "properties": {"error": {"type": "string"}},
                "required": ["error"],
            },
            "IngestResult": {
                "type": "object",
                "properties": {
                    **{
                        name: {"type": "integer"}
                        for name in (
                            "accepted",
                            "inserted",
                            "updated",
                            "unchanged",
                            "repeated",
                            "rejected",
                        )
                    },
                    **{
                        name: {"type": "array", "items": {"type": "string"}}
                        for name in ("skipped", "errors", "warnings")
                    },
                },
                "required": ["accepted", "errors", "skipped", "warnings"],
            },
            "Token": {
                "type": "object",
                "properties": {
                    "name": {"type": "string"},
                    "scope": {"type": "string", "enum": list(SCOPES)},
                },
                "required": ["name", "scope"],
            },
        },
    },
    "paths": {
        f"{PREFIX}/openapi.json": {
            "get": {
                "operationId": "openapi",
                "summary": "This document",
                "security": [],
                "responses": {
                    "200": {
                        "description": "The OpenAPI 3.1 document",
                        "content": {"application/json": {"schema": {"type": "object"}}},
                    }
                },
            }
        },
        f"{PREFIX}/token": {
            "get": {
                "operationId": "whoami",
                "summary": "The name and scope of the token that calls",
                "security": [{"bearer": []}],
                "responses": {
                    "200": {
                        "description": "The token is live",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Token"}}
                        },
                    },
                    "401": _refusal("No token, or an unknown or revoked one"),
                },
            }
        },
    },
}

INGEST_KINDS: tuple[importer.Kind, ...] = ("customers", "orders", "consent")
#: The most items one ingest request may hold.
MAX_ITEMS = 1000
_NUMERIC = {"quantity", "amount"}


#: An item of ``POST /api/v1/events`` (engine/web/api_events.py).
EVENT_ITEM: dict[str, Any] = {
    "type": "object",
    "properties": {
        "id": {"type": "string", "maxLength": 64, "description": "Unique per customer and name"},
        "customer_id": {"type": "string", "maxLength": 64},
        "name": {"type": "string", "pattern": f"^{events.NAME.pattern}$"},
        "occurred_at": {"type": "string", "format": "date-time"},
        "data": {
            "type": ["object", "null"],
            "description": f"At most {events.MAX_DATA_BYTES} bytes as compact JSON",
        },
    },
    "required": ["id", "customer_id", "name", "occurred_at"],
}


def _item(kind: importer.Kind, settings: Settings) -> dict[str, Any]:
    now = utcnow()
    columns = importer.columns(kind, settings, now.date(), now)
    required = [column.name for column in columns if column.required]
    properties: dict[str, Any] = {
        column.name: {"type": ["string", "number"] if column.name in _NUMERIC else "string"}
        for column in columns
    }
    if kind == "consent":
        required.append("wording")
        properties["actor"] = {"type": "string", "enum": ["system", "customer"]}
        properties["ip"] = {"type": "string"}
        properties["user_agent"] = {"type": "string"}
    return {"type": "object", "properties": properties, "required": required}


def _ingest_operation(kind: str, item: dict[str, Any], summary: str) -> dict[str, Any]:
    body = {
        "type": "object",
        "properties": {kind: {"type": "array", "maxItems": MAX_ITEMS, "items": item}},
        "required": [kind],
    }
    result = {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}
    }
    return {
        "post": {
            "operationId": f"ingest_{kind}",
            "summary": summary,
            "security": [{"bearer": []}],
            "requestBody": {"required": True, "content": {"application/json": {"schema": body}}},
            "responses": {
                "200": {"description": "Every item was valid", **result},
                "400": _refusal("The body is not JSON, or is nested too deep"),
                "401": _refusal("No token, or an unknown or revoked one"),
                "403": _refusal("The token's scope is not ingest"),
                "413": _refusal(f"Over {MAX_ITEMS} items, or a body over web.max_body_bytes"),
                "422": {
                    "description": "Some items were invalid (the valid ones were written)",
                    **result,
                },
                "429": _refusal("Too many requests for this token; see Retry-After"),
            },
        }
    }


def openapi_document(settings: Settings) -> dict[str, Any]:
    """The whole document: :data:`OPENAPI`, the ingest and the message endpoints."""
    document = copy.deepcopy(OPENAPI)
    for kind in INGEST_KINDS:
        summary = f"Upsert or record {kind}, as `rapport import {kind}` does"
        document["paths"][f"{PREFIX}/{kind}"] = _ingest_operation(
            kind, _item(kind, settings), summary
        )
    events_summary = "Record events about customers, which event triggers follow"
    document["paths"][f"{PREFIX}/events"] = _ingest_operation("events", EVENT_ITEM, events_summary)
    document["paths"].update(message_paths(PREFIX, settings))
    document["components"]["schemas"].update(message_schemas())
    return document
