"""Reading a provider's ``Retry-After``: how long it asked us to wait, in seconds.

RFC 9110 section 10.2.3 allows two forms, a number of seconds (``Retry-After: 120``)
and an HTTP date (``Retry-After: Fri, 31 Dec 1999 23:59:59 GMT``). Providers send both,
so :func:`parse_retry_after` reads both into one number the lane and the dispatcher can
use: a date in the past is 0 (try now), anything beyond :data:`MAX_RETRY_AFTER` is cut
to it (a typo or a broken proxy must not park a channel for a year), and a value that
is neither form is None: the header says nothing we can use, so ordinary backoff
applies.

This is the one place that parses the header; the HTTP adapters call it for every
transient reply.
"""

from __future__ import annotations

import math
import re
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Final

__all__ = ["MAX_RETRY_AFTER", "held_wait", "parse_retry_after"]

#: The longest wait honoured, in seconds (24 hours); longer asks are cut to it.
MAX_RETRY_AFTER: Final = 86_400.0
#: delay-seconds is ``1*DIGIT``; a decimal fraction is tolerated, as some providers send it.
_SECONDS = re.compile(r"\d+(?:\.\d+)?")


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait that a ``Retry-After`` value asks for; None if it cannot be read.

    ``now`` (an aware datetime, default the current time) is what an HTTP date is
    measured from.

    >>> parse_retry_after("120")
    120.0
    >>> parse_retry_after(" 1.5 ")
    1.5
    >>> now = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    >>> parse_retry_after("Sun, 01 Mar 2026 12:02:00 GMT", now=now)
    120.0
    >>> parse_retry_after("Sun, 01 Mar 2026 11:00:00 GMT", now=now)  # in the past
    0.0
    >>> parse_retry_after("999999999999")  # absurd: cut to 24 hours
    86400.0
    >>> parse_retry_after("soon") is None, parse_retry_after("-5") is None
    (True, True)
    >>> parse_retry_after(None) is None, parse_retry_after("") is None
    (True, True)
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    if _SECONDS.fullmatch(text):
        return min(float(text), MAX_RETRY_AFTER)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    if when.tzinfo is None:  # an HTTP date is always GMT (RFC 9110 section 5.6.7)
        when = when.replace(tzinfo=UTC)
    delay = (when - (now or datetime.now(UTC))).total_seconds()
    return min(max(delay, 0.0), MAX_RETRY_AFTER)


def held_wait(retry_after: object) -> float | None:
    """An adapter's ``SendResult.retry_after`` as a wait to honour: held to 0 ..
    :data:`MAX_RETRY_AFTER`; None when there is none or it is not a number of seconds
    (NaN, or a third-party adapter's header passed on as text): backoff applies.

    >>> held_wait(120), held_wait(-5), held_wait(1e12)
    (120.0, 0.0, 86400.0)
    >>> held_wait(float("nan")) is None, held_wait("30") is None, held_wait(None) is None
    (True, True, True)
    """
    if isinstance(retry_after, bool) or not isinstance(retry_after, int | float):
        return None
    if math.isnan(retry_after):
        return None
    return min(max(float(retry_after), 0.0), MAX_RETRY_AFTER)
