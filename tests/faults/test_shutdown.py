"""SIGTERM (issue 14, point 4): finish what is on the wire, release the rest, say so.

``rapport dispatch`` is stopped with SIGTERM while sends are in flight:

* sends that finish within ``daemon.grace_seconds``: their outcomes are recorded,
  every claim not yet sent is released, nothing is left ``sending``, and the process
  exits 0 without starting another send;
* a send still hanging when the grace period ends: it is abandoned, its claim
  released, and the process exits non-zero within grace + 2 s, naming the message
  the provider may have accepted.
"""

from __future__ import annotations

import signal
import time
from pathlib import Path

from faults.conftest import Launch
from faults.procs import outbox, seed, statuses, write_config
from faults.provider import SMSProvider

MESSAGES = 6
CONNECTIONS = 2


def test_sigterm_lets_sends_in_flight_finish_records_them_releases_the_rest_and_exits_0(
    fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    queued = seed(fault_url, ["sms"] * MESSAGES)
    sms_provider.delay = 0.5  # well within the grace period
    config = write_config(
        tmp_path,
        fault_url,
        sms_url=sms_provider.url,
        batch=MESSAGES,
        sms=f", concurrency: {CONNECTIONS}",
        daemon="dispatch_seconds: 0.2, grace_seconds: 5",
    )
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")
    assert sms_provider.wait_for(CONNECTIONS, timeout=30), dispatcher.tail()
    dispatcher.signal(signal.SIGTERM)
    code = dispatcher.wait(timeout=15)

    in_flight = {request.key for request in sms_provider.snapshot()}
    assert code == 0, dispatcher.tail()
    assert len(in_flight) == CONNECTIONS  # no send started after SIGTERM
    rows = outbox(fault_url)
    assert "sending" not in statuses(fault_url)
    assert {rows[m.id].status for m in queued if m.key in in_flight} == {"sent"}
    released = [rows[m.id] for m in queued if m.key not in in_flight]
    assert {row.status for row in released} == {"queued"}
    assert all(row.lease_until is None for row in released)


GRACE = 1.0


def test_sigterm_with_a_send_hanging_past_the_grace_exits_nonzero_naming_it_and_releases_it(
    fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    queued = seed(fault_url, ["sms"] * 3)
    sms_provider.hang()
    config = write_config(
        tmp_path,
        fault_url,
        sms_url=sms_provider.url,
        sms=", concurrency: 1, timeout: 60",
        daemon=f"dispatch_seconds: 0.2, grace_seconds: {GRACE}",
    )
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")
    assert sms_provider.wait_for(1, timeout=30), dispatcher.tail()
    hung = next(m for m in queued if m.key == sms_provider.snapshot()[0].key)
    dispatcher.signal(signal.SIGTERM)
    signalled = time.monotonic()
    code = dispatcher.wait(timeout=GRACE + 10)
    took = time.monotonic() - signalled

    output = dispatcher.output()
    assert code is not None, "still running 10 s after the grace period"
    assert code != 0, output[-3000:]
    assert took <= GRACE + 2, f"exited {took:.1f} s after SIGTERM"
    named = [
        entry["message"]
        for entry in dispatcher.entries()
        if hung.id == entry.get("message_id") or hung.id in entry.get("message_ids", [])
    ]
    assert any("accepted" in line or "abandon" in line for line in named), output[-3000:]
    assert len(sms_provider.snapshot()) == 1  # nothing else was started
    rows = outbox(fault_url)
    assert rows[hung.id].status == "queued"  # released: another dispatcher sends it again
    assert rows[hung.id].lease_until is None
    assert "sending" not in statuses(fault_url)
