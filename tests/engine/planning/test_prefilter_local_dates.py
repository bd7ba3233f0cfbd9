"""The planning pre-filter keeps the customers whose local date differs from the UTC date.

Hand-made customers in Pacific/Kiritimati (UTC+14), Pacific/Honolulu (UTC-10) and
Pacific/Pago_Pago (UTC-11): orders and sign-ups a UTC day off their local date, a
sign-up at a year end, a birthday on 29 February. For each, the customers the planner
selects among everyone and the customers ``prefilter.candidate_clause`` keeps. The
seeded property over many customers is in ``test_prefilter_superset.py``.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from rapport.engine.campaigns.model import Campaign
from rapport.engine.planning.planner import plan
from rapport.engine.planning.run import audiences_for
from tests.engine.planning.conftest import (
    SETTINGS,
    TOPICS,
    _utc_midnight,
    campaign,
    candidates,
    everyone,
    load,
    outcome,
)


def people(*specs: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """Rows for a few hand-made customers: ``id``, ``timezone``, ``created_at``, and
    optionally ``birthday``, ``orders`` ([(moment, amount)], SERUM-30ML in USD) and
    ``consent`` ([(channel, topic)] granted; default e-mail for every topic)."""
    rows: dict[str, list[dict[str, Any]]] = {"customer": [], "orders": [], "event": [], "state": []}
    at = datetime(2020, 1, 1, tzinfo=UTC)
    for spec in specs:
        cid = spec["id"]
        rows["customer"].append(
            {
                "id": cid,
                "email": f"{cid.lower()}@example.com",
                "locale": "en_US",
                "timezone": spec["timezone"],
                "birthday": spec.get("birthday"),
                "created_at": spec.get("created_at", at),
            }
        )
        for n, (ordered_at, amount) in enumerate(spec.get("orders", ())):
            rows["orders"].append(
                {
                    "id": f"{cid}-{n}",
                    "customer_id": cid,
                    "sku": "SERUM-30ML",
                    "amount": Decimal(amount),
                    "currency": "USD",
                    "ordered_at": ordered_at,
                }
            )
        for channel, topic in spec.get("consent", [("email", t) for t in TOPICS]):
            event_id = len(rows["event"]) + 1
            fact = {"customer_id": cid, "channel": channel, "topic": topic, "status": "granted"}
            rows["event"].append(
                {**fact, "id": event_id, "source": "test", "captured_at": at, "recorded_at": at}
            )
            rows["state"].append({**fact, "captured_at": at, "event_id": event_id})
    return rows


def planned_and_kept(
    engine: Engine, chosen: Campaign, day: date, now: datetime
) -> tuple[set[str], set[str] | None]:
    """Who the planner selects for ``chosen`` among everyone, and who the clause keeps."""
    with engine.connect() as connection:
        profiles = everyone(connection, day, now)
        audiences = audiences_for(connection, profiles, day)
        planned = {d[0] for d in outcome(plan(profiles, [chosen], audiences, day, now, SETTINGS))}
        return planned, candidates(connection, [chosen], day, now)


def test_orders_and_sign_ups_a_utc_day_off_the_local_date_are_candidates(engine: Engine) -> None:
    """Kiritimati is a day ahead of UTC for 14 hours a day and Honolulu a day behind
    for 10: a local 25 October 00:30 in Kiritimati is 24 October 10:30 UTC, a local
    25 October 23:30 in Honolulu is 26 October 09:30 UTC. Both are read."""
    ahead = datetime(2026, 10, 24, 10, 30, tzinfo=UTC)
    behind = datetime(2026, 10, 26, 9, 30, tzinfo=UTC)
    load(
        engine,
        people(
            # Ordered on local 25 October, signed up 30 days later (local 24 November).
            {"id": "KI", "timezone": "Pacific/Kiritimati", "orders": [(ahead, 48)]}
            | {"created_at": ahead + timedelta(days=30)},
            {"id": "HN", "timezone": "Pacific/Honolulu", "orders": [(behind, 48)]}
            | {"created_at": behind + timedelta(days=30)},
        ),
    )
    day, now = date(2026, 11, 24), datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
    for chosen in (
        campaign("reorder", {"type": "reorder", "skus": {"SERUM-30ML": 30}}, "reorder", ["email"]),
        campaign("welcome", {"type": "welcome", "after": "signup"}, "offers", ["email"]),
        campaign("feedback", {"type": "feedback", "days_after_order": 30}, "feedback", ["email"]),
        campaign("winback", {"type": "winback", "days_without_order": 30}, "winback", ["email"]),
    ):
        assert planned_and_kept(engine, chosen, day, now) == ({"KI", "HN"}, {"KI", "HN"})


def test_an_order_late_in_the_day_behind_utc_raises_the_tier_planned_next_utc_morning(
    engine: Engine,
) -> None:
    """The daemon plans yesterday too: at 10:00 UTC on 25 November it is still 24
    November, 23:00, in Pago Pago, and an order placed there at 22:30 (09:30 UTC on the
    25th) counts for the 24th."""
    orders = [
        (datetime(2026, 10, 1, tzinfo=UTC), 300),
        (datetime(2026, 11, 25, 9, 30, tzinfo=UTC), 300),
    ]
    load(engine, people({"id": "PP", "timezone": "Pacific/Pago_Pago", "orders": orders}))
    tier = campaign("tier", {"type": "tier_reached"}, "offers", ["email"])
    day, now = date(2026, 11, 24), datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert planned_and_kept(engine, tier, day, now) == ({"PP"}, {"PP"})


def test_a_sign_up_at_a_year_end_elsewhere_is_an_anniversary_candidate(engine: Engine) -> None:
    """Signed up at 23:30 on 31 December 2025 in Honolulu (1 January 2026 UTC): the
    first anniversary is 31 December 2026. Signed up at 00:30 on 1 January 2025 in
    Kiritimati (31 December 2024 UTC): the second anniversary is 1 January 2027."""
    load(
        engine,
        people(
            {
                "id": "HN",
                "timezone": "Pacific/Honolulu",
                "created_at": datetime(2026, 1, 1, 9, 30, tzinfo=UTC),
            },
            {
                "id": "KI",
                "timezone": "Pacific/Kiritimati",
                "created_at": datetime(2024, 12, 31, 10, 30, tzinfo=UTC),
            },
        ),
    )
    first = campaign("first", {"type": "anniversary", "years": [1]}, "offers", ["email"])
    second = campaign("second", {"type": "anniversary", "years": [2]}, "offers", ["email"])
    morning = timedelta(hours=-11)  # before either zone's day has begun
    for chosen, day, who in (
        (first, date(2026, 12, 31), "HN"),
        (second, date(2027, 1, 1), "KI"),
    ):
        planned, kept = planned_and_kept(engine, chosen, day, _utc_midnight(day) + morning)
        assert planned == {who}
        assert kept is not None and who in kept


def test_a_leap_day_birthday_is_a_candidate_on_28_february_of_a_common_year(
    engine: Engine,
) -> None:
    load(
        engine,
        people(
            {"id": "LEAP", "timezone": "UTC", "birthday": date(2000, 2, 29)},
            {"id": "MARCH", "timezone": "UTC", "birthday": date(2000, 3, 1)},
            {"id": "NONE", "timezone": "UTC"},
        ),
    )
    birthday = campaign("birthday", {"type": "birthday"}, "birthday", ["email"])
    expected = {
        date(2027, 2, 28): {"LEAP"},
        date(2028, 2, 28): set(),
        date(2028, 2, 29): {"LEAP"},
        date(2027, 3, 1): {"MARCH"},
    }
    for day, chosen in expected.items():
        now = _utc_midnight(day) - timedelta(hours=11)
        assert planned_and_kept(engine, birthday, day, now) == (chosen, chosen)
