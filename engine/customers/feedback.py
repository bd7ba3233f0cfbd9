"""Feedback answers: storing one answer per request, and whether it was answered.

A feedback request is one occasion of the ``feedback`` campaign (``feedback:<order>``).
Its link (:func:`rapport.consent.links.feedback_link`) names the customer, the channel
and the occasion (carried in the token's ``topic`` slot), so an answer belongs to
exactly one request; the table's unique key keeps the first answer and ignores the
rest.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from rapport.consent.tokens import TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.core.models import FEEDBACK_ANSWER, OUTBOX
from rapport.engine.core.timeutil import local_date
from rapport.engine.customers.lifecycle import stage_of, tier_of
from rapport.engine.customers.profiles import load_profile

DEFAULT_CAMPAIGN = "feedback"
MAX_COMMENT = 2000


def answered(connection: Connection, customer_id: str, occasion: str) -> bool:
    found = connection.execute(
        select(FEEDBACK_ANSWER.c.id).where(
            FEEDBACK_ANSWER.c.customer_id == customer_id, FEEDBACK_ANSWER.c.occasion == occasion
        )
    ).first()
    return found is not None


def _campaign(connection: Connection, customer_id: str, occasion: str) -> str:
    """The campaign whose message carried the request (``feedback`` if none is found)."""
    found = connection.execute(
        select(OUTBOX.c.campaign).where(
            OUTBOX.c.customer_id == customer_id, OUTBOX.c.occasion == occasion
        )
    ).first()
    return found.campaign if found is not None else DEFAULT_CAMPAIGN


def record_answer(
    connection: Connection,
    settings: Settings,
    claims: TokenClaims,
    score: int,
    comment: str | None,
    now: datetime,
) -> bool:
    """Store the answer unless this request has one already; True if stored.

    Two submits racing past the check both insert; the unique key rejects the second
    with an ``IntegrityError``, which the caller treats as "already answered"."""
    occasion = claims.topic or ""
    if answered(connection, claims.customer_id, occasion):
        return False
    profile = load_profile(connection, settings, claims.customer_id, now)
    if profile is None:
        return False
    today = local_date(now, profile.timezone)
    history = profile.history
    text = (comment or "").strip()[:MAX_COMMENT] or None
    values = {
        "customer_id": claims.customer_id,
        "occasion": occasion,
        "campaign": _campaign(connection, claims.customer_id, occasion),
        "channel": claims.channel,
        "score": score,
        "comment": text,
        "locale": profile.locale,
        "stage": stage_of(
            history, history.last_order_day(profile.timezone), today, settings.lifecycle
        ),
        "tier": tier_of(history.spend_12m_on(today), settings.tiers),
        "answered_at": now,
    }
    connection.execute(FEEDBACK_ANSWER.insert().values(**values))
    return True
