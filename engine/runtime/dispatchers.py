"""Several dispatcher processes for one ``rapport dispatch --once``.

One dispatcher is one Python process: its event loop, its checks before sending and its
outcome writes share one core, and on a two-core machine it keeps a fast SMTP server
waiting (docs/benchmarks.md). So ``dispatch --once`` runs ``dispatch.processes``
dispatchers (default 0: one per core; an in-memory database keeps one), forked once the
command has started, each with its own worker id, database connections and provider
connections. Nothing is shared between them but the database, and that is all they
need: each claims its own batches (SKIP LOCKED on PostgreSQL, SQLite's single writer),
holds a lease on what it claimed and checks that lease right before each send, so two
of them never send one message, as two daemons never do. On SQLite they also share a
:class:`~rapport.engine.delivery.dbthread.Turns`, so that their database jobs take
turns instead of polling for the file's write lock, which cost a two-process pass
seconds of sleep (docs/benchmarks.md).

A channel's limits stay the channel's, not each process's:

* a channel's ``concurrency`` is divided between the processes (16 connections over two
  processes are 8 each), and no more processes run than it allows;
* a channel with one connection, or with a rate limit (``rate_per_second``, or its
  adapter's default), is served by the first process alone: two sliding windows side by
  side could send twice the rate in one window, and a fractional rate's spacing cannot
  be shared. The first process also takes the messages of channels no longer
  configured; the others claim only the channels they share
  (``Dispatcher(only=...)``).

The reports of the processes are added up into one. SIGTERM to the command is passed to
every process, each of which stops as the single dispatcher does (Ctrl-C reaches them all
already, as a terminal signals the whole process group). A signal that arrives while the
processes are being forked is not lost, nor does it kill a process before that process
can stop cleanly: SIGTERM and SIGINT are blocked in the parent from before the first fork
until its forwarding handler is installed, and in each child (which inherits the mask)
until its job has installed its own handlers and calls :func:`signals_ready`; a signal
that came in between is held by the kernel and delivered then. A command killed outright
(SIGKILL) cannot pass anything on: each process is then sent SIGTERM by the kernel
(``PR_SET_PDEATHSIG``, Linux), so it stops as on a SIGTERM instead of sending the rest
of the pass as an orphan.
"""

from __future__ import annotations

import contextlib
import ctypes
import multiprocessing
import os
import signal
import sys
from collections.abc import Callable
from multiprocessing.connection import Connection
from typing import TYPE_CHECKING, Any

from rapport.engine.core.config import Settings
from rapport.engine.core.db import in_memory
from rapport.engine.core.errors import RapportError
from rapport.engine.delivery.dbthread import Turns
from rapport.engine.delivery.lanes import default_concurrency
from rapport.engine.delivery.outcomes import DispatchReport

if TYPE_CHECKING:
    from sqlalchemy import Engine


#: The signals that stop a pass, blocked while its processes are forked.
STOP_SIGNALS = frozenset({signal.SIGTERM, signal.SIGINT})
#: Not empty in a forked dispatcher process until its job calls signals_ready().
_held: list[bool] = []
#: prctl(2) option: the signal this process gets when the thread that forked it ends.
PR_SET_PDEATHSIG = 1


class DispatcherProcessFailed(RapportError):
    """A dispatcher process ended without a report (it raised, or was killed): the
    command exits 3 saying so, not as an unexpected error in Rapport itself."""


def shared_channels(settings: Settings) -> dict[str, int]:
    """The channels several processes may serve, with their whole concurrency: no rate
    limit, and at least two connections to divide."""
    shared = {}
    for name, config in settings.channels.items():
        concurrency = config.concurrency or default_concurrency(config)
        if concurrency >= 2 and not config.rate_per_second and not _declared_rate(config):
            shared[name] = concurrency
    return shared


def process_count(settings: Settings) -> int:
    """How many dispatcher processes a pass runs (see the module doc)."""
    shared = shared_channels(settings)
    if not shared:
        return 1
    wanted = settings.dispatch.processes or os.cpu_count() or 1
    return max(min([wanted, *shared.values()]), 1)


def processes_for(settings: Settings, engine: Engine) -> int:
    """:func:`process_count`, but one where forking cannot work: an in-memory database
    (each process would have a copy of its own) or a daemonic multiprocessing process
    (which may have no children)."""
    if in_memory(engine.url) or multiprocessing.current_process().daemon:
        return 1
    return process_count(settings)


def _declared_rate(config: Any) -> bool:
    from rapport.channels.registry import adapter_class

    return any(adapter_class(p.adapter).rate_per_second for p in config.provider_list())


