"""When a message may go out: the campaign's local window within the channel's hours.

All times are the recipient's local wall-clock times on the planned local date,
converted to UTC with ``zoneinfo`` so daylight-saving days are handled: an opening
time that does not exist (clocks jump forward over it) resolves to the same wall time
after the jump, a closing time to the jump itself (never later: every moment after
it reads later than the closing time), and a time that happens twice resolves to its
first occurrence. A day the zone skips whole (Pacific/Apia, 30 December 2011) has an
empty window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.timeutil import local_end, local_moment


@dataclass(frozen=True)
class Window:
    opens: datetime
    closes: datetime

    @property
    def empty(self) -> bool:
        return self.opens >= self.closes


END_OF_DAY = time(23, 59, 59)


def channel_window(
    campaign: Campaign,
    kind: str,
    country: str | None,
    timezone: str,
    day: date,
    settings: Settings,
) -> tuple[Window, Window]:
    """(the window it should go in, the latest it may go) for one channel, in UTC.

    The campaign's window is cut to the channel's allowed hours (quiet hours). With
    ``allow_late`` the latest moment is the end of the allowed hours, else the end of
    the campaign's window.
    """
    start, end, allowed_start, allowed_end = _wall_clock(campaign, kind, country, settings)
    return _windows(start, end, allowed_start, allowed_end, campaign.allow_late, timezone, day)


def empty_window_why(
    campaign: Campaign,
    kind: str,
    country: str | None,
    timezone: str,
    day: date,
    settings: Settings,
) -> str:
    """Why :func:`channel_window` found no moment to send on ``day``: quiet hours leave
    none of the campaign's window, or the clocks skip the part they leave (a window
    wholly in a spring-forward gap, a day the zone skips whole)."""
    start, end, allowed_start, allowed_end = _wall_clock(campaign, kind, country, settings)
    opens, closes = max(start, allowed_start), min(end, allowed_end)
    if opens >= closes:
        return "the send window lies in quiet hours"
    return (
        f"the send window {opens:%H:%M}-{closes:%H:%M} does not exist on {day.isoformat()} "
        f"in {timezone} (the clocks skip it)"
    )


def _wall_clock(
    campaign: Campaign, kind: str, country: str | None, settings: Settings
) -> tuple[time, time, time, time]:
    """(window start, window end, allowed start, allowed end), local wall-clock times."""
    window = campaign.send_window
    start = window.start if window else settings.planning.default_window_start
    end = window.end if window else settings.planning.default_window_end
    allowed_start, allowed_end = time(0), END_OF_DAY
    hours = settings.quiet_hours.get(kind)
    if hours is not None:
        rule = hours.for_country(country)
        allowed_start, allowed_end = rule.not_before, rule.not_after
    return start, end, allowed_start, allowed_end


@lru_cache(maxsize=8192)
def _windows(
    start: time,
    end: time,
    allowed_start: time,
    allowed_end: time,
    allow_late: bool,
    timezone: str,
    day: date,
) -> tuple[Window, Window]:
    """The windows in UTC; remembered, since a run asks the same few hundred (time
    zone, quiet hours) combinations for every customer of a day."""
    opens = local_moment(day, max(start, allowed_start), timezone)
    closes = local_end(day, min(end, allowed_end), timezone)
    window = Window(opens, closes)
    latest = Window(opens, local_end(day, allowed_end, timezone)) if allow_late else window
    return window, latest


def days_between(earlier: date, later: date) -> int:
    return (later - earlier).days


def week_of(day: date) -> tuple[date, date]:
    """The rolling week that ends on ``day`` (seven local days)."""
    return day - timedelta(days=6), day
