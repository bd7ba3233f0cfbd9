"""Keeping the leases of every message a dispatcher holds, for as long as it holds it.

A lease that runs out while its message still waits in memory, is being sent, or has
its outcome waiting to be written lets another dispatcher claim the message and send it
again. So the keeper renews the leases of all of them every third of a lease, and a
message is let go only when its outcome is written (or it turned out to be someone
else's). A renewal that fails (the database is down) is tried again at the next turn;
no new send starts meanwhile, because the check before each send fails too.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from sqlalchemy import Engine

from rapport.engine.core.logs import Throttle
from rapport.engine.delivery import claims
from rapport.engine.delivery.dbthread import DatabaseThread

log = logging.getLogger("rapport.engine.delivery.dispatch")


class LeaseKeeper:
    """The ids this dispatcher holds, renewed every ``lease / 3`` seconds."""

    def __init__(
        self,
        engine: Engine,
        database: DatabaseThread,
        worker: str,
        clock: Callable[[], datetime],
        lease: timedelta,
    ) -> None:
        self.engine = engine
        self.database = database
        self.worker = worker
        self.clock = clock
        self.lease = lease
        self.held: set[int] = set()
        #: Held once, then found to be another dispatcher's (or no longer sending).
        self.lost: set[int] = set()
        self._throttle = Throttle(60.0)

    @property
    def interval(self) -> float:
        return max(self.lease.total_seconds() / 3, 0.5)

    def hold(self, ids: Iterable[int]) -> None:
        """Called on the event loop, as :meth:`drop` is, so the two keep their order."""
        self.held.update(ids)

    def drop(self, ids: Iterable[int]) -> None:
        self.held.difference_update(ids)

    async def run(self) -> None:
        """Renew until cancelled."""
        while True:
            await asyncio.sleep(self.interval)
            await self.renew()

    async def renew(self) -> None:
        """Renew every held lease; again at once if that took long (a lock held
        elsewhere), since what it wrote counted from before the wait."""
        for _ in range(3):
            started = time.monotonic()
            await self._renew_once()
            if time.monotonic() - started < self.interval / 2:
                return

    async def _renew_once(self) -> None:
        ids = sorted(self.held)
        if not ids:
            return
        try:
            still = await self.database.submit(functools.partial(self._renew, ids))
        except Exception as exc:
            if self._throttle.allow("renew"):
                log.error(
                    "renewing %d leases failed (%s); retrying in %.0f s",
                    len(ids),
                    type(exc).__name__,
                    self.interval,
                    extra={"count": len(ids)},
                )
            return
        gone = (set(ids) - still) & self.held  # outcomes written meanwhile are not lost
        if gone:
            self.lost |= gone
            self.held -= gone
            log.warning(
                "%d leases were lost to another dispatcher; not sending those",
                len(gone),
                extra={"count": len(gone), "message_ids": sorted(gone)},
            )

    def _renew(self, ids: list[int]) -> set[int]:
        with self.database.transaction(self.engine) as connection:
            return claims.renew(connection, self.worker, ids, self.clock() + self.lease)
