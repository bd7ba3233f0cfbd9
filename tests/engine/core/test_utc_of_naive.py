"""A stored naive UTC datetime made aware is the very datetime ``replace(tzinfo=UTC)``
gives: planning makes one a customer and one an order with ``datetime.combine``
instead (``utc_of_naive``), which must not move a moment, drop its microseconds or
its fold, or give another ``tzinfo`` than :data:`datetime.UTC`.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from rapport.engine.core.timeutil import as_utc, utc_of_naive

NAIVE = [
    datetime(2026, 12, 7, 9, 30),
    datetime(2026, 3, 20, 23, 59, 59, 999_999),
    datetime(2024, 2, 29, 0, 0, 0, 1),
    datetime(2025, 11, 2, 1, 30, fold=1),
    datetime.min,
    datetime.max,
]


@pytest.mark.parametrize("naive", NAIVE, ids=str)
def test_utc_of_naive_is_replace_with_utc(naive: datetime) -> None:
    made = utc_of_naive(naive)
    expected = naive.replace(tzinfo=UTC)
    assert made == expected
    assert made.tzinfo is UTC
    assert (made.year, made.month, made.day, made.hour, made.minute) == (
        expected.year,
        expected.month,
        expected.day,
        expected.hour,
        expected.minute,
    )
    assert (made.second, made.microsecond, made.fold) == (
        expected.second,
        expected.microsecond,
        expected.fold,
    )


@pytest.mark.parametrize("naive", NAIVE, ids=str)
def test_as_utc_takes_a_naive_value_as_utc(naive: datetime) -> None:
    assert as_utc(naive) == naive.replace(tzinfo=UTC)
    assert as_utc(naive).tzinfo is UTC
