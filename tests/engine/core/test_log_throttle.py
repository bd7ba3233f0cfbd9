"""core/logs.Throttle: one log line per key and period, the repeats counted."""

from __future__ import annotations

from rapport.engine.core.logs import Throttle


def test_the_first_is_let_through_and_repeats_within_the_period_are_held_back() -> None:
    throttle = Throttle(60.0)

    assert throttle.allow("lane:sms", now=0.0)
    assert not throttle.allow("lane:sms", now=1.0)
    assert not throttle.allow("lane:sms", now=59.9)
    assert throttle.held_back("lane:sms") == 2
    assert throttle.held_back("lane:sms") == 0, "reading the count forgets it"


def test_after_the_period_the_next_is_let_through_and_starts_a_new_one() -> None:
    throttle = Throttle(60.0)
    throttle.allow("k", now=0.0)
    for second in range(1, 60):
        throttle.allow("k", now=float(second))

    assert throttle.allow("k", now=60.0)
    assert throttle.held_back("k") == 59
    assert not throttle.allow("k", now=119.0)
    assert throttle.allow("k", now=120.0)


def test_keys_are_throttled_apart() -> None:
    throttle = Throttle(60.0)

    assert throttle.allow("sms:first", now=0.0)
    assert throttle.allow("sms:second", now=0.0)
    assert not throttle.allow("sms:first", now=1.0)
    assert throttle.held_back("sms:second") == 0


def test_a_flood_of_one_message_is_one_line_a_minute() -> None:
    """1,428 repeats in 60 s, as a failing lane once logged them: one line."""
    throttle = Throttle(60.0)
    let_through = [throttle.allow("rest", now=n * 60 / 1428) for n in range(1428)]

    assert let_through.count(True) == 1
    assert throttle.held_back("rest") == 1427


def test_keys_are_bounded_the_least_recently_let_through_forgotten_first() -> None:
    throttle = Throttle(60.0, max_keys=3)
    for n, key in enumerate(["a", "b", "c"]):
        throttle.allow(key, now=float(n))
    throttle.allow("a", now=100.0)  # let through again: now the most recent

    assert throttle.allow("d", now=101.0)  # forgets "b", the oldest
    assert throttle.allow("b", now=102.0), "a forgotten key is new again"
    assert not throttle.allow("a", now=103.0), "a recent key is kept"


def test_without_a_time_it_uses_the_monotonic_clock() -> None:
    throttle = Throttle(3600.0)

    assert throttle.allow("k")
    assert not throttle.allow("k")
    assert throttle.held_back("k") == 1
