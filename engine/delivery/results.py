"""What a provider's answer becomes: the outbox change for one sent message.

A pure decision, so tests can call it with any answer: accepted means sent; a
transient refusal means another attempt later, at the time the provider asked for
(``Retry-After``) or after a jittered backoff, until ``dispatch.max_attempts`` sends
reached the provider; anything else fails the message, and a bad address (a hard
bounce) goes on the suppression list.
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from rapport.channels.base import Outcome, SendResult
from rapport.engine.core.config import Settings
from rapport.engine.core.models import MessageStatus
from rapport.engine.delivery import outbox
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.outcomes import Pending


def backoff(attempt: int, settings: Settings, rng: random.Random) -> timedelta:
    """Capped exponential backoff with full jitter (AWS's recommendation)."""
    ceiling = min(
        settings.dispatch.backoff_max_seconds,
        settings.dispatch.backoff_base_seconds * 2 ** max(attempt - 1, 0),
    )
    return timedelta(seconds=rng.uniform(0, ceiling))


def outcome_of(
    message: Claimed,
    result: SendResult,
    kind: str,
    address: str,
    now: datetime,
    settings: Settings,
    rng: random.Random,
) -> Pending:
    """The outcome to write for ``message`` after the provider answered ``result``."""
    reason = result.reason or ""
    attempts = message.attempts + 1  # the check before sending counted this one
    if result.outcome is Outcome.ACCEPTED:
        sent = outbox.Transition(
            message.id, MessageStatus.SENT, now, provider_id=result.provider_id
        )
        return Pending(message, sent)
    if result.outcome is Outcome.TRANSIENT and (
        not result.reached or attempts < settings.dispatch.max_attempts
    ):
        if result.retry_after is not None:  # the provider said when
            when = now + timedelta(seconds=result.retry_after)
        else:
            when = now + backoff(attempts, settings, rng)
        retry = outbox.Transition(
            message.id,
            MessageStatus.QUEUED,
            when,
            error=reason or "transient",
            uncount=not result.reached,
        )
        return Pending(message, retry, reason or "transient")
    failed = outbox.Transition(message.id, MessageStatus.FAILED, now, error=result.reason)
    bounce = (kind, address, "bounce", result.reason) if result.suppress else None
    return Pending(message, failed, reason, bounce)