def share(settings: Settings, processes: int) -> tuple[Settings, frozenset[str]]:
    """``settings`` for each of ``processes`` dispatchers, and the channels the helper
    processes serve: each shared channel's concurrency divided between them (the first
    process also serves every other channel, alone)."""
    shared = shared_channels(settings)
    if processes <= 1:
        return settings, frozenset(settings.channels)
    channels = {
        name: config.model_copy(update={"concurrency": shared[name] // processes})
        if name in shared
        else config
        for name, config in settings.channels.items()
    }
    return settings.model_copy(update={"channels": channels}), frozenset(shared)


def turns(engine: Engine, processes: int) -> Turns | None:
    """What the processes of a pass share on one SQLite file so that their database
    work takes turns (:class:`rapport.engine.delivery.dbthread.Turns`); None for one
    process, and on PostgreSQL, whose row locks let them write side by side."""
    if processes <= 1 or engine.url.get_backend_name() != "sqlite":
        return None
    return Turns()


def run_in_processes(
    processes: int, job: Callable[[int], DispatchReport], before: Callable[[], None]
) -> DispatchReport:
    """``job(0)`` ... ``job(processes - 1)`` in forked processes (``before()`` first in
    each: drop what must not be shared, such as pooled database connections); their
    reports added up.

    Raises :class:`DispatcherProcessFailed` when a process gave no report, after every
    process has ended."""
    if processes <= 1:
        return job(0)
    context = multiprocessing.get_context("fork")
    children: list[tuple[Any, Connection]] = []

    def forward(signum: int, _frame: Any) -> None:
        for child, _ in children:
            if child.pid is not None and child.exitcode is None:
                os.kill(child.pid, signum)

    # Held from before the first fork (the children inherit the mask: see signals_ready)
    # until the parent forwards them, so that none is lost or kills a process half-made.
    blocked = signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    try:
        for index in range(processes):
            receive, send = context.Pipe(duplex=False)
            child = context.Process(
                target=_child, args=(job, index, before, send, os.getpid()), daemon=False
            )
            child.start()
            send.close()
            children.append((child, receive))
        previous = signal.signal(signal.SIGTERM, forward)
        # Ctrl-C reaches every process of the group: the children stop, the parent waits.
        interrupt = signal.signal(signal.SIGINT, signal.SIG_IGN)
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, blocked)
    try:
        results = [_receive(child, receive) for child, receive in children]
    finally:
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, interrupt)
    report = DispatchReport()
    failed = [r for r in results if not isinstance(r, DispatchReport)]
    for result in results:
        if isinstance(result, DispatchReport):
            report.add(result)
    if failed:
        raise DispatcherProcessFailed(
            f"{len(failed)} of {processes} dispatcher processes failed: {failed[0]}"
        )
    return report


def signals_ready() -> None:
    """Called by a job once its SIGTERM and SIGINT handlers are installed: in a forked
    dispatcher process, those signals were blocked until now (one that arrived meanwhile
    is delivered now, to the job's handlers); elsewhere nothing happens."""
    if _held:
        _held.clear()
        signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)


def _stop_with_parent(parent: int) -> None:
    """SIGTERM to this process when ``parent`` (the thread that forked it) dies, or at
    once if it already has: a forked dispatcher must not go on sending the pass as an
    orphan. The signal is held until the job's handlers are in (:func:`signals_ready`)."""
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL(None, use_errno=True)
        if libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_SET_PDEATHSIG) failed")
    if os.getppid() != parent:
        os.kill(os.getpid(), signal.SIGTERM)


def _child(
    job: Callable[[int], DispatchReport],
    index: int,
    before: Callable[[], None],
    send: Connection,
    parent: int,
) -> None:
    # Forked with STOP_SIGNALS blocked: they stay so until the job's handlers are in.
    _held.append(True)
    _stop_with_parent(parent)
    before()
    try:
        report: DispatchReport | str = job(index)
    except SystemExit as exc:
        report = f"exited {exc.code}"
    except BaseException as exc:  # reported to the parent, which fails the command
        report = f"{type(exc).__name__}: {exc}"
    with contextlib.suppress(OSError):  # the command is gone (killed): nobody reads it
        send.send(report)
    send.close()


def _receive(child: Any, receive: Connection) -> DispatchReport | str:
    try:
        result: DispatchReport | str = receive.recv()
    except EOFError:
        result = ""
    child.join()
    if isinstance(result, DispatchReport):  # an empty report (nothing to do) is falsy
        return result
    return result or f"ended without a report (exit code {child.exitcode})"
