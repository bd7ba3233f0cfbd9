"""The HTTP API under ``/api/v1`` for other systems (issue 19; docs/api.md).

Every endpoint but the OpenAPI document takes ``Authorization: Bearer <token>``, a
token made by ``rapport api-token create NAME --scope ingest|send|read``
(:mod:`rapport.engine.web.api_tokens`). A missing, unknown or revoked token is
``401`` with ``WWW-Authenticate: Bearer``; a live token without the scope an
endpoint needs is ``403``. Answers are JSON, refusals ``{"error": "..."}``.

Programs send neither ``Origin`` nor ``Sec-Fetch-Site``, so the cross-site check
(:mod:`rapport.engine.web.csrf`) lets their POSTs through; a browser page on another
site could not add the ``Authorization`` header without a CORS preflight, which this
app never grants. The OpenAPI 3.1 document (:data:`OPENAPI`) is written by hand
beside the routes, and a test checks that it names every route.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from rapport.engine.web.api_tokens import SCOPES, token_scope
from rapport.engine.web.context import web_context

PREFIX = "/api/v1"
Handler = Callable[[Request], Awaitable[Response]]


def api_error(status: int, message: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers)


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
    return JSONResponse(OPENAPI)


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


#: The OpenAPI 3.1 document served at ``/api/v1/openapi.json``.
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
