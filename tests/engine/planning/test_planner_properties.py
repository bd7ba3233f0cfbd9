"""Properties of the planner over random customers, consent, campaigns and dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, available_timezones

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Caps, CapsConfig, Settings
from rapport.engine.customers.lifecycle import OrderHistory
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.caps import RecentMessage
from rapport.engine.planning.planner import (
    Audiences,
    Reason,
    decide,
    in_holdout,
    plan,
)

ZONES = sorted(z for z in available_timezones() if "/" in z and not z.startswith("Etc/"))
TOPICS = ("birthday", "offers")
PAIRS = [(c, t) for c in ("email", "sms") for t in TOPICS]


@st.composite
def customers(draw: st.DrawFn, day: date) -> CustomerProfile:
    has_birthday_today = draw(st.booleans())
    birthday = date(1992, day.month, day.day) if has_birthday_today else None
    last = draw(st.integers(1, 500))
    return CustomerProfile(
        id=f"C{draw(st.integers(0, 10**6))}",
        locale=draw(st.sampled_from(["en_US", "fa_IR", "zh_CN", "de_DE"])),
        timezone=draw(st.sampled_from(ZONES)),
        email=draw(st.sampled_from([None, "a@example.com"])),
        phone=draw(st.sampled_from([None, "+989121234567"])),
        country=draw(st.sampled_from([None, "US", "IR", "CN", "GB", "DE"])),
        birthday=birthday,
        history=OrderHistory(
            order_count=draw(st.integers(0, 8)),
            last_order_at=datetime.combine(day, time(12), tzinfo=UTC) - timedelta(days=last),
        ),
    )


@st.composite
def campaigns(draw: st.DrawFn, index: int) -> Campaign:
    start = draw(st.integers(0, 22))
    end = draw(st.integers(start + 1, 23))
    return Campaign.model_validate(
        {
            "id": f"c{index}",
            "name": f"Campaign {index}",
            "trigger": draw(st.sampled_from([{"type": "birthday"}, {"type": "holiday"}])),
            "topic": draw(st.sampled_from(TOPICS)),
            "channels": draw(st.permutations(["email", "sms"]).map(lambda p: p[: 1 + index % 2])),
            "send_window": {"start": f"{start:02d}:00", "end": f"{end:02d}:59"},
            "priority": draw(st.integers(0, 5)),
            "holdout_percent": draw(st.sampled_from([0, 0, 10, 50])),
            "allow_late": draw(st.booleans()),
        }
    )


@st.composite
def scenarios(draw: st.DrawFn):  # type: ignore[no-untyped-def]
    day = draw(st.dates(date(2024, 1, 1), date(2028, 12, 31)))
    people = draw(st.lists(customers(day), min_size=1, max_size=6, unique_by=lambda c: c.id))
    chosen = [draw(campaigns(i)) for i in range(draw(st.integers(1, 4)))]
    granted = {p.id: set(draw(st.lists(st.sampled_from(PAIRS), unique=True))) for p in people}
    recent = {
        p.id: [
            RecentMessage(
                "old",
                draw(st.sampled_from(["email", "sms"])),
                day - timedelta(days=draw(st.integers(0, 10))),
            )
            for _ in range(draw(st.integers(0, 3)))
        ]
        for p in people
    }
    caps = CapsConfig(
        per_day=draw(st.integers(1, 3)),
        per_week=draw(st.integers(1, 6)),
        channels={"sms": Caps(per_week=draw(st.integers(1, 3)))},
    )
    now_offset = draw(st.integers(-20, 40))
    now = datetime.combine(day, time(0), tzinfo=UTC) + timedelta(hours=now_offset)
    return day, people, chosen, Audiences(granted=granted, recent=recent), caps, now


def _week(messages: list[RecentMessage], day: date) -> list[RecentMessage]:
    return [m for m in messages if day - timedelta(days=6) <= m.day <= day]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenarios())
def test_planner_invariants(scenario) -> None:  # type: ignore[no-untyped-def]
    day, people, chosen, audiences, caps, now = scenario
    config = Settings().model_copy(update={"caps": caps})
    decisions = list(plan(people, chosen, audiences, day, now, config))
    by_id = {c.id: c for c in chosen}
    profiles = {p.id: p for p in people}
    selected = [d for d in decisions if d.selected]

    for d in selected:
        campaign = by_id[d.campaign]
        # nobody without granted consent for the topic and channel is planned
        assert (d.channel, campaign.topic) in audiences.granted[d.customer_id]
        # holdout members are never planned
        assert not in_holdout(campaign, d.customer_id)
        # SMS only inside 08:00-21:00 local time
        if d.channel == "sms":
            zone = ZoneInfo(profiles[d.customer_id].timezone)
            assert d.send_at is not None and d.expires_at is not None
            opens, closes = d.send_at.astimezone(zone), d.expires_at.astimezone(zone)
            assert time(8) <= opens.time() <= time(21)
            assert closes.time() <= time(21) and closes.date() == day
            assert d.send_at < d.expires_at

    # no customer exceeds any configured cap
    for person in people:
        mine = [d for d in selected if d.customer_id == person.id]
        before = audiences.recent[person.id]
        today = [m for m in before if m.day == day]
        assert len(mine) <= max(0, caps.per_day - len(today)) or not mine
        assert len(today) + len(mine) <= max(caps.per_day, len(today))
        assert len(_week(before, day)) + len(mine) <= max(caps.per_week, len(_week(before, day)))
        sms_week = [m for m in _week(before, day) if m.channel == "sms"]
        sms_new = [d for d in mine if d.channel == "sms"]
        assert len(sms_week) + len(sms_new) <= max(
            caps.channels["sms"].per_week or 0, len(sms_week)
        )

    # re-planning is idempotent: the same inputs give the same plan, and once the
    # selected messages are in the outbox, planning again adds nothing
    assert decisions == list(plan(people, chosen, audiences, day, now, config))
    planned: dict[str, set[tuple[str, str]]] = {}
    recent = {k: list(v) for k, v in audiences.recent.items()}
    for d in decisions:
        if d.occasion is not None and d.reason in (Reason.SELECTED, Reason.HOLDOUT):
            planned.setdefault(d.customer_id, set()).add((d.campaign, d.occasion.key))
        if d.selected:
            recent[d.customer_id].append(RecentMessage(d.campaign, d.channel or "", day))
    again = Audiences(granted=audiences.granted, recent=recent, planned=planned)
    assert not [d for d in plan(people, chosen, again, day, now, config) if d.selected]
    assert not [
        d for d in plan(people, chosen, again, day, now, config) if d.reason is Reason.HOLDOUT
    ]


def _transition_days(zone_name: str, year: int) -> list[date]:
    zone = ZoneInfo(zone_name)
    days = []
    day = date(year, 1, 1)
    previous = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
    while day.year == year:
        day += timedelta(days=1)
        offset = datetime.combine(day, time(12), tzinfo=zone).utcoffset()
        if offset != previous:
            days.extend([day - timedelta(days=1), day])
        previous = offset
    return days


@pytest.mark.parametrize("year", [2026])
def test_sms_stays_in_allowed_hours_on_every_zones_dst_transition_days(year: int) -> None:
    sms = Campaign.model_validate(
        {
            "id": "sms",
            "name": "SMS",
            "trigger": {"type": "birthday"},
            "topic": "birthday",
            "channels": ["sms"],
            "send_window": {"start": "00:00", "end": "23:59"},
        }
    )
    config = Settings()
    checked = 0
    for zone_name in sorted(available_timezones()):
        zone = ZoneInfo(zone_name)
        for day in _transition_days(zone_name, year):
            person = CustomerProfile(
                id="C1",
                locale="en_US",
                timezone=zone_name,
                phone="+12025550123",
                birthday=date(1992, day.month, day.day),  # 1992: leap year
            )
            before = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(days=1)
            decision = decide(
                person, sms, Audiences(granted={"C1": {("sms", "birthday")}}), day, before, config
            )
            assert decision.selected, (zone_name, day, decision.detail)
            opens = decision.send_at.astimezone(zone)  # type: ignore[union-attr]
            closes = decision.expires_at.astimezone(zone)  # type: ignore[union-attr]
            assert opens.date() == closes.date() == day, (zone_name, day)
            assert time(8) <= opens.time() and closes.time() <= time(21), (zone_name, day)
            checked += 1
    assert checked > 100  # many zones change their clocks in a year
