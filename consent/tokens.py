"""Signed links: one salt per purpose, so a token made for one use opens no other.

Tokens carry only the customer's id (and a channel where it matters), are signed with
``itsdangerous`` and expire. A bad, expired, tampered or wrong-purpose token is
reported exactly like an unknown one, so a link reveals nothing about who exists.

Signing is on the planner's hot path (three links a message), so :meth:`Signer.sign`
writes the ``URLSafeTimedSerializer`` format itself rather than through
``itsdangerous``, which builds a new signer and derives its key for every token, and
runs zlib with full-size buffers on payloads of a few dozen bytes. Here the keys are
derived once, the payload is encoded once for a message's two links that share it,
and short payloads go through zlib with small buffers, which provably changes nothing
in their output (:func:`_deflated`).
The token is byte for byte what ``itsdangerous`` would produce at the same second
(``tests/consent/test_tokens.py`` proves it both ways), so :meth:`Signer.verify`, which still
goes through ``itsdangerous``, accepts it, and any token issued before accepts the
same way::

    base64url(payload JSON, or "." + base64url(zlib(JSON)) when that is shorter)
    "." base64url(timestamp, big-endian, leading zero bytes dropped)
    "." base64url(HMAC-SHA1(sha1(salt + b"signer" + secret), everything before))
"""

from __future__ import annotations

import hmac
import json
import secrets
import zlib
from binascii import b2a_base64
from dataclasses import dataclass
from enum import StrEnum
from typing import cast

from itsdangerous import BadData, TimestampSigner, URLSafeTimedSerializer
from itsdangerous.encoding import int_to_bytes


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


#: The JSON ``itsdangerous`` writes (its ``_CompactJSON``: ``json.dumps`` without
#: spaces or ASCII escaping), as one encoder instead of a new one a call.
_COMPACT_JSON = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"))
#: The string escaping that encoder applies (the C one where Python has it).
_JSON_STRING = json.encoder.encode_basestring
_URLSAFE = bytes.maketrans(b"+/", b"-_")


def _b64(data: bytes) -> bytes:
    """``itsdangerous.encoding.base64_encode``: URL-safe base64 without padding."""
    return b2a_base64(data, newline=False).translate(_URLSAFE).rstrip(b"=")


#: The two bytes ``zlib.compress`` starts with (a 32 KiB window, the default level).
_ZLIB_HEADER = zlib.compress(b"")[:2]
#: Inputs up to this long take the small-buffer path of :func:`_deflated`.
_SMALL_INPUT = 36


def _small_deflate(data: bytes) -> bytes:
    stream = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, 9, 1)
    return _ZLIB_HEADER + (stream.compress(data) + stream.flush())[2:]


def _deflated(data: bytes) -> bytes:
    """``zlib.compress(data)``, byte for byte, without its quarter megabyte of buffers.

    ``zlib.compress`` allocates a 32 KiB window and 64 KiB hash and output tables for
    every call; for a payload of 30 bytes that can cost more than the rest of the token,
    and several times more when the allocator returns the memory to the system between
    calls. Up to :data:`_SMALL_INPUT` bytes, a 512-byte window with the smallest tables
    (``wbits=9, memLevel=1``) gives the same stream: the window reaches back 250 bytes,
    past any match; there are fewer symbols than the 127 after which ``memLevel=1``
    ends a block; and the smaller hash table only adds unrelated entries to each hash
    chain, which zlib skips, visiting the real candidates in the same order, as long as
    it does not stop at its chain limit (32 entries at least), and a chain holds fewer
    than 33 entries in 36 bytes. Only the header names the window size; it is replaced
    by ``zlib.compress``'s. The module checks the equivalence on this zlib when
    imported and otherwise always calls ``zlib.compress``; ``tests/consent/test_tokens.py``
    compares both on many inputs, and shows longer inputs can differ.
    """
    if _SMALL_DEFLATE_AGREES and len(data) <= _SMALL_INPUT:
        return _small_deflate(data)
    return zlib.compress(data)


_SMALL_DEFLATE_AGREES = "ng" not in zlib.ZLIB_RUNTIME_VERSION and all(
    _small_deflate(sample) == zlib.compress(sample)
    for sample in (
        b"",
        b'["C-1","email",null]',
        b'["C-0000000000000012","email",null]',
        bytes(range(36)),
        b"ab" * 18,
    )
)


