"""What a batch of customers already has in the outbox, as caps and re-planning need it.

Read once per planning batch (one range query, or IN-lists of 500), so frequency caps
and "already planned" are decided in memory by the pure planner.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import Connection, select

from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.core.timeutil import local_date
from rapport.engine.customers.profiles import tuples
from rapport.engine.planning.caps import RecentMessage

if TYPE_CHECKING:
    from rapport.engine.campaigns.model import Campaign

_COUNTED = (MessageStatus.QUEUED, MessageStatus.SENDING, MessageStatus.SENT)
HISTORY_DAYS = 90
#: A century: no message is older, and a date cannot go back 99999999999 days.
MAX_LOOKBACK_DAYS = 36_500


def lookback_days(campaigns: Iterable[Campaign]) -> int:
    """Days of outbox history planning reads: :data:`HISTORY_DAYS`, or longer for a
    campaign whose ``frequency.min_days_between`` is longer (180 held as 90 when only
    90 days were read)."""
    longest = max([HISTORY_DAYS, *(c.frequency.min_days_between or 0 for c in campaigns)])
    return min(longest, MAX_LOOKBACK_DAYS)  # 99999999999 days is before any date


_HISTORY_COLUMNS = (
    OUTBOX.c.customer_id,
    OUTBOX.c.campaign,
    OUTBOX.c.channel,
    OUTBOX.c.occasion,
    OUTBOX.c.status,
    OUTBOX.c.send_at,
    OUTBOX.c.transactional,
)


def history_for(
    connection: Connection,
    zones: dict[str, str],
    day: date,
    *,
    span: tuple[str, str] | None = None,
    days: int = HISTORY_DAYS,
) -> tuple[dict[str, list[RecentMessage]], dict[str, set[tuple[str, str]]]]:
    """For caps and re-planning: each customer's recent marketing messages (in their own
    local days) and every (campaign, occasion) already in the outbox, over the last
    ``days`` days before ``day`` (:func:`lookback_days`). ``span`` (first and last id of a keyset
    batch that holds every id in between) reads the batch with one range query."""
    since = datetime.combine(day - timedelta(days=days), time(0), tzinfo=UTC)
    recent: dict[str, list[RecentMessage]] = defaultdict(list)
    planned: dict[str, set[tuple[str, str]]] = defaultdict(set)
    if span is not None:
        queries = [OUTBOX.c.customer_id.between(*span)]
    else:
        ids = sorted(zones)
        queries = [OUTBOX.c.customer_id.in_(ids[i : i + 500]) for i in range(0, len(ids), 500)]
    for which in queries:
        # The driver's tuples (see ``tuples``): a status is its text, ``transactional``
        # 0 or 1 on SQLite, ``send_at`` naive UTC (text on SQLite).
        rows = tuples(connection, select(*_HISTORY_COLUMNS).where(which, OUTBOX.c.send_at >= since))
        for customer_id, campaign, channel, occasion, status, send_at, transactional in rows:
            if customer_id not in zones:
                continue
            planned[customer_id].add((campaign, occasion))
            if status in _COUNTED and not transactional:
                if isinstance(send_at, str):  # SQLite's text; naive UTC as stored
                    send_at = datetime.fromisoformat(send_at)
                local = local_date(send_at, zones[customer_id])
                recent[customer_id].append(RecentMessage(campaign, channel, local, occasion))
    return dict(recent), dict(planned)
