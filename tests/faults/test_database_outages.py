"""The database unwritable mid-dispatch (issue 14, point 3): nothing lost, no resend storm.

A ``rapport dispatch`` process sends SMS through a provider that takes a little while
per message; once it is well under way the database stops taking writes, for real:

* PostgreSQL: the private cluster is killed (``pg_ctl stop -m immediate``) for longer
  than a lease, then started again on the same port;
* another connection holds the write lock (SQLite's, or on PostgreSQL an EXCLUSIVE
  lock on the outbox table);
* SQLite: the file's tmpfs is filled to the last block (``database or disk is full``).

While the database cannot be written no new send may start (at most the sends already
on the wire, one per connection, arrive afterwards). When it is back every message is
sent, every outcome the dispatcher had is written, and re-sends stay inside the
bounded window: one per connection plus one flush group (the sends accepted within one
flush interval).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from datetime import timedelta
from pathlib import Path

from faults.cluster import PrivateCluster, TableLock
from faults.conftest import Launch
from faults.procs import LEASE, seed, settled, statuses, wait_for, write_config
from faults.provider import Request, SMSProvider
from faults.sqlite_faults import TinyDisk, WriteLock

from rapport.engine.core.models import OUTBOX

MESSAGES = 20
CONNECTIONS = 2
#: How long the provider takes per message: 20 a second over two connections.
DELAY = 0.1
#: How long a fault lasts where the lease does not matter to it.
SHORT_OUTAGE = 1.0
#: The longest an outcome waits to be written (the dispatcher's flush interval).
FLUSH_SECONDS = 0.1


def flush_group(requests: list[Request], seconds: float = FLUSH_SECONDS) -> int:
    """The most sends the provider accepted within any ``seconds``."""
    times = sorted(r.answered_at for r in requests if r.answered_at is not None)
    most, first = 0, 0
    for last, at in enumerate(times):
        while times[first] < at - timedelta(seconds=seconds):
            first += 1
        most = max(most, last - first + 1)
    return most


def dispatch_through(
    url: str,
    tmp_path: Path,
    provider: SMSProvider,
    launch: Launch,
    fault: Callable[[], AbstractContextManager[object]],
    seconds: float,
) -> None:
    """Dispatch MESSAGES SMS, make the database unwritable for ``seconds`` once a quarter
    are sent, then check what the module docstring promises."""
    queued = seed(url, ["sms"] * MESSAGES)
    provider.delay = DELAY
    config = write_config(
        tmp_path, url, sms_url=provider.url, batch=10, sms=f", concurrency: {CONNECTIONS}"
    )
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")
    assert provider.wait_for(MESSAGES // 4, timeout=30), dispatcher.tail()
    with fault():
        began = time.monotonic()
        time.sleep(seconds)
        ended = time.monotonic()
    done = wait_for(lambda: settled(url), timeout=LEASE * 4 + 20)
    survived = dispatcher.alive()
    if not done:
        dispatcher.dump_stacks()
    dispatcher.stop()

    requests = provider.snapshot()
    during = [r.key for r in requests if began <= r.arrived < ended]
    assert len(during) <= CONNECTIONS, f"{len(during)} sends started while unwritable"
    window = CONNECTIONS + flush_group(requests)
    assert provider.duplicates() <= window, provider.per_key()
    assert survived, dispatcher.tail()
    assert done, statuses(url)
    assert statuses(url) == {"sent": MESSAGES}  # every outcome written, none lost
    assert set(provider.per_key()) == {message.key for message in queued}


def test_a_postgresql_cluster_killed_past_the_lease_loses_nothing_and_resends_within_the_window(
    pg_cluster: PrivateCluster,
    cluster_url: str,
    tmp_path: Path,
    sms_provider: SMSProvider,
    launch: Launch,
) -> None:
    @contextlib.contextmanager
    def killed() -> Iterator[None]:
        pg_cluster.kill()
        try:
            yield
        finally:
            pg_cluster.start()

    dispatch_through(cluster_url, tmp_path, sms_provider, launch, killed, LEASE + 0.5)


def test_a_write_lock_held_elsewhere_stops_new_sends_and_loses_nothing(
    tmp_path: Path, fault_url: str, sms_provider: SMSProvider, launch: Launch
) -> None:
    """SQLite: another connection holds the file's write lock; PostgreSQL: another
    connection holds an EXCLUSIVE lock on the outbox table (reads go on)."""
    lock: WriteLock | TableLock
    if fault_url.startswith("sqlite"):
        lock = WriteLock(Path(fault_url.removeprefix("sqlite:///")))
    else:
        lock = TableLock(fault_url, OUTBOX.name)

    @contextlib.contextmanager
    def locked() -> Iterator[None]:
        lock.acquire()
        try:
            yield
        finally:
            lock.release()

    dispatch_through(fault_url, tmp_path, sms_provider, launch, locked, SHORT_OUTAGE)


def test_a_full_disk_under_sqlite_stops_new_sends_and_loses_nothing(
    tiny_disk_url: tuple[str, TinyDisk],
    tmp_path: Path,
    sms_provider: SMSProvider,
    launch: Launch,
) -> None:
    url, disk = tiny_disk_url

    @contextlib.contextmanager
    def full() -> Iterator[None]:
        disk.fill()
        assert disk.full()
        try:
            yield
        finally:
            disk.free()

    dispatch_through(url, tmp_path, sms_provider, launch, full, SHORT_OUTAGE)
