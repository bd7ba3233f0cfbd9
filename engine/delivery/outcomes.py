"""Outcomes of sends, written in groups, and never given up while the process lives.

Outcomes are collected and written with one guarded ``executemany`` per kind of change
(:func:`rapport.engine.delivery.outbox.apply`) as soon as ``flush_every`` of them wait
or the oldest has waited ``flush_seconds``, and whatever is left when a pass ends.

A group that cannot be written (the database is down, the disk full, the file locked)
stays in memory, in order, and is tried again with a growing pause; the leases of its
messages are renewed meanwhile (:mod:`.leases`), so no other dispatcher sends them
again. Only the end of the process can lose them: a kill, or a stop whose grace period
ends first, in which case the ids are reported (``DispatchReport.unwritten``) and
those messages are sent again, with the same idempotency key, once their leases
expire (see :mod:`rapport.engine.delivery.dispatch` for the bounded window this gives).
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from sqlalchemy import Engine

from rapport.engine.core.logs import Throttle, batched, message_fields
from rapport.engine.core.models import MessageStatus
from rapport.engine.core.tracebacks import database_problem
from rapport.engine.delivery import outbox, suppression
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.dbthread import DatabaseThread

log = logging.getLogger("rapport.engine.delivery.dispatch")

#: The pauses between attempts to write a group that failed, in seconds.
RETRY_FIRST, RETRY_MOST = 0.2, 5.0


@dataclass
class DispatchReport:
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)  # (channel, status)
    #: Why messages were not sent: (channel, status, reason) -> count.
    reasons: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    lost_leases: int = 0
    #: Claimed, then handed back unsent (stopping, a paused channel, a failed check).
    released: int = 0
    #: (channel, seconds) for every provider call, for the latency histogram.
    latencies: list[tuple[str, float]] = field(default_factory=list)
    #: Sends cut off at the end of a stop's grace period, their claims released: the
    #: provider may have accepted them, and they will be sent again.
    abandoned: list[int] = field(default_factory=list)
    #: Messages whose outcome could not be written before the pass had to end.
    unwritten: list[int] = field(default_factory=list)
    #: The type of the last database error of the pass, if any.
    database_error: str | None = None
    #: Due messages of channels this dispatcher has not configured, by channel: not
    #: claimed, they stay queued for a dispatcher that has the channel (:mod:`.waiting`).
    waiting: Counter[str] = field(default_factory=Counter)

    def add(self, other: DispatchReport) -> None:
        """Count ``other``'s outcomes in this report too (another dispatcher's pass)."""
        self.outcomes.update(other.outcomes)
        self.reasons.update(other.reasons)
        self.lost_leases += other.lost_leases
        self.released += other.released
        self.latencies += other.latencies
        self.abandoned += other.abandoned
        self.unwritten += other.unwritten
        self.database_error = self.database_error or other.database_error
        # A count of the outbox, not of this pass's work: the larger where two counted.
        self.waiting |= other.waiting

    def count(self, status: MessageStatus) -> int:
        return sum(n for (_, s), n in self.outcomes.items() if s == status.value)

    @property
    def clean(self) -> bool:
        """Nothing abandoned and nothing left unwritten."""
        return not self.abandoned and not self.unwritten

    def __bool__(self) -> bool:
        return bool(self.outcomes or self.released or self.lost_leases or not self.clean)


@dataclass(frozen=True)
class Pending:
    """An outcome waiting to be written, with what the report and the log need of it."""

    message: Claimed
    change: outbox.Transition
    #: Why it was not sent ("" for a message that was), for ``DispatchReport.reasons``.
    reason: str = ""
    #: (kind, address, reason, detail) to add to the suppression list (a hard bounce).
    suppress: tuple[str, str, str, str | None] | None = None
    #: Decided before any send (expired, no consent, suppressed): the log says why.
    before_sending: bool = False


class Outcomes:
    """Outcomes not yet written, and when to write them (see the module doc).

    :meth:`add` hands the waiting group to the database thread once ``every`` outcomes
    wait, and otherwise arms a timer so that none waits longer than ``seconds``;
    :meth:`flush` hands over whatever waits. ``on_done`` is told the ids whose
    outcome is settled (written, or found to be another dispatcher's).
    """

    def __init__(
        self,
        engine: Engine,
        worker: str,
        report: Callable[[], DispatchReport],
        every: int,
        seconds: float,
        database: DatabaseThread,
        on_done: Callable[[Iterable[int]], None] = lambda ids: None,
    ) -> None:
        self.engine = engine
        self.worker = worker
        self.report = report
        self.every = max(every, 1)
        self.seconds = seconds
        self.database = database
        self.on_done = on_done
        self.waiting: list[Pending] = []
        #: Writes handed to the database thread and not yet done, with their ids.
        self._writes: dict[asyncio.Future[set[int]], list[int]] = {}
        self._timer: asyncio.TimerHandle | None = None
        self._pause = RETRY_FIRST
        self._throttle = Throttle(30.0)
        self.closed = False

    @property
    def failing(self) -> bool:
        """The last write failed and its outcomes wait for the next try."""
        return self._pause > RETRY_FIRST

    def add(self, pending: Pending) -> None:
        self.waiting.append(pending)
        if len(self.waiting) >= self.every and not self.failing:
            self.flush()
        elif self._timer is None:
            delay = self._pause if self.failing else self.seconds
            self._timer = asyncio.get_running_loop().call_later(delay, self.flush)

    def flush(self) -> None:
        """Hand every waiting outcome to the database thread (without waiting for it)."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        group, self.waiting = self.waiting, []
        if not group or self.closed:
            self.waiting[:0] = group
            return
        write = self.database.submit(functools.partial(self._write, group))
        self._writes[write] = [p.message.id for p in group]
        write.add_done_callback(functools.partial(self._written, group))

    async def drain(self, patience: float | None) -> list[int]:
        """Write everything, trying again after failures for up to ``patience`` seconds
        (``None``: until written); returns the ids still unwritten when it gave up.

        Giving up changes nothing: what waits is still written by a later :meth:`drain`
        or timer, until :meth:`close`."""
        end = None if patience is None else time.monotonic() + patience
        while True:
            self.flush()
            if self._writes:
                left = None if end is None else max(end - time.monotonic(), 0.0)
                await asyncio.wait(list(self._writes), timeout=left)
            if not self.waiting and not self._writes:
                return []
            left = None if end is None else end - time.monotonic()
            if left is not None and left <= 0:
                break
            if self.waiting:
                await asyncio.sleep(self._pause if left is None else min(self._pause, left))
        unwritten = [p.message.id for p in self.waiting]
        unwritten += [i for ids in self._writes.values() for i in ids]
        return sorted(set(unwritten))

    def close(self) -> None:
        """Write nothing more: the pass has ended (what still waits is reported)."""
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _write(self, group: list[Pending]) -> set[int]:
        """On the database thread: one transaction for the whole group."""
        with self.database.transaction(self.engine) as connection:
            written = outbox.apply(connection, self.worker, [p.change for p in group])
            bounced = [p for p in group if p.suppress is not None]
            if bounced:
                at = max(p.change.at for p in bounced if p.change.at is not None)
                suppression.suppress(connection, [p.suppress for p in bounced if p.suppress], at)
        return written

    def _written(self, group: list[Pending], write: asyncio.Future[set[int]]) -> None:
        """Back on the event loop: count what was written, or keep it for the next try."""
        self._writes.pop(write, None)
        if self.closed:  # the pass has ended and reported these as unwritten
            return
        if write.cancelled() or write.exception() is not None:
            error = write.exception() if not write.cancelled() else None
            self.report().database_error = database_problem(error) if error else "cancelled"
            if self._throttle.allow("write"):
                # The driver's primary message only: the rest can quote the row (addresses).
                log.error(
                    "writing %d outcomes failed (%s); keeping them and retrying every %.1f s",
                    len(group) + len(self.waiting),
                    self.report().database_error,
                    min(self._pause * 2, RETRY_MOST),
                    extra={"count": len(group) + len(self.waiting)},
                )
            self.waiting[:0] = group
            self._pause = min(self._pause * 2, RETRY_MOST)
            if self._timer is None and not self.closed:
                self._timer = asyncio.get_running_loop().call_later(self._pause, self.flush)
            return
        if self.failing:
            log.info("outcomes are being written again")
        self._pause = RETRY_FIRST
        written = write.result()
        self.on_done(p.message.id for p in group)
        self._count(group, written)

    def _count(self, group: list[Pending], written: set[int]) -> None:
        with batched():  # the group's lines in one write
            self._count_lines(group, written)

    def _count_lines(self, group: list[Pending], written: set[int]) -> None:
        report = self.report()
        for pending in group:
            message, change = pending.message, pending.change
            if change.release:
                report.released += 1
                continue
            if change.message_id not in written:
                report.lost_leases += 1
                log.warning(
                    "lease lost before the outcome was recorded", extra=message_fields(message)
                )
                continue
            report.outcomes[(message.channel, change.status.value)] += 1
            if change.status is not MessageStatus.SENT:
                report.reasons[(message.channel, change.status.value, pending.reason)] += 1
            if change.status is MessageStatus.QUEUED:
                log.info(
                    "message requeued via %s: %s; next attempt at %s",
                    message.channel,
                    pending.reason or "no reason given",
                    change.at.isoformat() if change.at else "once due",
                    extra={**message_fields(message), "status": change.status.value},
                )
            elif pending.before_sending:
                log.info(
                    "message %s: %s",
                    change.status.value,
                    pending.reason,
                    extra={**message_fields(message), "status": change.status.value},
                )
            else:
                log.info(
                    "message %s via %s",
                    change.status.value,
                    message.channel,
                    extra={**message_fields(message), "status": change.status.value},
                )
