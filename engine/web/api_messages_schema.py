"""The OpenAPI description of the transactional message endpoints
(:mod:`rapport.engine.web.api_messages`), which :func:`rapport.engine.web.api.openapi_document`
adds to the document. Apart from the routes so that ``api`` can import it: the routes
import ``api``."""

from __future__ import annotations

from typing import Any

from rapport.engine.core.config import Settings

#: The most ``data`` may weigh as JSON, and the longest ``Idempotency-Key`` taken.
MAX_DATA_BYTES = 16 * 1024
MAX_KEY_CHARS = 255
#: A template set named in a request (64 characters keep the outbox's idempotency key,
#: which also holds the customer, the occasion and the channel, within its 255).
TEMPLATE_PATTERN = "^[a-z0-9][a-z0-9_-]{0,63}$"

_ERROR = {"$ref": "#/components/schemas/Error"}
_ACCEPTED = {"$ref": "#/components/schemas/MessageAccepted"}
_STATUSES = ["queued", "sending", "sent", "failed", "suppressed", "expired"]


def _json(schema: dict[str, Any], description: str) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _nullable(kind: str, **more: Any) -> dict[str, Any]:
    return {"type": [kind, "null"], **more}


def message_schemas() -> dict[str, Any]:
    """The components the message endpoints refer to."""
    return {
        "MessageAccepted": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": _STATUSES},
                "url": {"type": "string"},
            },
            "required": ["id", "status", "url"],
        },
        "MessageStatus": {
            "type": "object",
            "properties": {
                "id": {"type": "string"},
                "status": {"type": "string", "enum": _STATUSES},
                "template": {"type": "string"},
                "topic": {"type": "string"},
                "channel": {"type": "string"},
                "locale": {"type": "string"},
                "created_at": {"type": "string", "format": "date-time"},
                "send_at": {"type": "string", "format": "date-time"},
                "sent_at": _nullable("string", format="date-time"),
                "delivered_at": _nullable("string", format="date-time"),
                "delivery_status": _nullable("string"),
                "attempts": {"type": "integer"},
                "error": _nullable("string"),
            },
            "required": ["id", "status", "attempts", "created_at"],
        },
    }


def message_paths(prefix: str, settings: Settings) -> dict[str, Any]:
    """``POST {prefix}/messages`` and ``GET {prefix}/messages/{message_id}``."""
    body = {
        "type": "object",
        "properties": {
            "template": {"type": "string", "pattern": TEMPLATE_PATTERN},
            "topic": {"type": "string", "enum": list(settings.transactional_topics)},
            "customer": {"type": "string"},
            "channel": {"type": "string", "enum": list(settings.channels)},
            "data": {
                "type": "object",
                "description": f"At most {MAX_DATA_BYTES} bytes as compact UTF-8 JSON; "
                "no NUL, lone surrogate, NaN or Infinity",
            },
        },
        "required": ["template", "topic", "customer"],
        "additionalProperties": False,
    }
    refusal = {code: _json(_ERROR, why) for code, why in _REFUSALS.items()}
    return {
        f"{prefix}/messages": {
            "post": {
                "operationId": "send_message",
                "summary": "Queue a transactional message for a customer, once per key",
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "Idempotency-Key",
                        "in": "header",
                        "required": True,
                        "schema": {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS},
                    }
                ],
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": body}},
                },
                "responses": {
                    "202": _json(_ACCEPTED, "Rendered and queued; sent on the next pass"),
                    "200": _json(_ACCEPTED, "The same request with this key was made before"),
                    **refusal,
                },
            }
        },
        f"{prefix}/messages/{{message_id}}": {
            "get": {
                "operationId": "message_status",
                "summary": "What became of a message sent through the API",
                "security": [{"bearer": []}],
                "parameters": [
                    {
                        "name": "message_id",
                        "in": "path",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                ],
                "responses": {
                    "200": _json(
                        {"$ref": "#/components/schemas/MessageStatus"}, "The message's status"
                    ),
                    "401": refusal["401"],
                    "403": _json(_ERROR, "The token's scope is neither send nor read"),
                    "404": _json(_ERROR, "No message made through the API has this id"),
                    "429": refusal["429"],
                },
            }
        },
    }


_REFUSALS = {
    "400": "The body is not JSON or is nested too deep, or the Idempotency-Key header is "
    "missing or too long",
    "401": "No token, or an unknown or revoked token",
    "403": "The token's scope is not send",
    "409": "The Idempotency-Key was used for another request for this customer (also when "
    "the two arrive at once)",
    "413": "data over its limit (as compact UTF-8 JSON), or a body over web.max_body_bytes",
    "422": "A field is wrong (a JSON pointer says which): a campaign, a topic that is not "
    "transactional, an unknown or erased customer, no address on the channel, a "
    "template that cannot render",
    "429": "Too many requests for this token; see Retry-After",
}
