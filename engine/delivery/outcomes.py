"""Outcomes of sends, written in groups rather than one transaction a message.

Outcomes are collected and written with one guarded ``executemany`` per kind of change
(:func:`rapport.engine.delivery.outbox.apply`) as soon as ``flush_every`` of them wait
or the oldest has waited ``flush_seconds``, and whatever is left when a batch ends. A
kill between a provider's acceptance and the write leaves those rows ``sending``; they
are sent again with the same idempotency key once their lease expires (see
:mod:`rapport.engine.delivery.dispatch` for the bounded window this gives).
"""

from __future__ import annotations

import asyncio
import functools
import logging
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from sqlalchemy import Engine

from rapport.engine.core.models import MessageStatus
from rapport.engine.delivery import outbox, suppression

log = logging.getLogger("rapport.engine.delivery.dispatch")
T = TypeVar("T")


@dataclass
class DispatchReport:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, status)
    #: Why messages were not sent: (channel, status, reason) -> count.
    reasons: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    lost_leases: int = 0
    #: Claimed, then handed back unsent because the dispatcher was stopping.
    released: int = 0
    #: (channel, seconds) for every provider call, for the latency histogram.
    latencies: list[tuple[str, float]] = field(default_factory=list)

    def count(self, status: MessageStatus) -> int:
        return sum(n for (_, s), n in self.outcomes.items() if s == status.value)


@dataclass(frozen=True)
class Pending:
    """An outcome waiting to be written, with what the report and the log need of it."""

    message: outbox.Claimed
    change: outbox.Transition
    #: Why it was not sent ("" for a message that was), for ``DispatchReport.reasons``.
    reason: str = ""
    #: (kind, address, reason, detail) to add to the suppression list (a hard bounce).
    suppress: tuple[str, str, str, str | None] | None = None
    #: Decided before any send (expired, no consent, suppressed): the log says why.
    before_sending: bool = False


#: Runs a blocking function on the dispatcher's database thread.
RunInThread = Callable[[Callable[[], T]], "asyncio.Future[T]"]


class Outcomes:
    """Outcomes of one ``run_once`` not yet written, and when to write them.

    :meth:`add` hands the waiting group to the database thread once ``every`` outcomes
    wait, and otherwise arms a timer so that none waits longer than ``seconds``;
    :meth:`flush` hands over whatever waits. The thread runs one job at a time in
    order, so a group handed over before a claim is written before that claim. A
    group that cannot be written waits for the next attempt (its rows stay ``sending``
    meanwhile, and a crash in between re-sends them once their lease expires, as it
    always could); :meth:`drain` tries once more and raises if that fails too.
    """

    def __init__(
        self,
        engine: Engine,
        worker: str,
        report: DispatchReport,
        every: int,
        seconds: float,
        in_thread: RunInThread[set[int]],
    ) -> None:
        self.engine = engine
        self.worker = worker
        self.report = report
        self.every = max(every, 1)
        self.seconds = seconds
        self.in_thread = in_thread
        self.waiting: list[Pending] = []
        self._writes: list[asyncio.Future[set[int]]] = []
        self._timer: asyncio.TimerHandle | None = None
        self._error: BaseException | None = None

    def add(self, pending: Pending) -> None:
        self.waiting.append(pending)
        if len(self.waiting) >= self.every:
            self.flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.seconds, self.flush)

    def flush(self) -> None:
        """Hand every waiting outcome to the database thread (without waiting for it)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self.waiting = self.waiting, []
        if not group:
            return
        write = self.in_thread(functools.partial(self._write, group))
        write.add_done_callback(functools.partial(self._written, group))
        self._writes.append(write)

    async def drain(self) -> None:
        """Write everything still waiting and wait until it is written."""
        for _attempt in (1, 2):
            self.flush()
            while self._writes:
                writes, self._writes = self._writes, []
                await asyncio.gather(*writes, return_exceptions=True)
            if not self.waiting:
                return
        assert self._error is not None
        raise self._error

    def _write(self, group: list[Pending]) -> set[int]:
        """On the database thread: one transaction for the whole group."""
        with self.engine.begin() as connection:
            written = outbox.apply(connection, self.worker, [p.change for p in group])
            bounced = [p for p in group if p.suppress is not None]
            if bounced:
                at = max(p.change.at for p in bounced if p.change.at is not None)
                suppression.suppress(connection, [p.suppress for p in bounced if p.suppress], at)
        return written

    def _written(self, group: list[Pending], write: asyncio.Future[set[int]]) -> None:
        """Back on the event loop: count what was written, or keep it waiting."""
        if write.cancelled() or write.exception() is not None:
            self._error = write.exception() if not write.cancelled() else None
            # The error's type only: its text can quote the SQL parameters (addresses).
            log.error(
                "writing %d outcomes failed (%s); will retry",
                len(group),
                type(self._error).__name__,
            )
            self.waiting[:0] = group
            return
        written = write.result()
        report = self.report
        for pending in group:
            message, change = pending.message, pending.change
            if change.release:
                report.released += 1
                continue
            if change.message_id not in written:
                report.lost_leases += 1
                log.warning("message %s: lease lost before the outcome was recorded", message.id)
                continue
            report.outcomes[(message.channel, change.status.value)] += 1
            if change.status is not MessageStatus.SENT:
                report.reasons[(message.channel, change.status.value, pending.reason)] += 1
            if pending.before_sending:
                log.info("message %s %s: %s", message.id, change.status.value, pending.reason)
            else:
                log.info("message %s %s via %s", message.id, change.status.value, message.channel)
