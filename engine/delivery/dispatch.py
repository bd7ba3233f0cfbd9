"""Dispatching due messages: claim, check again right before sending, send, record.

The guarantee, precisely (docs/operations.md says it for operators):

- A message is handed to a provider only while this dispatcher holds a live lease on
  it: leases are renewed while messages wait, are sent, or have their outcomes
  waiting to be written (:mod:`.leases`), and checked in the database immediately
  before each send (:mod:`.fence`). Two dispatchers never send the same message
  because one of them was slow.
- That same check re-reads consent, the address and the suppression list: a
  withdrawal that commits before a message's check always stops it, and the check
  happens right before the provider call.
- When the database cannot be written, no new send starts (the check fails);
  outcomes already known are kept in memory and written on recovery (:mod:`.outcomes`).
- Delivery is at-least-once at one boundary only: a dispatcher killed after a provider
  accepted a message and before its outcome was written leaves the row ``sending``;
  when the lease expires it is sent again, with the same idempotency key (the
  e-mail's Message-ID, the SMS provider's ``Idempotency-Key``) so the provider or the
  receiving side can drop the copy. A kill can catch up to ``flush_every`` waiting
  outcomes plus the group being written and one send per connection, none accepted
  more than ``flush_seconds`` (plus one write) earlier. Messages claimed but not yet
  sent are never duplicated by a kill: they were not sent.

Each channel has its own pump (:mod:`.pump`), so one channel never waits for another;
one not configured here is never claimed (:mod:`.waiting`). Only ids go to the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import random
import socket
import time
import uuid
from collections.abc import Callable, Collection, Mapping
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine

from rapport.channels.base import Channel, SendResult
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import in_memory
from rapport.engine.core.logs import Throttle, message_fields
from rapport.engine.core.models import MessageStatus
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.core.tracebacks import database_problem
from rapport.engine.delivery import claims, outbox, suppression, waiting
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.dbthread import DatabaseHealth, DatabaseThread, Turns
from rapport.engine.delivery.fence import Fence, Verdict
from rapport.engine.delivery.lanes import ChannelLane
from rapport.engine.delivery.leases import LeaseKeeper
from rapport.engine.delivery.outcomes import DispatchReport, Outcomes, Pending
from rapport.engine.delivery.outgoing import build_outgoing
from rapport.engine.delivery.pump import ChannelPump, CheckFailed
from rapport.engine.delivery.results import outcome_of

log = logging.getLogger(__name__)
#: After a stop's grace period, how long outcomes may still take to be written.
STOP_WRITE_SECONDS = 1.5
#: How long a pass keeps retrying outcome writes between its own checks for a stop.
_DRAIN_STEP = 1.0


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{uuid.uuid4().hex[:8]}"


class _Pass:
    """What one ``run_once`` or ``serve`` shares among its pumps."""

    def __init__(self, dispatcher: Dispatcher) -> None:
        d = dispatcher
        self.database = DatabaseThread(d.health, inline=in_memory(d.engine.url), turns=d.turns)
        self.keeper = LeaseKeeper(d.engine, self.database, d.worker_id, d.clock, d.lease)
        self.outcomes = Outcomes(
            d.engine,
            d.worker_id,
            lambda: d.report,
            d.flush_every,
            d.flush_seconds,
            self.database,
            on_done=self.keeper.drop,
        )
        kinds = {name: d.kind(name) for name in d.settings.channels} | {
            name: d.kind(name) for name in d.channels
        }
        self.fence = Fence(
            d.engine,
            self.database,
            d.worker_id,
            kinds,
            lambda: (d.clock(), d.clock() + d.lease),
            d.settings.quiet_hours,
        )
        #: Customers texted in this pass (their outcomes may not be written yet).
        self.texted: set[str] = set()
        #: The mailboxes that hard-bounced in this pass, likewise (in any case of letters).
        self.bounced = suppression.Mailboxes()


class Dispatcher:
    #: Outcomes written together at most; also the most a crash can leave unrecorded
    #: after their providers accepted them (plus one in flight per connection).
    flush_every: int = 50
    #: The longest an outcome waits to be written, in seconds.
    flush_seconds: float = 0.1

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        channels: Mapping[str, Channel | ChannelLane],
        signer: Signer,
        *,
        clock: Clock = utcnow,
        worker_id: str | None = None,
        rng: random.Random | None = None,
        write_patience: float | None = None,
        only: Collection[str] | None = None,
        turns: Turns | None = None,
    ) -> None:
        """``write_patience``: how long a pass keeps writing its outcomes while the
        database fails (None: until written or stopped). ``only``: claim only these
        channels (None: every configured one, and count the due messages of others,
        which wait: :mod:`.waiting`). ``turns``: shared with the other processes of a
        pass on SQLite (:class:`.dbthread.Turns`)."""
        self.engine = engine
        self.settings = settings
        self.channels: dict[str, ChannelLane] = {
            name: lane if isinstance(lane, ChannelLane) else ChannelLane(name, [(name, [lane])])
            for name, lane in channels.items()
        }
        self.signer = signer
        self.clock = clock
        self.worker_id = worker_id or default_worker_id()
        self.rng = rng or random.Random()
        self.write_patience = write_patience
        self.only = None if only is None else frozenset(only)
        self.turns = turns
        self.batch_size = settings.dispatch.batch_size
        self.lease_seconds = float(settings.dispatch.lease_seconds)
        self.lease = timedelta(seconds=self.lease_seconds)
        #: What the database work of this dispatcher last did (``/readyz`` asks it).
        self.health = DatabaseHealth()
        self.report = DispatchReport()
        self.stopping = False
        self._kinds: dict[str, str] = {}
        self._pass: _Pass | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._deadline: float | None = None
        self._sends: dict[int, asyncio.Task[SendResult]] = {}
        self._throttle = Throttle(30.0)

    # -- running ------------------------------------------------------------------------
    async def run_once(self, max_batches: int | None = None) -> DispatchReport:
        """Send everything due now, channel by channel in parallel, until nothing is due.

        ``max_batches`` limits the claims of each channel (tests use it).
        """
        return await self._run(max_batches, None)

    async def serve(
        self,
        idle_seconds: float,
        on_report: Callable[[DispatchReport], None] | None = None,
    ) -> DispatchReport:
        """Dispatch continuously until :meth:`stop`: each channel looks for due messages
        again ``idle_seconds`` after it found none. Every ``idle_seconds`` the report of
        the period goes to ``on_report``; the last one is returned."""
        return await self._run(None, idle_seconds, on_report)

    async def _run(
        self,
        max_batches: int | None,
        idle: float | None,
        on_report: Callable[[DispatchReport], None] | None = None,
    ) -> DispatchReport:
        self.report = DispatchReport()
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        if self.stopping:
            return self.report
        run = self._pass = _Pass(self)
        pumps = [
            ChannelPump(self, lane, channels=[name])
            for name, lane in self.channels.items()
            if self.only is None or name in self.only
        ]
        keeper = asyncio.ensure_future(run.keeper.run())
        reporter = None
        if idle is not None and on_report is not None:
            reporter = asyncio.ensure_future(self._report_every(idle, on_report))
        tasks = [asyncio.ensure_future(p.run(max_batches, idle, self._sleep)) for p in pumps]
        if self.only is None:  # one dispatcher of a pass counts what waits for others
            tasks.append(asyncio.ensure_future(waiting.watch(self, idle, self._sleep)))
        try:
            await asyncio.gather(*tasks)
        except BaseException:  # nothing of this pass may run on after it
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            raise
        finally:
            if reporter is not None:
                reporter.cancel()
            try:
                await self._write_outcomes(run)
            finally:
                keeper.cancel()
                run.database.close()
                await run.database.ended(self._end_wait())
                self._pass = None
        return self.report

    async def _write_outcomes(self, run: _Pass) -> None:
        started = time.monotonic()
        while True:
            end = self._write_deadline(started)
            step = _DRAIN_STEP if end is None else max(min(_DRAIN_STEP, end - time.monotonic()), 0)
            unwritten = await run.outcomes.drain(step)
            end = self._write_deadline(started)
            if not unwritten or (end is not None and time.monotonic() >= end):
                break
        run.outcomes.close()
        self.report.unwritten = unwritten
        if unwritten:
            log.error(
                "outcomes of %d messages could not be written (%s); they stay 'sending' and "
                "are sent again when their leases expire",
                len(unwritten),
                self.report.database_error or "database unavailable",
                extra={"message_ids": list(unwritten)},
            )

    def _end_wait(self) -> float:
        """How long to wait for the database thread's last job when the pass ends."""
        left = self.time_left()
        return STOP_WRITE_SECONDS if left is None else min(left, 0.5)

    def _write_deadline(self, started: float) -> float | None:
        if self._deadline is not None:
            return self._deadline + STOP_WRITE_SECONDS
        return None if self.write_patience is None else started + self.write_patience

    async def _sleep(self, seconds: float) -> None:
        assert self._wake is not None
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), seconds)

    async def _report_every(
        self, seconds: float, on_report: Callable[[DispatchReport], None]
    ) -> None:
        while True:
            await asyncio.sleep(seconds)
            if self.stopping:  # what the stop cuts off belongs in the final report
                continue
            report, self.report = self.report, DispatchReport()
            on_report(report)

    def stop(self, grace: float | None = None) -> None:
        """Claim nothing more; release what is claimed but not handed over; let sends in
        flight finish, for at most ``grace`` seconds when given. Callable from any thread."""
        self.stopping = True
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            same = asyncio.get_running_loop() is loop
        except RuntimeError:
            same = False
        if same:
            self._begin_stop(grace)
        else:
            loop.call_soon_threadsafe(self._begin_stop, grace)

    def _begin_stop(self, grace: float | None) -> None:
        if self._wake is not None:
            self._wake.set()
        if grace is not None and self._deadline is None:
            self._deadline = time.monotonic() + grace
            asyncio.get_running_loop().call_later(grace, self._abandon)

    def _abandon(self) -> None:
        """The grace period is over: cut off the sends still in flight, and stop waiting
        for checks still running (their messages are handed back unsent)."""
        for task in list(self._sends.values()):
            task.cancel()
        if self._pass is not None:
            self._pass.fence.abandon()

    def time_left(self) -> float | None:
        """Seconds until a stop's deadline for writing (None: no deadline)."""
        end = self._deadline
        return None if end is None else max(end + STOP_WRITE_SECONDS - time.monotonic(), 0.0)

    def accept(self, claimed: list[Claimed]) -> list[Claimed]:
        """On the event loop, with a claim's rows: hold the leases of those not held yet.

        A claim can return a message this dispatcher still holds (its lease ran out
        during a database outage while its outcome waited to be written): that one is
        already being dealt with and is left out.
        """
        assert self._pass is not None
        keeper = self._pass.keeper
        fresh = [m for m in claimed if m.id not in keeper.held]
        keeper.hold(m.id for m in fresh)
        return fresh

    async def aclose(self) -> None:
        await asyncio.gather(*(channel.aclose() for channel in self.channels.values()))

    # -- what the pumps call ------------------------------------------------------------
    def claim(self, channels: Collection[str], limit: int) -> asyncio.Future[list[Claimed]]:
        assert self._pass is not None
        job = functools.partial(self._claim, self._pass.database, channels, limit)
        return self._pass.database.submit(job)

    def _claim(
        self, database: DatabaseThread, channels: Collection[str], limit: int
    ) -> list[Claimed]:
        """On the database thread: claim a batch (its leases are held by :meth:`accept`)."""
        now, worker, lease = self.clock(), self.worker_id, self.lease
        with database.transaction(self.engine) as db:
            return claims.claim(db, worker, now, lease, limit, channels=channels)

    def count_waiting(self) -> asyncio.Future[dict[str, int]]:
        """The due messages of channels this dispatcher has not configured, by channel."""
        assert self._pass is not None
        database = self._pass.database

        def count() -> dict[str, int]:
            with database.transaction(self.engine) as db:
                return claims.waiting(db, self.clock(), self.channels)

        return database.submit(count)

    def release(self, messages: Collection[Claimed], reason: str) -> None:
        """Give claimed, unsent messages back (written with the other outcomes)."""
        for message in messages:
            release = outbox.Transition(message.id, MessageStatus.QUEUED, release=True)
            self._outcome(Pending(message, release, reason))

    def database_failed(self, error: BaseException) -> None:
        self.report.database_error = database_problem(error)
        if self._throttle.allow("database"):
            why = self.report.database_error
            log.error("database work failed (%s); no new sends until it succeeds again", why)

    def kind(self, channel: str) -> str:
        kind = self._kinds.get(channel)
        if kind is None:
            config = self.settings.channels.get(channel)
            kind = self._kinds[channel] = (config.kind if config else None) or channel
        return kind

    def _outcome(self, pending: Pending) -> None:
        assert self._pass is not None, "outcomes are recorded inside a pass"
        self._pass.outcomes.add(pending)

    async def handle(self, message: Claimed, lane: ChannelLane) -> float | None:
        """Check, send and record one message; returns how long the send took.

        A bug met on the way is logged and the message handed back, never left
        claimed in a pass that goes on."""
        try:
            return await self._handle(message, lane)
        except (CheckFailed, asyncio.CancelledError):
            raise
        except Exception:
            log.exception(
                "unexpected error before sending; the message is handed back to the queue",
                extra=message_fields(message),
            )
            self.release([message], "unexpected error before sending")
            return None

    async def _handle(self, message: Claimed, lane: ChannelLane) -> float | None:
        assert self._pass is not None
        run = self._pass
        paused = lane.paused_for()
        if paused > 0:
            self._requeue_paused(message, lane, paused)
            return None
        # The rate limit first: the check stays last before the send.
        if not await self._turn(lane) or self.stopping:
            self.release([message], "dispatcher stopping")
            return None
        try:
            verdict = await run.fence.check(message)
        except asyncio.CancelledError:
            if self._deadline is None or time.monotonic() < self._deadline:
                raise
            self.release([message], "dispatcher stopping")  # its check never came back
            return None
        except Exception as exc:  # the database failed: do not send without the check
            self.database_failed(exc)
            self.release([message], "check before sending failed")
            raise CheckFailed from exc
        if verdict.lost:
            run.keeper.drop([message.id])
            self.report.lost_leases += 1
            log.warning(
                "lease lost before sending; the message is not sent", extra=message_fields(message)
            )
            return None
        kind = self.kind(message.channel)
        if verdict.status is None and (kind, verdict.address) in run.bounced:
            verdict = Verdict(
                status=MessageStatus.SUPPRESSED, reason="address is on the suppression list"
            )
        if verdict.status is not None:
            # The check counted an attempt for it; none was made.
            at, why = verdict.retry_at or self.clock(), verdict.reason
            change = outbox.Transition(message.id, verdict.status, at, error=why, uncount=True)
            self._outcome(Pending(message, change, verdict.reason, before_sending=True))
            return None
        if self.stopping:  # checked, not sent: hand it back with its attempt
            release = outbox.Transition(
                message.id, MessageStatus.QUEUED, release=True, uncount=True
            )
            self._outcome(Pending(message, release, "dispatcher stopping"))
            return None
        assert verdict.recipient is not None and verdict.address is not None
        return await self._send(message, lane, kind, verdict)

    async def _turn(self, lane: ChannelLane) -> bool:
        """Wait for the lane's rate limit; False when the dispatcher stops meanwhile."""
        if lane.limiter is None:
            return True
        turn = asyncio.ensure_future(lane.take_turn())
        await self.unless_stopping(turn)
        if not turn.done():
            turn.cancel()
            return False
        return True

    async def unless_stopping(self, awaitable: asyncio.Future[Any]) -> None:
        """Wait for ``awaitable`` (without cancelling it) or for a stop, what comes first."""
        assert self._wake is not None
        stop = asyncio.ensure_future(self._wake.wait())
        try:
            await asyncio.wait({awaitable, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()

    def _requeue_paused(self, message: Claimed, lane: ChannelLane, paused: float) -> None:
        when = self.clock() + timedelta(seconds=paused)
        reason = f"channel {lane.name} paused"
        change = outbox.Transition(message.id, MessageStatus.QUEUED, when, error=reason)
        self._outcome(Pending(message, change, reason))

    async def _send(
        self, message: Claimed, lane: ChannelLane, kind: str, verdict: Verdict
    ) -> float | None:
        assert verdict.address is not None and self._pass is not None
        try:
            outgoing = build_outgoing(
                message, verdict, kind, self.settings, self.signer, self._pass.texted
            )
        except ValueError as exc:  # a header value the builder refuses
            result = SendResult.permanent(str(exc))
            self._record(message, result, kind, verdict.address)
            return None
        started = time.monotonic()
        task = asyncio.ensure_future(lane.send(outgoing, turn_taken=True))
        self._sends[message.id] = task
        try:
            result = await task
        except asyncio.CancelledError:
            if not task.cancelled() or self._deadline is None:
                raise
            self.report.abandoned.append(message.id)
            log.warning(
                "send abandoned at the end of the grace period; the provider may have "
                "accepted the message, and it will be sent again with the same idempotency key",
                extra=message_fields(message),
            )
            self.release([message], "send abandoned at the end of the grace period")
            return None
        finally:
            self._sends.pop(message.id, None)
        seconds = time.monotonic() - started
        self.report.latencies.append((message.channel, seconds))
        self._record(message, result, kind, verdict.address)
        return seconds

    def _record(self, message: Claimed, result: SendResult, kind: str, address: str) -> None:
        pending = outcome_of(message, result, kind, address, self.clock(), self.settings, self.rng)
        if pending.suppress is not None:
            assert self._pass is not None
            self._pass.bounced.add((kind, address))
        self._outcome(pending)
