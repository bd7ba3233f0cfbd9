"""The HTTP API's bearer tokens: made, listed, revoked and checked (issue 19).

A token is 32 random bytes, URL-safe base64, prefixed ``rpt_`` so a leaked one is
recognisable; only its SHA-256 is stored (``api_token.token_hash``), so the token is
shown once, by ``rapport api-token create``, and a copy of the database holds
nothing that authenticates. Each token has one scope: ``ingest`` (send data in),
``send`` (ask for messages) or ``read`` (read what was sent). A revoked token keeps
its row and stops working at once; its name stays taken.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, select, update
from sqlalchemy.exc import IntegrityError

from rapport.engine.core.errors import NotFound, UserError
from rapport.engine.core.models import API_TOKEN
from rapport.engine.core.text import printable
from rapport.engine.web.scopes import SCOPES

PREFIX = "rpt_"
MAX_NAME = 100


@dataclass(frozen=True)
class TokenInfo:
    """A stored token as ``list`` shows it (never the token)."""

    name: str
    scope: str
    created_at: datetime
    revoked_at: datetime | None


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(engine: Engine, name: str, scope: str, now: datetime) -> str:
    """A new token for ``name`` with ``scope``; the returned token is never stored."""
    name = name.strip()
    if not name or len(name) > MAX_NAME:
        raise UserError(f"a token's name must be 1 to {MAX_NAME} characters")
    if printable(name) != name or len(name.splitlines()) > 1 or "\t" in name:
        # api-token list prints names: an escape would act on the operator's terminal,
        # a line break (U+2028 and U+2029 too: splitlines) would split its row
        raise UserError(
            "a token's name may not hold control characters, line breaks, tabs or "
            f"bidi controls (it was {printable(name)!r})"
        )
    if scope not in SCOPES:
        raise UserError(f"unknown scope {scope!r}: use one of {', '.join(SCOPES)}")
    token = PREFIX + secrets.token_urlsafe(32)
    try:
        with engine.begin() as connection:
            connection.execute(
                API_TOKEN.insert().values(
                    name=name, scope=scope, token_hash=token_hash(token), created_at=now
                )
            )
    except IntegrityError:
        raise UserError(f"a token named {name!r} exists already (revoked ones too)") from None
    return token


def list_tokens(engine: Engine) -> list[TokenInfo]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                API_TOKEN.c.name, API_TOKEN.c.scope, API_TOKEN.c.created_at, API_TOKEN.c.revoked_at
            ).order_by(API_TOKEN.c.name)
        ).all()
    return [TokenInfo(*row) for row in rows]


def revoke_token(engine: Engine, name: str, now: datetime) -> bool:
    """Revoke ``name``; False when it was revoked already. NotFound when unknown."""
    with engine.begin() as connection:
        row = connection.execute(
            select(API_TOKEN.c.id, API_TOKEN.c.revoked_at).where(API_TOKEN.c.name == name)
        ).first()
        if row is None:
            raise NotFound(f"no API token named {name!r}")
        if row.revoked_at is not None:
            return False
        connection.execute(update(API_TOKEN).where(API_TOKEN.c.id == row.id).values(revoked_at=now))
    return True


def token_scope(engine: Engine, token: str) -> tuple[str, str] | None:
    """(name, scope) of a live token, or None for an unknown or revoked one."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    digest = token_hash(token)
    with engine.connect() as connection:
        row = connection.execute(
            select(API_TOKEN.c.name, API_TOKEN.c.scope, API_TOKEN.c.token_hash).where(
                API_TOKEN.c.token_hash == digest, API_TOKEN.c.revoked_at.is_(None)
            )
        ).first()
    if row is None or not hmac.compare_digest(row.token_hash, digest):
        return None
    return row.name, row.scope
