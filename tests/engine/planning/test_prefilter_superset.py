"""The planning pre-filter keeps everyone the planner could select, on both databases.

The key property: planning only the customers ``prefilter.candidate_clause`` keeps
gives exactly the decisions that planning everyone gives, and every customer who has
an occasion and the consent for a campaign is a candidate for that campaign. The data
are seeded and dense around the tested days: birthdays and sign-ups a few days
either side (29 February included), orders at every hour of the days each trigger
looks at, customers from Pacific/Honolulu (UTC-10) and Pacific/Pago_Pago (UTC-11) to
Pacific/Kiritimati (UTC+14), on days that include year ends, 28/29 February and
DST changes. Hand-made customers at the edges of local dates are in
``test_prefilter_local_dates.py``; the helpers both use are in ``conftest.py``.
"""

from __future__ import annotations

import calendar
import random
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from factories import make_settings, plan_day, seed_sample
from sqlalchemy import Engine, delete, func, select

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.models import CONSENT_STATE, CUSTOMER, OUTBOX
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.planner import Audiences, Reason, plan
from rapport.engine.planning.prefilter import candidate_clause
from rapport.engine.planning.run import PlanReport, audiences_for
from rapport.engine.triggers import Occasion, find_occasion
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

ZONES = (
    "Pacific/Pago_Pago",
    "Pacific/Honolulu",
    "America/Anchorage",
    "America/Los_Angeles",
    "America/New_York",
    "America/St_Johns",
    "America/Sao_Paulo",
    "UTC",
    "Europe/London",
    "Europe/Berlin",
    "Asia/Tehran",
    "Asia/Kathmandu",
    "Asia/Shanghai",
    "Asia/Tokyo",
    "Australia/Adelaide",
    "Australia/Lord_Howe",
    "Pacific/Auckland",
    "Pacific/Chatham",
    "Pacific/Tongatapu",
    "Pacific/Kiritimati",
)
COUNTRIES = ("US", "IR", "CN", "DE", "GB", "JP", "AU", "NZ", "KI", "ir", "XX", None)
SKUS = ("SERUM-30ML", "CLEANSER-150ML", "TEA-SAMPLER", "COFFEE-1KG")
#: Days around which the data are dense: year ends, leap and common Februaries, the
#: DST changes of the US, the EU and Australia / New Zealand, and a few plain days.
DAYS = (
    date(2024, 2, 28),
    date(2024, 2, 29),
    date(2024, 3, 1),
    date(2024, 12, 31),
    date(2025, 1, 1),
    date(2025, 2, 28),
    date(2025, 3, 1),
    date(2025, 4, 6),
    date(2025, 12, 24),
    date(2026, 3, 8),
    date(2026, 3, 29),
    date(2026, 9, 27),
    date(2026, 10, 25),
    date(2026, 11, 1),
    date(2026, 11, 24),
    date(2027, 2, 28),
    date(2027, 3, 1),
    date(2027, 6, 17),  # the day after Tasua and Ashura: what they held back
    date(2028, 2, 29),
)
#: Planning moments relative to the day's UTC midnight, from before any zone has begun
#: the day to the next UTC day, when the daemon still plans it for zones behind UTC;
#: they also move the order-history cut-off (``planner.history_cutoff``).
NOW_OFFSETS = (
    timedelta(hours=-11),
    timedelta(hours=6),
    timedelta(hours=20),
    timedelta(hours=34),
)


