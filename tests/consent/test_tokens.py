"""Signed links: the fast signer writes exactly what itsdangerous writes, and reads it back.

``Signer.sign`` builds tokens itself (see :mod:`rapport.consent.tokens`); these tests
hold it to the ``URLSafeTimedSerializer`` format both ways, so links already sent keep
working and new links open with any ``itsdangerous`` reader of the same key.
"""

from __future__ import annotations

import itertools
import pickle
import random
import string
import zlib
from enum import StrEnum

import itsdangerous.timed
import pytest
from itsdangerous import URLSafeTimedSerializer

from rapport.consent import tokens
from rapport.consent.tokens import MAX_AGE, InvalidToken, Purpose, Signer, TokenClaims

SECRET = "token-tests-secret"
NOW = 1_790_000_000
BASE64URL = string.ascii_uppercase + string.ascii_lowercase + string.digits + "-_"


class Kind(StrEnum):
    EMAIL = "email"


CLAIMS = [
    TokenClaims("C-1"),
    TokenClaims("C-1", "email"),
    TokenClaims("C-1", "sms", "offers"),
    TokenClaims("B0000001", "email", "recurring:2026-12-01"),
    TokenClaims("سارا-۱۲", "email", "birthday:2026"),  # non-ASCII ids are written as UTF-8
    TokenClaims("王伟", None, "feedback:O-7"),
    TokenClaims("A" * 80, "email", "A" * 40),  # repetitive: the payload is zlib-compressed
    TokenClaims('quote " and \\ backslash', "email", None),
    TokenClaims("line\nbreak\ttab\x00end", "email", "\u2028 and 😀"),  # escapes as json does
    TokenClaims("C-2", Kind.EMAIL, "offers"),  # a str subclass is written as its value
]


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """itsdangerous' clock, pinned; both signing paths read it."""
    now = [NOW]
    monkeypatch.setattr(itsdangerous.timed.TimestampSigner, "get_timestamp", lambda self: now[0])
    return now


def reference(purpose: Purpose) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(SECRET, salt=f"rapport.{purpose.value}")


def payload(claims: TokenClaims) -> list[str | None]:
    return [claims.customer_id, claims.channel, claims.topic]


@pytest.mark.parametrize("purpose", list(Purpose))
def test_signed_tokens_are_byte_identical_to_itsdangerous(
    purpose: Purpose, clock: list[int]
) -> None:
    signer = Signer(SECRET)
    for claims in CLAIMS:
        assert signer.sign(purpose, claims) == reference(purpose).dumps(payload(claims))


def test_compressed_payloads_take_the_itsdangerous_dot_prefix(clock: list[int]) -> None:
    token = Signer(SECRET).sign(Purpose.UNSUBSCRIBE, TokenClaims("A" * 80, "email", "A" * 40))
    assert token.startswith(".")
    assert reference(Purpose.UNSUBSCRIBE).loads(token) == ["A" * 80, "email", "A" * 40]


def test_new_tokens_open_with_the_itsdangerous_serializer() -> None:
    signer = Signer(SECRET)
    for purpose, claims in itertools.product(Purpose, CLAIMS):
        token = signer.sign(purpose, claims)
        assert reference(purpose).loads(token, max_age=MAX_AGE[purpose]) == payload(claims)


def test_tokens_made_by_itsdangerous_verify_with_the_signer() -> None:
    signer = Signer(SECRET)
    for purpose, claims in itertools.product(Purpose, CLAIMS):
        old = reference(purpose).dumps(payload(claims))
        assert signer.verify(purpose, old) == claims


def test_consecutive_claims_and_seconds_never_share_a_stale_part(clock: list[int]) -> None:
    signer = Signer(SECRET)
    sequence = [CLAIMS[1], CLAIMS[1], CLAIMS[3], CLAIMS[1], CLAIMS[4], CLAIMS[4]]
    for step, claims in enumerate(sequence):
        clock[0] = NOW + step // 2  # the second changes every other token
        for purpose in (Purpose.PREFERENCES, Purpose.UNSUBSCRIBE, Purpose.FEEDBACK):
            assert signer.sign(purpose, claims) == reference(purpose).dumps(payload(claims))


