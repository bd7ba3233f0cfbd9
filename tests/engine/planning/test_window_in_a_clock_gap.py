"""A send window lying wholly in the hour a clock change skips sends nothing that day
(docs/campaigns.md, Daylight saving time), and explain says so.

It said 'email: the send window lies in quiet hours', though e-mail has none by
default: a marketer looking for the quiet hours to change found nothing to change.
The reason code stays quiet_hours (the window's allowed part is empty); the detail
names the clock change.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from factories import profile

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import QuietHours, Settings
from rapport.engine.planning.planner import Audiences, Decision, Reason, decide


def daily(start: str, end: str) -> Campaign:
    return Campaign.model_validate(
        {
            "id": "daily",
            "name": "Daily",
            "trigger": {"type": "recurring", "cron": "0 9 * * *"},
            "topic": "newsletter",
            "channels": ["email"],
            "send_window": {"start": start, "end": end},
        }
    )


def plan_day(campaign: Campaign, day: date, settings: Settings | None = None) -> Decision:
    person = profile(
        timezone="America/New_York", country=None, email="a@example.com", locale="en_US"
    )
    before = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(days=2)
    granted = Audiences(granted={"C1": {("email", "newsletter")}})
    return decide(person, campaign, granted, day, before, settings or Settings())


def test_a_window_wholly_in_the_spring_forward_gap_is_said_to_be_skipped_by_the_clock() -> None:
    decision = plan_day(daily("02:00", "02:30"), date(2027, 3, 14))
    assert decision.reason is Reason.QUIET_HOURS
    assert decision.detail == (
        "email: the send window 02:00-02:30 does not exist on 2027-03-14 in "
        "America/New_York (the clocks skip it)"
    )


def test_a_window_wholly_in_quiet_hours_is_still_said_to_be() -> None:
    settings = Settings(quiet_hours={"email": QuietHours(not_before="07:00", not_after="22:00")})
    decision = plan_day(daily("02:00", "02:30"), date(2027, 3, 14), settings)
    assert decision.reason is Reason.QUIET_HOURS
    assert decision.detail == "email: the send window lies in quiet hours"