CAMPAIGNS = (
    campaign("birthday", {"type": "birthday"}, "birthday", ["email", "sms"], holdout_percent=20),
    campaign("birthday-early", {"type": "birthday", "days_before": 3}, "offers", ["sms"]),
    campaign("birthday-late", {"type": "birthday", "days_after": 2}, "birthday", ["email"]),
    campaign("anniversary", {"type": "anniversary"}, "offers", ["email"]),
    campaign("anniversary-1-3", {"type": "anniversary", "years": [1, 3]}, "newsletter", ["sms"]),
    campaign("holiday", {"type": "holiday"}, "offers", ["email", "sms"]),
    campaign(
        "holiday-christmas",
        {"type": "holiday", "names": ["Christmas"], "days_before": 1},
        "newsletter",
        ["email"],
    ),
    campaign(
        "recurring", {"type": "recurring", "cron": "0 10 1 1,3,12 *"}, "newsletter", ["email"]
    ),
    campaign(
        "reorder",
        {"type": "reorder", "days_after": 45, "skus": {"SERUM-30ML": 30, "CLEANSER-150ML": 60}},
        "reorder",
        ["email"],
    ),
    campaign(
        "reorder-listed",
        {"type": "reorder", "skus": {"SERUM-30ML": 30, "TEA-SAMPLER": 7}},
        "reorder",
        ["sms", "email"],
    ),
    campaign("reorder-learn", {"type": "reorder", "learn": True}, "reorder", ["email"]),
    campaign(
        "reorder-learn-listed",
        {"type": "reorder", "learn": True, "skus": {"SERUM-30ML": 30}},
        "offers",
        ["email"],
    ),
    campaign("welcome", {"type": "welcome", "days_after": 3}, "offers", ["email"]),
    campaign("welcome-signup", {"type": "welcome", "after": "signup"}, "offers", ["sms"]),
    campaign("winback", {"type": "winback", "days_without_order": 150}, "winback", ["email"]),
    campaign("winback-1", {"type": "winback", "days_without_order": 1}, "winback", ["sms"]),
    campaign("tier", {"type": "tier_reached"}, "offers", ["email", "sms"]),
    campaign("tier-rouge", {"type": "tier_reached", "tiers": ["rouge"]}, "newsletter", ["email"]),
    campaign("feedback", {"type": "feedback", "days_after_order": 7}, "feedback", ["email"]),
    campaign("feedback-0", {"type": "feedback", "days_after_order": 0}, "feedback", ["sms"]),
    campaign("paused", {"type": "birthday"}, "birthday", ["email"], paused=True),
    campaign("ended", {"type": "birthday"}, "birthday", ["email"], ends_on=date(2025, 6, 30)),
)
#: The benchmark's trickle tick: campaigns that reach few customers on any one day.
TRICKLE = tuple(c for c in CAMPAIGNS if c.id in {"birthday", "reorder"})


# -- data --------------------------------------------------------------------------------


def _years_back(day: date, years: int) -> date:
    """``day`` that many years earlier; 29 February stays 29 February (in a leap year)."""
    year = day.year - years
    if (day.month, day.day) == (2, 29):
        while not calendar.isleap(year):
            year -= 1
    return day.replace(year=year)


def _near(rng: random.Random, anchor: date, days_ago: int) -> datetime:
    """A moment on the UTC days around ``anchor - days_ago``; half of them in the hours
    where some zone's local date differs from the UTC date (the 14 hours before UTC
    midnight are the next day in Kiritimati, the 11 after it the day before in Pago Pago).
    """
    midnight = _utc_midnight(anchor - timedelta(days=days_ago))
    if rng.random() < 0.5:
        edge = rng.choice((timedelta(hours=-14), timedelta(hours=24)))
        return midnight + edge + timedelta(seconds=rng.randint(0, 14 * 3600))
    return midnight + timedelta(seconds=rng.randint(-36 * 3600, 60 * 3600))


