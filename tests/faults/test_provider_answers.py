"""What the provider answers shapes the next attempt (issue 14, points 5 and 8).

* ``429`` with ``Retry-After`` (seconds, or an HTTP date): that message's next attempt
  is not before the time asked (read from ``send_at`` in the outbox, not waited
  for), and the lane pauses: the other SMS due are not sent meanwhile.
* A provider that is down (connection refused) for a while: when it is back every
  message is sent, and ``attempts`` counts only the sends that reached it (one each);
  the log says why a message was requeued, and the lane's "resting it" warning is
  written once, not once per failure.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from faults.conftest import Launch
from faults.procs import outbox, seed, settled, statuses, wait_for, write_config
from faults.provider import Reply, SMSProvider

RETRY_AFTER = 120


@pytest.mark.parametrize(
    ("fault_url", "form"),
    [("sqlite", "seconds"), ("postgresql", "http-date")],
    indirect=["fault_url"],
)
def test_retry_after_on_a_429_holds_that_message_back_and_pauses_the_lane(
    fault_url: str, form: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    queued = seed(fault_url, ["sms"] * 4)
    asked_until = datetime.now(UTC).replace(microsecond=0) + timedelta(seconds=RETRY_AFTER + 1)
    sms_provider.answer(
        Reply.retry_after_seconds(RETRY_AFTER)
        if form == "seconds"
        else Reply.retry_after_date(asked_until)
    )
    # One connection: with more, the other messages are already on their way when the
    # 429 comes back (sends in flight are not recalled); the pause stops the next ones.
    config = write_config(tmp_path, fault_url, sms_url=sms_provider.url, sms=", concurrency: 1")
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")
    first = queued[0]

    def held_back() -> bool:
        row = outbox(fault_url)[first.id]
        return row.status == "queued" and row.send_at > datetime.now(UTC) + timedelta(seconds=60)

    assert dispatcher.until(held_back, timeout=30), (statuses(fault_url), dispatcher.tail())
    time.sleep(0.6)  # three dispatch ticks in which the lane must stay paused
    dispatcher.stop()

    requests = sms_provider.snapshot()
    rows = outbox(fault_url)
    answered = requests[0].answered_at
    assert answered is not None
    not_before = answered + timedelta(seconds=RETRY_AFTER) if form == "seconds" else asked_until
    assert rows[first.id].send_at >= not_before - timedelta(seconds=1)
    assert rows[first.id].attempts == 1
    assert [r.key for r in requests] == [first.key]  # the lane paused: nothing else sent
    assert {rows[m.id].status for m in queued[1:]} == {"queued"}
    assert {rows[m.id].attempts for m in queued[1:]} == {0}


def test_after_a_provider_outage_attempts_count_only_sends_that_reached_it(
    fault_url: str, tmp_path: Path, sms_provider: SMSProvider, launch: Launch
) -> None:
    queued = seed(fault_url, ["sms"] * 4)
    sms_provider.stop()  # down: connections refused until it is started again
    config = write_config(
        tmp_path,
        fault_url,
        sms_url=sms_provider.url,
        sms=", failover_after: 3, failover_cooldown_seconds: 0.3",
        attempts=3,
    )
    dispatcher = launch("--config", str(config), "dispatch", "--interval", "0.2")

    def each_tried() -> bool:  # every message's refused try is in the outbox
        rows = outbox(fault_url).values()
        return all(row.status == "queued" and row.last_error for row in rows)

    assert dispatcher.until(each_tried, timeout=30), (statuses(fault_url), dispatcher.tail())
    time.sleep(0.6)  # more refused tries: more claims than max_attempts allows
    sms_provider.start(sms_provider.port)
    done = wait_for(lambda: settled(fault_url), timeout=30)
    dispatcher.stop()

    assert done, statuses(fault_url)
    rows = outbox(fault_url)
    assert {rows[m.id].status for m in queued} == {"sent"}
    assert {m.key: rows[m.id].attempts for m in queued} == {m.key: 1 for m in queued}
    log = dispatcher.messages()
    assert sum("resting it" in line for line in log) == 1, log
    first = [e["message"] for e in dispatcher.entries() if e.get("message_id") == queued[0].id]
    assert any("connect" in line.lower() for line in first), log  # the id a field of its own
