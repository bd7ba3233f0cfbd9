"""The dispatcher's database thread, and what it knows of the database's health.

Every piece of the dispatcher's database work (claims, the checks before sending,
lease renewals, outcome writes) runs on one thread of its own, one job at a time and
in order, so the event loop keeps every provider connection busy meanwhile, and a
group of outcomes handed over before a claim is written before that claim.

Forked dispatchers of one pass on one SQLite file (``dispatch.processes``) take turns
for their jobs through :class:`Turns`: SQLite lets one writer in at a time, and a
writer that finds the file locked polls (sleeps of 1, 2, 5, 10... ms between tries),
so two processes writing side by side spent seconds of a pass asleep while their
checks before sending, which every send waits for, queued behind the sleep. A lock
held by the kernel wakes the next one as soon as the other's transaction ends.

The thread is a daemon thread: a write stuck in the driver (a SQLite file locked by
another process waits out its busy timeout) must not keep a stopping process alive
past its grace period. What it last saw is kept in :class:`DatabaseHealth`, which
``/readyz`` reports.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import queue
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from rapport.engine.core.tracebacks import database_problem

if TYPE_CHECKING:
    from sqlalchemy import Connection, Engine

T = TypeVar("T")

#: A job running this long is reported as stuck (a lock held elsewhere, a hung server).
STUCK_SECONDS = 10.0
#: A connection kept between jobs is given back after this long without one.
HELD_IDLE_SECONDS = 1.0


@dataclass
class DatabaseHealth:
    """Whether the dispatcher's database work succeeds, as ``/readyz`` asks it."""

    #: When the first of the failures in a row happened (monotonic), None when fine.
    failing_since: float | None = None
    #: The type of the last error: its text may quote SQL parameters (addresses).
    last_error: str = ""
    #: When the job now running started (monotonic), None when idle.
    busy_since: float | None = None

    def succeeded(self) -> None:
        self.failing_since = None
        self.last_error = ""

    def failed(self, error: BaseException) -> None:
        if self.failing_since is None:
            self.failing_since = time.monotonic()
        self.last_error = database_problem(error)

    def problem(self) -> str | None:
        """None while database work succeeds; otherwise why the dispatcher is not ready."""
        now = time.monotonic()
        if self.failing_since is not None:
            return (
                f"database writes failing for {now - self.failing_since:.0f} s ({self.last_error})"
            )
        if self.busy_since is not None and now - self.busy_since >= STUCK_SECONDS:
            return f"database work blocked for {now - self.busy_since:.0f} s"
        return None


def _retrieved(future: asyncio.Future[Any]) -> None:
    if not future.cancelled():
        future.exception()


class PassEnded(RuntimeError):
    """A job handed over after the dispatcher's pass ended, and so never run."""


class Turns:
    """One database job at a time across the processes forked after it was made.

    A POSIX record lock on an unnamed temporary file: each process holds it for itself
    (a forked child does not share its parent's lock), a waiter sleeps in the kernel
    and wakes when the holder lets go, and a process that dies holding it lets go of
    it, so a killed dispatcher cannot stop the others. Between the threads of one
    process it does not exclude: each dispatcher has one database thread.
    """

    def __init__(self) -> None:
        # Open for the pass (the lock lives on it), not within one block.
        self._file = tempfile.TemporaryFile()  # noqa: SIM115

    def __enter__(self) -> None:
        fcntl.lockf(self._file.fileno(), fcntl.LOCK_EX)

    def __exit__(self, *_exc: object) -> None:
        fcntl.lockf(self._file.fileno(), fcntl.LOCK_UN)