def data_set(seed: int, customers: int) -> dict[str, list[dict[str, Any]]]:
    """Rows for every table, dense around :data:`DAYS` (see the module docstring)."""
    rng = random.Random(seed)
    rows: dict[str, list[dict[str, Any]]] = {"customer": [], "orders": [], "event": [], "state": []}
    captured = datetime(2020, 1, 1, tzinfo=UTC)
    for n in range(customers):
        cid = f"P{n:05d}"
        anchor = rng.choice(DAYS)

        birthday: date | None = None
        roll = rng.random()
        if roll < 0.15:
            birthday = _years_back(date(2024, 2, 29), rng.choice((0, 4, 24, 36, 60)))
        elif roll < 0.9:
            near = anchor + timedelta(days=rng.randint(-4, 4))
            # Some in or after the target year: no birthday occasion before being born.
            birthday = _years_back(near, rng.choice((-1, 0, 1, 18, 35, 60)))

        roll = rng.random()
        if roll < 0.4:  # around an anniversary of the anchor, at any hour
            base = _years_back(anchor + timedelta(days=rng.randint(-1, 1)), rng.randint(0, 6))
            created = _utc_midnight(base) + timedelta(seconds=rng.randint(-36 * 3600, 60 * 3600))
        elif roll < 0.7:  # signed up within days of the anchor
            created = _utc_midnight(anchor) + timedelta(seconds=rng.randint(-5 * 86400, 2 * 86400))
        else:
            created = datetime(2018, 1, 1, tzinfo=UTC) + timedelta(
                seconds=rng.randint(0, 9 * 365 * 86400)
            )

        rows["customer"].append(
            {
                "id": cid,
                "first_name": "",
                "last_name": "",
                "email": f"{cid.lower()}@example.com" if rng.random() < 0.9 else None,
                "phone": f"+1202555{n:04d}" if rng.random() < 0.7 else None,
                "locale": "en_US",
                "timezone": rng.choice(ZONES),
                "country": rng.choice(COUNTRIES),
                "birthday": birthday,
                "created_at": created,
            }
        )

        orders: list[tuple[str, datetime]] = []
        style = rng.random()
        if style < 0.25:  # a mixed history: reorder intervals, feedback, a year ago
            for _ in range(rng.randint(1, 5)):
                days_ago = rng.choice((0, 1, 3, 7, 21, 30, 45, 60, 150, 365, rng.randint(1, 800)))
                orders.append((rng.choice(SKUS), _near(rng, anchor, days_ago)))
        elif style < 0.4:  # a new customer: the first order days ago (welcome, feedback)
            first = rng.choice((0, 1, 3, 4, 7))
            orders.append((rng.choice(SKUS), _near(rng, anchor, first)))
            if rng.random() < 0.4:
                orders.append((rng.choice(SKUS), _near(rng, anchor, rng.randint(0, first))))
        elif style < 0.5:  # lapsed since about 150 days (win-back)
            orders.append((rng.choice(SKUS), _near(rng, anchor, rng.choice((149, 150, 151)))))
            orders.append((rng.choice(SKUS), _near(rng, anchor, rng.randint(155, 500))))
        elif style < 0.65:  # spending towards a tier, with an order on or near the day
            for days_ago in (rng.randint(5, 300), rng.randint(5, 300), rng.choice((0, 0, 1, 365))):
                orders.append((rng.choice(SKUS), _near(rng, anchor, days_ago)))
        elif style < 0.75:  # a steady rhythm, for the learned reorder interval
            sku, gap = rng.choice(SKUS), rng.randint(5, 40)
            last = _near(rng, anchor, gap)
            for k in range(rng.randint(2, 4)):
                orders.append((sku, last - timedelta(days=gap * k, hours=rng.randint(-6, 6))))
        elif style < 0.9:  # due for a reorder: the last order of a SKU an interval ago
            days_ago = rng.choice((7, 30, 45, 60))
            orders.append((rng.choice(SKUS), _near(rng, anchor, days_ago)))
            orders.append((rng.choice(SKUS), _near(rng, anchor, days_ago + rng.randint(3, 90))))
        for k, (sku, at) in enumerate(orders):
            rows["orders"].append(
                {
                    "id": f"{cid}-O{k}",
                    "customer_id": cid,
                    "sku": sku,
                    "quantity": 1,
                    "amount": rng.choice((Decimal(20), Decimal(48), Decimal(300), Decimal(700))),
                    # No rate for EUR: such orders count with amount 0.
                    "currency": "USD" if rng.random() < 0.9 else "EUR",
                    "ordered_at": at,
                }
            )

        for channel in ("email", "sms"):
            for topic in TOPICS:
                if rng.random() >= 0.45:
                    continue
                status = rng.choices(("granted", "withdrawn", "pending"), (8, 1, 1))[0]
                event_id = len(rows["event"]) + 1
                fact = {"customer_id": cid, "channel": channel, "topic": topic, "status": status}
                rows["event"].append(
                    {
                        **fact,
                        "id": event_id,
                        "source": "test",
                        "captured_at": captured,
                        "recorded_at": captured,
                    }
                )
                rows["state"].append({**fact, "captured_at": captured, "event_id": event_id})
    return rows


# -- planning both ways ------------------------------------------------------------------


def could_select(
    campaign: Campaign, profile: CustomerProfile, audiences: Audiences, day: date
) -> bool:
    """What the clause promises to keep: an active campaign, an occasion and consent
    (ignoring audience, address, window and caps, which only take more away)."""
    if campaign.paused or (campaign.ends_on and day > campaign.ends_on):
        return False
    if campaign.starts_on and day < campaign.starts_on:
        return False
    granted = audiences.granted.get(profile.id, set())
    if not any((channel, campaign.topic) in granted for channel in campaign.channels):
        return False
    return isinstance(find_occasion(campaign, profile, day, SETTINGS), Occasion)


