"""What "today" and "now" mean for planning a day.

``today_utc`` is the default planning day; ``planning_now`` is the moment a day is
planned from, so planning ahead sees every local window of that day still open and
planning today does not schedule windows that have already closed. Both read the
real clock; this module imports nothing from Rapport.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta


def today_utc() -> date:
    return datetime.now(UTC).date()


def planning_now(day: date, *, hypothetical: bool = False) -> datetime:
    """The moment to plan ``day`` from: the real clock, or the day's first moment if later.

    Planning ahead (a future date) must see every local window of that day still open;
    planning today must not schedule windows that have already closed. The earliest
    time zone (UTC+14) starts its day 14 hours before UTC does. A ``hypothetical``
    question about a past day (``plan --dry-run``, ``explain``) is answered as if it
    had been planned in time.
    """
    earliest = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14)
    now = datetime.now(UTC)
    if hypothetical and day < now.date() - timedelta(days=1):
        return earliest
    return max(now, earliest)
