"""What the two pre-filter test modules share: the campaign builder, the seeded rows'
loader and planning both ways (everyone, or only the candidates the clause keeps).

``test_prefilter_superset.py`` checks the property on seeded data,
``test_prefilter_local_dates.py`` on hand-made customers at the edges of local dates.
The test modules import these from ``tests.engine.planning.conftest`` (the name
pytest gives this file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time
from typing import Any

from sqlalchemy import Connection, Engine, insert, select

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_EVENT, CONSENT_STATE, CUSTOMER, ORDERS
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.customers.profiles import iter_profile_batches
from rapport.engine.planning.planner import Decision, Reason, history_cutoff
from rapport.engine.planning.prefilter import candidate_clause

SETTINGS = Settings()
TOPICS = ("birthday", "offers", "reorder", "winback", "feedback", "newsletter")


def campaign(cid: str, trigger: dict[str, Any], topic: str, channels: list[str], **more: Any):  # type: ignore[no-untyped-def]
    return Campaign.model_validate(
        {
            "id": cid,
            "name": cid,
            "trigger": trigger,
            "topic": topic,
            "channels": channels,
            "send_window": {"start": "00:00", "end": "23:59"},
            **more,
        }
    )


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time(0), tzinfo=UTC)


def load(engine: Engine, rows: dict[str, list[dict[str, Any]]]) -> None:
    with engine.begin() as connection:
        for table, key in (
            (CUSTOMER, "customer"),
            (ORDERS, "orders"),
            (CONSENT_EVENT, "event"),
            (CONSENT_STATE, "state"),
        ):
            if rows[key]:
                connection.execute(insert(table), rows[key])


# -- planning both ways ------------------------------------------------------------------


def everyone(connection: Connection, day: date, now: datetime) -> list[CustomerProfile]:
    cutoff = history_cutoff(day, now)
    return [p for batch in iter_profile_batches(connection, SETTINGS, cutoff) for p in batch]


def candidates(
    connection: Connection, campaigns: Sequence[Campaign], day: date, now: datetime
) -> set[str] | None:
    clause = candidate_clause(campaigns, day, now, SETTINGS)
    if clause is None:
        return None
    return set(connection.execute(select(CUSTOMER.c.id).where(clause)).scalars())


def outcome(decisions: Iterable[Decision]) -> list[tuple[Any, ...]]:
    """What planning writes to the outbox: selected and held-out decisions."""
    return [
        (
            d.customer_id,
            d.campaign,
            d.reason,
            d.channel,
            d.occasion.key if d.occasion else None,
            d.send_at,
            d.expires_at,
            d.variant,
        )
        for d in decisions
        if d.reason in (Reason.SELECTED, Reason.HOLDOUT)
    ]