def _json(claims: tuple[str | None, ...]) -> str:
    """The claims as ``_COMPACT_JSON`` writes them: strings escaped alike, None as null."""
    parts = []
    for claim in claims:
        if claim is None:
            parts.append("null")
        elif type(claim) is str:
            parts.append(_JSON_STRING(claim))
        else:  # a str subclass or anything odd: let the encoder itself decide
            return _COMPACT_JSON.encode(list(claims))
    return "[" + ",".join(parts) + "]"


class Signer:
    """Signs and verifies the links of every purpose with one secret key.

    Safe to share between threads: the only state that changes after construction
    are two one-entry caches, each replaced whole by a single assignment.
    """

    def __init__(self, secret_key: str) -> None:
        if not secret_key:
            raise ValueError("a secret key is required to sign links")
        self._secret_key = secret_key
        self._serializers = {
            purpose: URLSafeTimedSerializer(secret_key, salt=f"rapport.{purpose.value}")
            for purpose in Purpose
        }
        # The signer and derived key itsdangerous would build for every token, built
        # once: the key from itsdangerous' own derivation, so the two cannot differ.
        signers = {purpose: s.make_signer() for purpose, s in self._serializers.items()}
        # HMAC-SHA1 keyed once per purpose; each token copies it (cheaper than keying).
        self._macs = {
            purpose: hmac.new(signer.derive_key(), digestmod="sha1")
            for purpose, signer in signers.items()
        }
        # The clock itsdangerous reads (a method, so a test can move it for both paths).
        # A timed serializer's signer is a TimestampSigner; make_signer is typed Signer.
        self._clock = cast(TimestampSigner, signers[Purpose.UNSUBSCRIBE])
        self._stamp: tuple[int, bytes] = (-1, b"")
        # A message's preference and unsubscribe links carry the same claims.
        self._payload: tuple[tuple[str, str | None, str | None], bytes] | None = None

    def __reduce__(self) -> tuple[type[Signer], tuple[str]]:
        """Pickled as its key, so planning workers can be handed one (see
        :mod:`rapport.engine.planning.shards`): the keyed HMAC objects do not pickle."""
        return Signer, (self._secret_key,)

    def sign(self, purpose: Purpose, claims: TokenClaims) -> str:
        """A token for ``claims``, usable only for ``purpose`` and only until it expires."""
        signed = self._encoded(claims) + b"." + self._timestamp()
        mac = self._macs[purpose].copy()
        mac.update(signed)
        return (signed + b"." + _b64(mac.digest())).decode("ascii")

    def verify(self, purpose: Purpose, token: str, max_age: int | None = None) -> TokenClaims:
        try:
            payload = self._serializers[purpose].loads(token, max_age=max_age or MAX_AGE[purpose])
        except BadData:
            raise InvalidToken() from None
        if not isinstance(payload, list) or len(payload) != 3 or not isinstance(payload[0], str):
            raise InvalidToken()
        return TokenClaims(customer_id=payload[0], channel=payload[1], topic=payload[2])

    def _encoded(self, claims: TokenClaims) -> bytes:
        """The payload part, as ``URLSafeSerializerMixin.dump_payload`` writes it."""
        key = (claims.customer_id, claims.channel, claims.topic)
        cached = self._payload
        if cached is not None and cached[0] == key:
            return cached[1]
        data = _json(key).encode("utf-8")
        compressed = _deflated(data)
        encoded = b"." + _b64(compressed) if len(compressed) < len(data) - 1 else _b64(data)
        self._payload = (key, encoded)
        return encoded

    def _timestamp(self) -> bytes:
        """The timestamp part for the current second (encoded once a second)."""
        now = self._clock.get_timestamp()
        stamp = self._stamp
        if stamp[0] != now:
            stamp = (now, _b64(int_to_bytes(now)))
            self._stamp = stamp
        return stamp[1]


#: What a link carries instead of a token in sample and test messages: no page opens it.
SAMPLE_TOKEN = "SAMPLE-TOKEN"


class StandInSigner(Signer):
    """A signer whose every token is :data:`SAMPLE_TOKEN`, for messages that show a real
    customer's data to someone else (``rapport send-test --customer``): the links keep
    their shape but open nothing, so whoever receives the test cannot change that
    customer's consent. Its own key is random and thrown away, so it verifies nothing."""

    def __init__(self) -> None:
        super().__init__(secrets.token_urlsafe(32))

    def sign(self, purpose: Purpose, claims: TokenClaims) -> str:
        return SAMPLE_TOKEN
