"""``/readyz`` tells the truth about writing (issue 14, point 8).

``rapport run`` with its web app, dispatching SMS that keep coming due. Ready (200)
at first; then the database stops taking writes while it still answers reads, for
real:

* SQLite: another connection holds the write lock (every write waits);
* PostgreSQL: the private cluster makes every transaction read-only (every write
  fails at once; reads go on, so a read-only health check would still say 200).

While that lasts ``/readyz`` answers 503, with the reason among its checks; once the
database takes writes again it is 200 again.
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
from faults.cluster import PrivateCluster
from faults.conftest import Launch
from faults.procs import seed, write_config
from faults.provider import Reply, SMSProvider
from faults.sqlite_faults import WriteLock


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def readiness(url: str) -> tuple[int, dict[str, Any]]:
    """``/readyz``'s status and body (0 and {} when it does not answer)."""
    try:
        answer = httpx.get(f"{url}/readyz", timeout=10)
    except httpx.HTTPError:
        return 0, {}
    return answer.status_code, answer.json()


def wait_for_status(url: str, status: int, timeout: float) -> tuple[int, dict[str, Any]]:
    """Ask until ``/readyz`` answers ``status``; the last answer either way."""
    deadline = time.monotonic() + timeout
    while True:
        found = readiness(url)
        if found[0] == status or time.monotonic() >= deadline:
            return found
        time.sleep(0.1)


def test_readyz_is_503_with_the_reason_while_the_database_cannot_be_written(
    request: Any, fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    seed(fault_url, ["sms"] * 20)
    sms_provider.answer(*[Reply(500)] * 40)  # SMS keep coming due again: ticks write
    port = free_port()
    config = write_config(
        tmp_path,
        fault_url,
        sms_url=sms_provider.url,
        sms=", failover_after: 1000",
        extra=f"web: {{enabled: true, host: 127.0.0.1, port: {port}}}\n",
    )
    daemon = launch("--config", str(config), "run")
    web = f"http://127.0.0.1:{port}"
    before = wait_for_status(web, 200, timeout=30)

    @contextlib.contextmanager
    def unwritable() -> Iterator[None]:
        if fault_url.startswith("sqlite"):
            lock = WriteLock(Path(fault_url.removeprefix("sqlite:///")))
            lock.acquire()
            try:
                yield
            finally:
                lock.release()
        else:
            cluster: PrivateCluster = request.getfixturevalue("pg_cluster")
            with cluster.read_only():
                yield

    with unwritable():
        during = wait_for_status(web, 503, timeout=15)
    after = wait_for_status(web, 200, timeout=30)
    daemon.stop()

    assert before[0] == 200, (before, daemon.tail())
    status, body = during
    assert status == 503, (during, daemon.tail())
    assert body["ready"] is False
    reasons = [reason for reason in body["checks"].values() if reason != "ok"]
    assert any("writ" in reason.lower() for reason in reasons), body
    assert after[0] == 200, (after, daemon.tail())
