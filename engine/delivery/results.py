"""What a provider's answer becomes: the outbox change for one sent message.

A pure decision, so tests can call it with any answer: accepted means sent; a
transient refusal means another attempt later, at the time the provider asked for
(``Retry-After``) or after a jittered backoff, until ``dispatch.max_attempts`` sends
reached the provider; anything else fails the message, and a bad address (a hard
bounce) goes on the suppression list.

What a provider answered is written as every database takes it (:func:`storable`): a
NUL (which PostgreSQL refuses in text) and a lone surrogate (a byte of the reply that
was not UTF-8, which no driver can encode) become U+FFFD, a reason is cut to the
width of the suppression list's ``detail`` column, and a provider id longer than the
outbox's ``provider_id`` column is not kept (logged). An outcome that cannot be
written is kept and retried for as long as the process lives, so one such answer
would hold every outcome written with it and, after a restart, have them sent again.

A third-party adapter may break the contract in what it returns (a provider id that is
a number, a wait that is not a number of seconds): the id and the reason are taken as
text, a wait is held to 0 .. 24 h (NaN: the backoff), and should the answer still not
make an outcome, the message is recorded ``sent`` (accepted) or ``failed``. It is never
handed back as unsent: the provider was called, and a message handed back was sent
again on every pass, without end.
"""

from __future__ import annotations

import logging
import random
import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, String

from rapport.channels.base import Outcome, SendResult
from rapport.channels.retry_after import held_wait
from rapport.engine.core.config import Settings
from rapport.engine.core.logs import message_fields
from rapport.engine.core.models import OUTBOX, SUPPRESSION, MessageStatus
from rapport.engine.delivery import outbox
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.outcomes import Pending

log = logging.getLogger("rapport.engine.delivery.dispatch")


def _width(column: ColumnElement[Any]) -> int:
    """The length of a ``String(n)`` column."""
    kind = column.type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


#: The widths of the columns a provider's answer is written to.
PROVIDER_ID_WIDTH = _width(OUTBOX.c.provider_id)
DETAIL_WIDTH = _width(SUPPRESSION.c.detail)
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def storable(text: str | None, width: int | None = None) -> str | None:
    """``text`` as any database stores it: NUL and lone surrogates as U+FFFD, at most
    ``width`` characters."""
    if text is None:
        return None
    text = _UNSTORABLE.sub("\ufffd", text)
    return text if width is None else text[:width]


def backoff(attempt: int, settings: Settings, rng: random.Random) -> timedelta:
    """Capped exponential backoff with full jitter (AWS's recommendation)."""
    ceiling = min(
        settings.dispatch.backoff_max_seconds,
        settings.dispatch.backoff_base_seconds * 2 ** max(attempt - 1, 0),
    )
    return timedelta(seconds=rng.uniform(0, ceiling))


def _text(value: object) -> str | None:
    return None if value is None else str(value)


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
    try:
        return _outcome_of(message, result, kind, address, now, settings, rng)
    except Exception:  # the provider was called: never hand the message back unsent
        log.exception(
            "the adapter's answer could not be recorded as it is; the message is "
            "recorded %s, not sent again",
            "sent" if result.outcome is Outcome.ACCEPTED else "failed",
            extra=message_fields(message),
        )
        if result.outcome is Outcome.ACCEPTED:
            return Pending(message, outbox.Transition(message.id, MessageStatus.SENT, now))
        why = "the adapter's answer could not be read"
        failed = outbox.Transition(message.id, MessageStatus.FAILED, now, error=why)
        return Pending(message, failed, why)


def _outcome_of(
    message: Claimed,
    result: SendResult,
    kind: str,
    address: str,
    now: datetime,
    settings: Settings,
    rng: random.Random,
) -> Pending:
    reason = storable(_text(result.reason), DETAIL_WIDTH) or ""
    attempts = message.attempts + 1  # the check before sending counted this one
    if result.outcome is Outcome.ACCEPTED:
        provider_id = storable(_text(result.provider_id))
        if provider_id is not None and len(provider_id) > PROVIDER_ID_WIDTH:
            log.warning(
                "the provider's id for a sent message has %d characters, more than the "
                "%d kept; not kept (its delivery receipts will not find the message)",
                len(provider_id),
                PROVIDER_ID_WIDTH,
                extra=message_fields(message),
            )
            provider_id = None
        sent = outbox.Transition(message.id, MessageStatus.SENT, now, provider_id=provider_id)
        return Pending(message, sent)
    if result.outcome is Outcome.TRANSIENT and (
        not result.reached or attempts < settings.dispatch.max_attempts
    ):
        if (wait := held_wait(result.retry_after)) is not None:  # the provider said when
            when = now + timedelta(seconds=wait)
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
    failed = outbox.Transition(message.id, MessageStatus.FAILED, now, error=reason or None)
    bounce = (kind, address, "bounce", reason or None) if result.suppress else None
    return Pending(message, failed, reason, bounce)
