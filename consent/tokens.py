"""Signed links: one salt per purpose, so a token made for one use opens no other.

Tokens carry only the customer's id (and a channel where it matters), are signed with
``itsdangerous`` and expire. A bad, expired, tampered or wrong-purpose token is
reported exactly like an unknown one, so a link reveals nothing about who exists.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from itsdangerous import BadData, URLSafeTimedSerializer


class Purpose(StrEnum):
    UNSUBSCRIBE = "unsubscribe"
    PREFERENCES = "preferences"
    CONFIRM = "confirm"
    FEEDBACK = "feedback"


#: How long each kind of link works, in seconds.
MAX_AGE = {
    Purpose.UNSUBSCRIBE: 180 * 86400,
    Purpose.PREFERENCES: 90 * 86400,
    Purpose.CONFIRM: 7 * 86400,
    Purpose.FEEDBACK: 60 * 86400,
}


class InvalidToken(Exception):
    """Any token that must not be honoured; deliberately says nothing more."""


@dataclass(frozen=True)
class TokenClaims:
    customer_id: str
    channel: str | None = None
    topic: str | None = None


class Signer:
    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is required to sign links")
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=f"rapport.{purpose.value}")
            for purpose in Purpose
        }

    def sign(self, purpose: Purpose, claims: TokenClaims) -> str:
        payload = [claims.customer_id, claims.channel, claims.topic]
        return self._serializers[purpose].dumps(payload)

    def verify(self, purpose: Purpose, token: str, max_age: int | None = None) -> TokenClaims:
        try:
            payload = self._serializers[purpose].loads(token, max_age=max_age or MAX_AGE[purpose])
        except BadData:
            raise InvalidToken() from None
        if not isinstance(payload, list) or len(payload) != 3 or not isinstance(payload[0], str):
            raise InvalidToken()
        return TokenClaims(customer_id=payload[0], channel=payload[1], topic=payload[2])