class DatabaseThread:
    """Runs blocking jobs one at a time on a daemon thread; results come back as futures.

    ``inline`` runs each job at once on the caller's thread instead: an in-memory
    SQLite database exists once per connection and its work cannot move threads.
    ``turns``: each job runs holding it (see :class:`Turns`).
    """

    def __init__(
        self, health: DatabaseHealth, *, inline: bool = False, turns: Turns | None = None
    ) -> None:
        self.health = health
        self.inline = inline
        self.turns = turns
        self._jobs: queue.SimpleQueue[tuple[Callable[[], Any], Callable[..., None]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._closed = False
        self._ended = threading.Event()
        #: The connection the jobs' transactions run on (:meth:`transaction`), and
        #: when its last transaction ended (monotonic).
        self._held: Connection | None = None
        self._held_since = 0.0

    def submit(self, job: Callable[[], T]) -> asyncio.Future[T]:
        """Queue ``job``; the future completes on the calling event loop."""
        loop = asyncio.get_running_loop()
        done: asyncio.Future[T] = loop.create_future()
        # Whoever awaits it still gets the error; a job nobody waits for any more (the
        # pass ended) must not be reported as "exception never retrieved".
        done.add_done_callback(_retrieved)
        if self._closed:
            done.set_exception(PassEnded("the dispatcher's pass has ended"))
            return done
        if self.inline:
            self._settle(done, job)
            return done

        def settle(result: Any = None, error: BaseException | None = None) -> None:
            def on_loop() -> None:
                if done.cancelled():
                    return
                if error is not None:
                    done.set_exception(error)
                else:
                    done.set_result(result)

            if not loop.is_closed():
                loop.call_soon_threadsafe(on_loop)

        if self._thread is None:
            self._thread = threading.Thread(
                target=self._work, name="rapport-dispatch-db", daemon=True
            )
            self._thread.start()
        self._jobs.put((job, settle))
        return done

    def _settle(self, done: asyncio.Future[T], job: Callable[[], T]) -> None:
        try:
            result = self._run(job)
        except Exception as exc:
            done.set_exception(exc)
        else:
            done.set_result(result)

    def _run(self, job: Callable[[], T]) -> T:
        self.health.busy_since = time.monotonic()
        try:
            if self.turns is None:
                result = job()
            else:
                with self.turns:
                    result = job()
        except Exception as exc:
            self.health.failed(exc)
            raise
        finally:
            self.health.busy_since = None
        self.health.succeeded()
        return result

    @contextlib.contextmanager
    def transaction(self, engine: Engine) -> Iterator[Connection]:
        """A job's transaction, on a connection this thread keeps from job to job: a
        checkout from the pool and its return cost more Python than a check's own
        statements. After a failed job, or when it has been idle for
        :data:`HELD_IDLE_SECONDS`, the connection goes back to the pool (which rolls
        it back, or drops it if it is broken) and the next job checks one out again,
        tested for liveness on PostgreSQL: a daemon idle for hours does not find a
        connection the server or a firewall closed meanwhile. Only from the thread's
        jobs."""
        connection = self._held
        now = time.monotonic()
        if connection is not None and now - self._held_since > HELD_IDLE_SECONDS:
            self._release_connection()
            connection = None
        if connection is None:
            connection = self._held = engine.connect()
        try:
            with connection.begin():
                yield connection
        except BaseException:
            self._release_connection()
            raise
        self._held_since = time.monotonic()

    def _release_connection(self) -> None:
        connection, self._held = self._held, None
        if connection is not None:
            with contextlib.suppress(Exception):
                connection.close()

    def _work(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, settle = item
            if self._closed:  # the pass ended: it reported what was not written
                settle(error=PassEnded("the dispatcher's pass has ended"))
                continue
            try:
                result = self._run(job)
            except Exception as exc:
                settle(error=exc)
            else:
                settle(result)
        self._release_connection()
        self._ended.set()

    def close(self) -> None:
        """End the thread (without waiting); jobs not yet started are dropped."""
        self._closed = True
        if self._thread is not None:
            self._jobs.put(None)
        elif self.inline:
            self._release_connection()

    async def ended(self, timeout: float) -> bool:
        """Wait up to ``timeout`` seconds for the thread to finish the job it is running
        (its transaction then no longer holds row locks another dispatcher would skip)."""
        if self._thread is None:
            return True
        end = time.monotonic() + timeout
        while not self._ended.is_set() and time.monotonic() < end:
            await asyncio.sleep(0.005)
        return self._ended.is_set()
