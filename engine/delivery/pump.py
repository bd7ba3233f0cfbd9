"""One channel's share of dispatching: claim its due messages, keep its connections busy.

Each channel has a pump of its own, with its own claims and its own workers (one per
connection the lane allows), so a provider that hangs or slows down holds up only its
own channel: e-mail keeps flowing while SMS waits. A pump claims a batch when its queue
runs low, and never more than the lane can send within about half a lease at the pace
it has shown, so a claimed message waits in memory for a fraction of its lease (which
the keeper renews anyway).

A pass ends when nothing of the channel is due, when the dispatcher stops, when the
lane is paused (a provider asked us to wait, or every provider is resting), or when
the database fails: in each case the messages still queued in memory are handed back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Collection
from typing import Protocol

from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.lanes import ChannelLane

log = logging.getLogger("rapport.engine.delivery.dispatch")

#: Weight of the newest send in the running average of send durations.
_SMOOTHING = 0.2


class CheckFailed(Exception):
    """The check before a send could not run (the database failed); the message was
    handed back, and this pass of the pump ends."""


class PumpOwner(Protocol):
    """What a pump needs of the dispatcher that runs it."""

    stopping: bool
    batch_size: int
    lease_seconds: float

    def claim(self, channels: Collection[str], limit: int) -> Awaitable[list[Claimed]]: ...

    def release(self, messages: Collection[Claimed], reason: str) -> None: ...

    def handle(self, message: Claimed, lane: ChannelLane) -> Awaitable[float | None]: ...

    def accept(self, claimed: list[Claimed]) -> list[Claimed]: ...

    def time_left(self) -> float | None: ...

    def unless_stopping(self, awaitable: asyncio.Future[None]) -> Awaitable[None]: ...

    def database_failed(self, error: BaseException) -> None: ...


class ChannelPump:
    """Claims and sends the due messages of ``channels`` through ``lane``."""

    def __init__(self, owner: PumpOwner, lane: ChannelLane, *, channels: Collection[str]) -> None:
        self.owner = owner
        self.lane = lane
        self.channels = channels
        self.workers = lane.concurrency
        #: Running average of a send's duration in seconds (None until one is known).
        self.seconds_per_send: float | None = None
        self.queue: deque[Claimed] = deque()
        self.exhausted = False
        self.claims = 0
        self.max_batches: int | None = None
        self._claiming: asyncio.Task[None] | None = None

    def batch_limit(self) -> int:
        """A full batch, unless the sends seen so far would not finish in half a lease."""
        limit = self.owner.batch_size
        if self.seconds_per_send:
            pace = self.workers * self.owner.lease_seconds / 2 / self.seconds_per_send
            limit = min(limit, max(int(pace), self.workers))
        return limit

    async def run(self, max_batches: int | None, idle: float | None, sleep: Sleeper) -> None:
        """One pass (``idle`` None), or passes ``idle`` seconds apart until stopped."""
        while True:
            await self.one_pass(max_batches)
            if idle is None or self.owner.stopping:
                return
            await sleep(idle)
            if self.owner.stopping:
                return

    async def one_pass(self, max_batches: int | None) -> None:
        self.queue.clear()
        self.exhausted = False
        self.claims = 0
        self.max_batches = max_batches
        workers = [asyncio.ensure_future(self._work()) for _ in range(self.workers)]
        try:
            await asyncio.gather(*workers)
        except BaseException:
            for worker in workers:
                worker.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            raise
        finally:
            if self._claiming is not None:  # a claim still on its way: take it, give it back
                with contextlib.suppress(Exception):
                    await asyncio.wait([self._claiming], timeout=self.owner.time_left())
            if self.queue:
                self.owner.release(list(self.queue), "dispatcher stopping")
                self.queue.clear()

    async def _work(self) -> None:
        while (message := await self._next()) is not None:
            try:
                seconds = await self.owner.handle(message, self.lane)
            except CheckFailed:
                self.exhausted = True
                if self.queue:
                    self.owner.release(list(self.queue), "check before sending failed")
                    self.queue.clear()
                continue
            if seconds is not None:
                previous = self.seconds_per_send
                self.seconds_per_send = (
                    seconds if previous is None else previous + _SMOOTHING * (seconds - previous)
                )

    async def _next(self) -> Claimed | None:
        while True:
            if self.owner.stopping or self._paused():
                if self.queue:
                    reason = "dispatcher stopping" if self.owner.stopping else "channel paused"
                    self.owner.release(list(self.queue), reason)
                    self.queue.clear()
                return None
            if self.queue:
                message = self.queue.popleft()
                if len(self.queue) < self.workers:
                    self._refill()  # claim the next batch while this one is sent
                return message
            if self.exhausted:
                return None
            claiming = self._refill()
            if claiming is not None:
                await self.owner.unless_stopping(claiming)

    def _paused(self) -> bool:
        return self.lane.paused_for() > 0

    def _refill(self) -> asyncio.Task[None] | None:
        if self._claiming is None and not self.exhausted:
            if self.max_batches is not None and self.claims >= self.max_batches:
                self.exhausted = True
                return None
            self._claiming = asyncio.ensure_future(self._claim())
        return self._claiming

    async def _claim(self) -> None:
        try:
            batch = await self.owner.claim(self.channels, self.batch_limit())
        except Exception as exc:
            self.exhausted = True  # this pass ends; the next one tries again
            self.owner.database_failed(exc)
            return
        finally:
            self._claiming = None
        self.claims += 1
        fresh = self.owner.accept(batch)
        if not batch:
            self.exhausted = True
        elif self.owner.stopping:
            self.owner.release(fresh, "dispatcher stopping")
        else:
            self.queue.extend(fresh)


#: Waits for ``seconds`` or until the dispatcher stops, whichever comes first.
Sleeper = Callable[[float], Awaitable[None]]
