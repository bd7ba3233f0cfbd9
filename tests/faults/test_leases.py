"""Leases (issue 14, point 1): a dispatcher sends only while it holds a live lease.

Two ``rapport dispatch`` processes share an outbox whose SMS provider takes longer
than a lease to answer each message (the lease is the shortest the configuration
accepts). A lease that is not renewed while the send is in flight expires, and the
other dispatcher, polling every 0.2 s, claims the message and sends it again; a
dispatcher that claims ahead holds messages past their lease before it even starts
them. Every message must reach the provider exactly once: counted per idempotency key
at the provider, not from the outbox.
"""

from __future__ import annotations

from pathlib import Path

from faults.conftest import Launch
from faults.procs import LEASE, seed, settled, statuses, wait_for, write_config
from faults.provider import SMSProvider

MESSAGES = 4


def test_a_provider_slower_than_the_lease_gets_each_message_once_from_two_dispatchers(
    fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    queued = seed(fault_url, ["sms"] * MESSAGES)
    sms_provider.delay = LEASE * 1.2  # every single send outlasts the lease
    config = write_config(
        tmp_path,
        fault_url,
        sms_url=sms_provider.url,
        batch=MESSAGES,
        sms=f", concurrency: {MESSAGES}, timeout: {LEASE * 4}",
    )
    dispatchers = [
        launch("--config", str(config), "dispatch", "--interval", "0.2", name=f"dispatcher{n}")
        for n in (1, 2)
    ]
    done = wait_for(lambda: settled(fault_url), timeout=MESSAGES * LEASE * 3)
    for dispatcher in dispatchers:
        dispatcher.stop()
    assert sms_provider.duplicates() == 0, sms_provider.per_key()
    assert done, statuses(fault_url)
    assert statuses(fault_url) == {"sent": MESSAGES}
    assert sms_provider.per_key() == {message.key: 1 for message in queued}
