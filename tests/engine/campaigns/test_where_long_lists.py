"""A ``where`` condition listing very many values costs each customer what a short one does.

A campaign file may be up to 1 MiB, so ``{field: order_count, in: [1, 2, ..., 120000]}``
loads. Every customer checked against it had the list folded again and written out
whole into the reason: 30 ms a customer (a planning day of a million customers would
take over eight hours), and an 800 KB 'not met' line for each in ``rapport explain``.
The list is folded once per campaign, looked up as a set, and a reason names its
first ten values and how many more there are. Memory and characters are counted,
never time.
"""

from __future__ import annotations

import tracemalloc
from datetime import date

from factories import profile

from rapport.engine.campaigns.audience import Audience, audience_miss

DAY = date(2027, 3, 21)
VALUES = 100_000


def test_a_condition_of_many_values_is_checked_without_copying_them() -> None:
    rules = Audience.model_validate(
        {"where": [{"field": "country", "in": [f"X{n}" for n in range(VALUES)] + ["IR"]}]}
    )
    inside, outside = profile(id="C1", country="IR"), profile(id="C2", country="CN")
    audience_miss(rules, inside, "repeat", "insider", day=DAY)  # what is done once
    tracemalloc.start()
    try:
        for _ in range(20):
            assert audience_miss(rules, inside, "repeat", "insider", day=DAY) is None
            assert audience_miss(rules, outside, "repeat", "insider", day=DAY) is not None
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 100_000  # one copy of the folded list is megabytes


def test_the_reason_names_ten_values_and_how_many_more() -> None:
    rules = Audience.model_validate(
        {"where": [{"field": "order_count", "in": list(range(1, VALUES + 1))}]}
    )
    miss = audience_miss(rules, profile(id="C1"), "repeat", "insider", day=DAY)
    assert miss is not None
    assert miss.detail == (
        "where #1: order_count in [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, ... 99990 more] is not met: "
        "order_count is 0"
    )
