"""Messages waiting for a channel this dispatcher has not configured.

A dispatcher claims only the channels it has (:func:`.claims.claim`). A message of
another channel (one commented out of config.yaml during an incident, or one that a
newer daemon planned for during a rolling upgrade) is left as it is: queued, no attempt
counted, until a dispatcher that has its channel sends it, or expires it once its window
has closed, as that dispatcher does with any queued message. Nothing is lost.

So that this is seen, the dispatcher that claims every configured channel (``only``
None; in ``rapport dispatch --once``, the first process) counts those messages once per
pass, by channel, into :attr:`.outcomes.DispatchReport.waiting`, and logs one warning
per channel with the count (no ids of customers: there may be thousands). A daemon
counts again every :data:`SERVE_EVERY` seconds at most (or ``daemon.dispatch_seconds``
if longer), so an incident that lasts an hour warns once a minute, not every pass of
every channel.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from typing import Protocol

from rapport.engine.delivery.outcomes import DispatchReport

log = logging.getLogger("rapport.engine.delivery.dispatch")

#: While serving, the shortest gap between two counts (and their warnings), in seconds.
SERVE_EVERY = 60.0


class WaitingOwner(Protocol):
    """What the count needs of the dispatcher that runs it."""

    stopping: bool
    report: DispatchReport

    def count_waiting(self) -> asyncio.Future[dict[str, int]]: ...

    def database_failed(self, error: BaseException) -> None: ...


async def watch(
    owner: WaitingOwner, idle: float | None, sleep: Callable[[float], Awaitable[None]]
) -> None:
    """Count once (``idle`` None: one pass), or every ``max(idle, SERVE_EVERY)``
    seconds until the dispatcher stops."""
    while not owner.stopping:
        await count(owner)
        if idle is None:
            return
        await sleep(max(idle, SERVE_EVERY))


async def count(owner: WaitingOwner) -> None:
    """Count the waiting messages into the current report, and warn of each channel."""
    try:
        found = await owner.count_waiting()
    except Exception as exc:  # the pumps meet the same database; the next count retries
        owner.database_failed(exc)
        return
    owner.report.waiting = Counter(found)
    for channel, waiting in sorted(found.items()):
        log.warning(
            "%d due messages wait for channel %r, which this dispatcher has not configured; "
            "they stay queued until a dispatcher that has it sends them",
            waiting,
            channel,
            extra={"channel": channel, "count": waiting},
        )
