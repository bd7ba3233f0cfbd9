"""The "send me my link" limiter: its limit holds and its memory stays bounded whatever
keys it is fed (thousands of distinct 100 KB "e-mails" included)."""

from __future__ import annotations

import tracemalloc
from datetime import UTC, datetime, timedelta

from rapport.engine.web.ratelimit import RateLimiter

HOUR = timedelta(hours=1)


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


def huge(i: int) -> str:
    return f"email:{i}-" + "x" * 100_000 + "@example.com"


def test_a_repeated_key_is_refused_past_its_limit_and_allowed_when_the_window_moves() -> None:
    clock = Clock()
    limiter = RateLimiter(5, HOUR, clock=clock)
    assert [limiter.allow("email:a@example.com") for _ in range(6)] == [True] * 5 + [False]
    clock.now += timedelta(minutes=59, seconds=59)
    assert not limiter.allow("email:a@example.com")
    clock.now += timedelta(seconds=1)  # the first hits are an hour old
    assert limiter.allow("email:a@example.com")


def test_a_refusal_counts_against_no_key() -> None:
    limiter = RateLimiter(2, HOUR, clock=Clock())
    assert limiter.allow("ip:1", "email:a") and limiter.allow("ip:1", "email:b")
    assert not limiter.allow("ip:1", "email:c")  # the address is over its limit
    assert limiter.allow("ip:2", "email:c")  # so e-mail c was not counted
    assert len(limiter) == 5  # ip:1, a, b, ip:2, c: the refused call stored nothing


def test_thousands_of_distinct_huge_keys_never_hold_more_than_max_keys() -> None:
    limiter = RateLimiter(5, HOUR, clock=Clock(), max_keys=100)
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for i in range(3000):
            assert limiter.allow(huge(i))
            assert len(limiter) <= 100
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert len(limiter) == 100 and limiter.evicted == 2900
    # 100 keys of 16 bytes with one timestamp each: far below one 100 KB key.
    assert held < 100_000, held
    assert all(len(digest) == 16 for digest in limiter._hits)


def test_the_limit_holds_for_a_key_repeated_during_a_flood_of_distinct_ones() -> None:
    limiter = RateLimiter(5, HOUR, clock=Clock(), max_keys=100)
    allowed = 0
    for i in range(3000):
        limiter.allow(huge(i))
        if i % 20 == 0:  # the victim's address is tried again and again meanwhile
            allowed += limiter.allow(huge(-1))
    assert allowed == 5
    assert len(limiter) <= 100


def test_keys_differing_only_past_the_first_512_characters_count_as_one() -> None:
    limiter = RateLimiter(1, HOUR, clock=Clock())
    assert limiter.allow("email:" + "a" * 600 + "1")
    assert not limiter.allow("email:" + "a" * 600 + "2")
    assert limiter.allow("email:" + "a" * 400 + "2")


def test_expired_keys_are_forgotten_without_waiting_for_the_bound() -> None:
    clock = Clock()
    limiter = RateLimiter(5, HOUR, clock=clock, max_keys=1000)
    for i in range(50):
        limiter.allow(f"email:{i}")
    clock.now += HOUR
    limiter.allow("email:new")
    assert len(limiter) == 1 and limiter.evicted == 0


def test_no_key_is_stored_as_given() -> None:
    limiter = RateLimiter(5, HOUR, clock=Clock())
    limiter.allow("email:someone@example.com")
    assert all(b"someone" not in digest for digest in limiter._hits)
