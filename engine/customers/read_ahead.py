"""Reading the next page while the caller works on this one.

On PostgreSQL a planning run spends about a third of its reading waiting for the
server (the query's work and the rows on the wire), with the planner's core idle.
:func:`read_ahead` runs a reader on a connection of its own in a thread, one item
ahead of its consumer, so that wait overlaps the planning of the page before: the
driver releases the GIL while it waits, and the server works on another core.

The reader only reads (each statement sees what was committed when it ran, as on the
caller's own connection under READ COMMITTED), so nothing the caller decides depends
on which connection read a page. At most ``depth`` items wait in memory; an error in
the reader is raised in the consumer, and a consumer that stops early (an error of
its own, a signal, a closed generator) stops the reader before it returns.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator
from typing import TypeVar

from sqlalchemy import Connection, Engine

T = TypeVar("T")

#: How often a blocked side looks whether the other has gone.
_POLL_SECONDS = 0.1


class _End:
    """The reader's last item: ``error`` is what it raised, None when it finished."""

    def __init__(self, error: BaseException | None = None) -> None:
        self.error = error


def read_ahead(
    engine: Engine, produce: Callable[[Connection], Iterator[T]], depth: int = 1
) -> Iterator[T]:
    """The items ``produce`` yields on a connection of its own, read in a thread up to
    ``depth`` items ahead of the caller."""
    items: queue.Queue[T | _End] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def offer(item: T | _End) -> bool:
        while not stop.is_set():
            try:
                items.put(item, timeout=_POLL_SECONDS)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            with engine.connect() as connection:
                for item in produce(connection):
                    if not offer(item):
                        return
        except BaseException as exc:  # handed to the consumer, which raises it
            offer(_End(exc))
            return
        offer(_End())

    reader = threading.Thread(target=work, name="rapport-read-ahead", daemon=True)
    reader.start()
    try:
        while True:
            try:
                item = items.get(timeout=_POLL_SECONDS)
            except queue.Empty:
                if not reader.is_alive() and items.empty():
                    raise RuntimeError("the read-ahead thread ended without a result") from None
                continue
            if isinstance(item, _End):
                if item.error is not None:
                    raise item.error
                return
            yield item
    finally:
        stop.set()
        reader.join()
