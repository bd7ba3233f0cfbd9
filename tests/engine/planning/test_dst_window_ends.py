"""A window's end on the days clocks jump: nothing goes out after the wall-clock end.

The oracle is zoneinfo itself, minute by minute: the last moment a window holds is
the last one whose local wall time, on that local day, is still before the end.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from factories import profile

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import QuietHours, Settings
from rapport.engine.planning.planner import Audiences, Reason, decide


def daily(start: str, end: str, *, allow_late: bool = False) -> Campaign:
    return Campaign.model_validate(
        {
            "id": "daily",
            "name": "Daily",
            "trigger": {"type": "recurring", "cron": "0 9 * * *"},
            "topic": "newsletter",
            "channels": ["email"],
            "send_window": {"start": start, "end": end},
            "allow_late": allow_late,
        }
    )


def plan_day(campaign: Campaign, timezone: str, day: date, settings: Settings | None = None):  # type: ignore[no-untyped-def]
    person = profile(timezone=timezone, country=None, email="a@example.com", locale="en_US")
    before = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(days=2)
    granted = Audiences(granted={"C1": {("email", "newsletter")}})
    return decide(person, campaign, granted, day, before, settings or Settings())


def wall_clock_end(day: date, end: time, timezone: str) -> datetime:
    """The first moment (to the minute) whose wall time on ``day`` is ``end`` or later,
    scanned independently of the planner."""
    where = ZoneInfo(timezone)
    moment = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=15)
    while not (moment.astimezone(where).date() == day and moment.astimezone(where).time() >= end):
        moment += timedelta(minutes=1)
    return moment


# (zone, the day its clocks jump forward, an end inside the gap)
GAPS = [
    ("America/New_York", date(2026, 3, 8), time(2, 30)),  # 02:00 -> 03:00
    ("Europe/London", date(2026, 3, 29), time(1, 30)),  # 01:00 -> 02:00
    ("Australia/Lord_Howe", date(2026, 10, 4), time(2, 15)),  # 02:00 -> 02:30
]


@pytest.mark.parametrize(("timezone", "day", "end"), GAPS)
def test_a_send_window_ending_in_a_spring_forward_gap_closes_at_the_jump(
    timezone: str, day: date, end: time
) -> None:
    decision = plan_day(daily("00:00", end.strftime("%H:%M")), timezone, day)
    assert decision.selected
    closes = decision.expires_at
    assert closes == wall_clock_end(day, end, timezone)
    last = (closes - timedelta(seconds=1)).astimezone(ZoneInfo(timezone))
    assert last.date() == day and last.time() < end


@pytest.mark.parametrize(("timezone", "day", "end"), GAPS)
def test_quiet_hours_beginning_in_a_spring_forward_gap_hold_from_the_jump(
    timezone: str, day: date, end: time
) -> None:
    settings = Settings(
        quiet_hours={"email": QuietHours(not_before="00:00", not_after=end.strftime("%H:%M"))}
    )
    decision = plan_day(daily("00:00", "23:00", allow_late=True), timezone, day, settings)
    assert decision.selected
    assert decision.expires_at == wall_clock_end(day, end, timezone)


def test_a_window_wholly_inside_a_gap_sends_nothing() -> None:
    decision = plan_day(daily("02:05", "02:55"), "America/New_York", date(2026, 3, 8))
    assert not decision.selected


def test_a_day_the_zone_skips_has_no_window() -> None:
    """Samoa went from 29 to 31 December 2011: its 30 December never happened, and a
    message for it would have gone out on 31 December beside that day's own."""
    skipped = plan_day(daily("09:00", "20:00"), "Pacific/Apia", date(2011, 12, 30))
    assert skipped.reason is not Reason.SELECTED
    following = plan_day(daily("09:00", "20:00"), "Pacific/Apia", date(2011, 12, 31))
    assert following.selected
    assert following.send_at.astimezone(ZoneInfo("Pacific/Apia")) == datetime(
        2011, 12, 31, 9, tzinfo=ZoneInfo("Pacific/Apia")
    )


def test_a_window_opening_in_a_gap_still_opens_after_the_jump_by_the_gap() -> None:
    decision = plan_day(daily("02:30", "05:00"), "America/New_York", date(2026, 3, 8))
    assert decision.send_at == datetime(2026, 3, 8, 7, 30, tzinfo=UTC)  # 03:30 EDT
    assert decision.expires_at == datetime(2026, 3, 8, 9, 0, tzinfo=UTC)  # 05:00 EDT
