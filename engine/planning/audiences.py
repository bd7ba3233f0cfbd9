"""What planning reads about a batch of customers besides their profiles: consent,
suppression and message history (:class:`~rapport.engine.planning.planner.Audiences`).

A module of its own so that ``rapport explain`` and previews, which decide for a
few customers and render or write nothing, read audiences exactly as a plan run does
without importing the renderer, the outbox and the channels a run needs.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import date
from typing import Any

from rapport.consent.state import granted_pairs
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.delivery.suppression import SuppressionSnapshot, suppressed_addresses
from rapport.engine.planning.history import HISTORY_DAYS, history_for
from rapport.engine.planning.planner import Audiences


def audiences_for(
    connection: Any,
    batch: Sequence[CustomerProfile],
    day: date,
    suppression: SuppressionSnapshot | None = None,
    topics: Collection[str] | None = None,
    history_days: int = HISTORY_DAYS,
) -> Audiences:
    """Consent, suppression and message history of a batch: three queries, not 3 x N.

    A :class:`~rapport.engine.customers.profiles.ProfileBatch` with a ``span`` is read by id
    range; ``suppression`` (the run's snapshot) replaces the suppression query;
    ``topics`` (the run's campaigns' topics) limits the consent read to them;
    ``history_days`` is how far back the outbox is read (``history.lookback_days``).
    """
    ids = [c.id for c in batch]
    span = getattr(batch, "span", None)
    granted = granted_pairs(connection, ids, span=span, topics=topics)
    # A generator: a run's snapshot of an empty suppression list asks about none of
    # them (the bench's 63,180 candidates: 126,360 lookups and a list a batch).
    addresses = ((kind, a) for c in batch for kind in ("email", "sms") if (a := c.address(kind)))
    zones = {c.id: c.timezone for c in batch}
    recent, planned = history_for(connection, zones, day, span=span, days=history_days)
    return Audiences(
        granted=granted,
        suppressed=suppressed_addresses(connection, addresses, snapshot=suppression),
        recent=recent,
        planned=planned,
    )