def test_a_token_opens_only_for_its_purpose() -> None:
    signer = Signer(SECRET)
    claims = TokenClaims("C-1", "email")
    for made, used in itertools.permutations(Purpose, 2):
        with pytest.raises(InvalidToken):
            signer.verify(used, signer.sign(made, claims))


def test_a_token_expires_with_its_purposes_age(clock: list[int]) -> None:
    signer = Signer(SECRET)
    token = signer.sign(Purpose.CONFIRM, TokenClaims("C-1", "email"))
    clock[0] = NOW + MAX_AGE[Purpose.CONFIRM] + 1
    with pytest.raises(InvalidToken):
        signer.verify(Purpose.CONFIRM, token)
    assert signer.verify(Purpose.UNSUBSCRIBE, signer.sign(Purpose.UNSUBSCRIBE, TokenClaims("C-1")))


def test_any_changed_character_or_other_key_is_refused(clock: list[int]) -> None:
    token = Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims("C-1", "email"))
    for index, char in enumerate(token):
        if char == ".":
            continue
        # Flip the character's top bit: always a data bit, even in a final base64 character.
        other = BASE64URL[(BASE64URL.index(char) + 32) % 64]
        changed = token[:index] + other + token[index + 1 :]
        with pytest.raises(InvalidToken):
            Signer(SECRET).verify(Purpose.PREFERENCES, changed)
    with pytest.raises(InvalidToken):
        Signer("another-key").verify(Purpose.PREFERENCES, token)


def test_a_signer_survives_pickling_for_planning_workers(clock: list[int]) -> None:
    signer = Signer(SECRET)
    copy = pickle.loads(pickle.dumps(signer))
    claims = TokenClaims("C-1", "email", "offers")
    assert copy.sign(Purpose.FEEDBACK, claims) == signer.sign(Purpose.FEEDBACK, claims)
    assert copy.verify(Purpose.FEEDBACK, signer.sign(Purpose.FEEDBACK, claims)) == claims


def test_a_signer_needs_a_key() -> None:
    with pytest.raises(ValueError):
        Signer("")


def payloads(count: int, seed: int) -> list[bytes]:
    """Short inputs of every kind zlib treats differently: few or many distinct bytes,
    runs, repeated pieces (long and short matches), up to past the small-buffer limit."""
    rng = random.Random(seed)
    out = []
    for _ in range(count):
        size = rng.randint(0, 140)
        alphabet = bytes(rng.sample(range(256), rng.choice([1, 2, 3, 4, 8, 16, 64, 256])))
        pieces: list[bytes] = []
        while sum(map(len, pieces)) < size:
            if pieces and rng.random() < 0.4:
                earlier = rng.choice(pieces)
                start = rng.randrange(len(earlier))
                pieces.append(earlier[start : start + rng.randint(1, 12)])
            else:
                pieces.append(bytes(rng.choice(alphabet) for _ in range(rng.randint(1, 10))))
        out.append(b"".join(pieces)[:size])
    return out


def test_payloads_deflate_exactly_as_zlib_compress_does() -> None:
    assert tokens._SMALL_DEFLATE_AGREES, "this zlib disagrees: tokens use zlib.compress"
    compressed = shortcut = 0
    for data in payloads(10_000, seed=8):
        expected = zlib.compress(data)
        assert tokens._deflated(data) == expected, data
        compressed += len(expected) < len(data) - 1
        shortcut += len(data) <= tokens._SMALL_INPUT
    assert compressed > 1_000 and shortcut > 2_000  # both branches, and the shortcut, exercised


def test_the_small_buffer_shortcut_is_taken_only_where_it_is_exact() -> None:
    # Past the bound the small buffers do give other streams; they are not used there.
    differs = [d for d in payloads(10_000, seed=9) if tokens._small_deflate(d) != zlib.compress(d)]
    assert differs
    assert min(map(len, differs)) > tokens._SMALL_INPUT