def check_days(engine: Engine, days: Sequence[date]) -> dict[str, int]:
    """Asserts the property on every day and moment; returns counts that show the data
    exercised it (selections made, candidates kept for the trickle campaigns)."""
    counts = {"selected": 0, "held_out": 0, "possible": 0, "trickle_kept": 0, "read": 0}
    with engine.connect() as connection:
        for index, day in enumerate(days):
            now = _utc_midnight(day) + NOW_OFFSETS[index % len(NOW_OFFSETS)]
            profiles = everyone(connection, day, now)
            audiences = audiences_for(connection, profiles, day)
            for campaign in CAMPAIGNS:
                kept = candidates(connection, [campaign], day, now)
                assert kept is not None  # every campaign needs consent
                possible = [p.id for p in profiles if could_select(campaign, p, audiences, day)]
                missed = [cid for cid in possible if cid not in kept]
                assert not missed, f"{campaign.id} on {day} at {now}: {missed[:5]} left out"
                counts["possible"] += len(possible)
            for chosen in (CAMPAIGNS, TRICKLE):
                kept = candidates(connection, chosen, day, now)
                assert kept is not None
                full = outcome(plan(profiles, chosen, audiences, day, now, SETTINGS))
                narrowed = [p for p in profiles if p.id in kept]
                assert outcome(plan(narrowed, chosen, audiences, day, now, SETTINGS)) == full
                counts["selected"] += sum(1 for d in full if d[2] is Reason.SELECTED)
                counts["held_out"] += sum(1 for d in full if d[2] is Reason.HOLDOUT)
                if chosen is TRICKLE:
                    counts["trickle_kept"] += len(kept)
                    counts["read"] += len(profiles)
    return counts


# -- tests -------------------------------------------------------------------------------


def test_planning_only_the_candidates_plans_what_planning_everyone_plans(
    engine: Engine,
) -> None:
    load(engine, data_set(seed=8, customers=700))
    counts = check_days(engine, DAYS)
    # The data exercise every trigger: plenty planned, some held out, and the trickle
    # campaigns keep only a small share of the customers.
    assert counts["selected"] > 500 and counts["held_out"] > 5
    assert counts["possible"] > 1000
    assert counts["trickle_kept"] < counts["read"] * 0.25


def test_candidates_stay_a_superset_on_other_seeds_and_days(engine: Engine) -> None:
    rng = random.Random(2027)
    days = sorted(set(rng.sample(DAYS, 6)))
    load(engine, data_set(seed=31, customers=400))
    assert check_days(engine, days)["selected"] > 50


def test_no_active_campaign_reads_nobody(engine: Engine) -> None:
    load(engine, data_set(seed=3, customers=50))
    idle = [
        campaign("paused", {"type": "birthday"}, "birthday", ["email"], paused=True),
        campaign("later", {"type": "birthday"}, "birthday", ["email"], starts_on=date(2030, 1, 1)),
        campaign("first", {"type": "recurring", "cron": "0 10 1 * *"}, "newsletter", ["email"]),
    ]
    day = date(2026, 11, 24)
    now = _utc_midnight(day)
    with engine.connect() as connection:
        assert candidates(connection, idle, day, now) == set()
        assert candidates(connection, [], day, now) == set()


def test_a_broadcast_reads_only_those_who_granted_its_consent(engine: Engine) -> None:
    load(engine, data_set(seed=5, customers=200))
    broadcast = campaign("all", {"type": "recurring", "cron": "@daily"}, "offers", ["email"])
    day = date(2026, 11, 24)
    now = _utc_midnight(day)
    assert candidate_clause([broadcast], day, now, SETTINGS, consent=False) is None
    with engine.connect() as connection:
        granted = set(
            connection.execute(
                select(CONSENT_STATE.c.customer_id).where(
                    CONSENT_STATE.c.channel == "email",
                    CONSENT_STATE.c.topic == "offers",
                    CONSENT_STATE.c.status == "granted",
                )
            ).scalars()
        )
        assert candidates(connection, [broadcast], day, now) == granted
        total = connection.execute(select(func.count()).select_from(CUSTOMER)).scalar_one()
        assert 0 < len(granted) < total


def test_a_planning_run_reads_only_candidates_and_plans_what_reading_everyone_plans(
    engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings()
    seed_sample(engine, settings, tmp_path, customers=240, data_seed=5)
    with engine.connect() as connection:
        ids = list(connection.execute(select(CUSTOMER.c.id)).scalars())

    def run(customer_ids: list[str] | None) -> tuple[PlanReport, set[tuple[Any, ...]]]:
        report = plan_day(engine, settings, customer_ids=customer_ids)
        with engine.begin() as connection:
            rows = {
                tuple(row)
                for row in connection.execute(
                    select(OUTBOX.c.idempotency_key, OUTBOX.c.status, OUTBOX.c.subject)
                )
            }
            connection.execute(delete(OUTBOX))
        return report, rows

    narrowed, narrowed_rows = run(None)
    full, full_rows = run(ids)

    assert narrowed.customers == full.customers == full.candidates == 240
    assert 0 < narrowed.candidates < 240
    assert narrowed.inserted == full.inserted > 0
    assert narrowed.planned == full.planned
    assert narrowed_rows == full_rows
