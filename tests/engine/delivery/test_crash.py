"""Crash safety: a dispatcher killed with SIGKILL at random moments loses nothing.

2,000 queued messages (half e-mail to a real SMTP server, half SMS to a real HTTP
provider that honours idempotency keys), a `rapport dispatch` process killed twenty
times and restarted. The test counts kills, not seconds: before each kill it waits
until the new process has sent something (a bound only a stuck dispatcher reaches), so
it makes its twenty kills on a loaded machine too. The processes are forked from
multiprocessing's fork server, which has imported Rapport once, so that twenty
start-ups cost milliseconds; each is still a process of its own running the console
script's ``main()`` with the `dispatch` arguments, killed with SIGKILL.
"""

from __future__ import annotations

import os
import random
import signal
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
from factories import PERSIAN, outbox_statuses, seed_due_messages, start_rapport_process
from sqlalchemy import func, select

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX

MESSAGES = 2000
KILLS = 20
LEASE_SECONDS = 5
STUCK_SECONDS = 120  # no message sent for this long: the dispatcher is stuck, not slow


def write_config(path: Path, url: str, smtp_port: int, sms_url: str, limit: str) -> Path:
    path.write_text(
        f"database: {{url: '{url}'}}\n"
        f"channels:\n"
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{smtp_port}'{limit}}}\n"
        f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_url}'{limit}}}\n"
        f"dispatch: {{batch_size: 50, lease_seconds: {LEASE_SECONDS}, max_attempts: 50,\n"
        f"           backoff_base_seconds: 0.2, backoff_max_seconds: 1}}\n",
        encoding="utf-8",
    )
    return path


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_carry_the_same_id(
    migrated_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    sink, port = smtp_sink
    seed_due_messages(migrated_url, MESSAGES, 200, PERSIAN, "crash")
    # Rate limits stretch the work over the whole run, so the kills land mid-flight:
    # at most 40 messages in any second, each process killed within 0.4 s of its first
    # message reaching a server, so twenty runs send at most 800 of the 2,000 and
    # every run has work left to be killed in.
    limited = write_config(
        tmp_path / "config.yaml", migrated_url, port, sms_sink.url, ", rate_per_second: 20"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_SECRET_KEY"] = "crash"
    rng = random.Random(2026)
    in_flight_at_kills = 0
    mid_flight_kills = 0

    def arrived() -> int:  # messages that reached the servers, duplicates included
        return len(sink.messages) + len(sms_sink.requests)

    for kill in range(1, KILLS + 1):
        before = arrived()
        process = start_rapport_process(
            "--config", str(limited), "dispatch", "--interval", "0.1", cwd=tmp_path, env=env
        )
        try:
            # Start-up (migrations check, first claim) varies with the machine's load:
            # kill at a random moment after this process has begun sending, not at a
            # fixed time after it started.
            assert _wait_for_sending(process, arrived, before), (
                f"kill {kill}: the dispatcher sent nothing in {STUCK_SECONDS} s "
                f"(exit code {process.exitcode}; {dict(outbox_statuses(migrated_url))}; "
                f"{len(sink.messages)} e-mails and {len(sms_sink.requests)} SMS requests in all)"
            )
            time.sleep(rng.uniform(0.0, 0.4))
        finally:
            os.kill(process.pid, signal.SIGKILL)
            process.join()
        assert process.exitcode == -signal.SIGKILL
        in_flight = outbox_statuses(migrated_url)["sending"]
        in_flight_at_kills += in_flight
        mid_flight_kills += in_flight > 0
    assert mid_flight_kills >= KILLS // 2  # most kills interrupted sending

    # A last, uninterrupted run (without the rate limits that served the kills): leases
    # left by the killed workers expire and are resumed.
    unlimited = write_config(tmp_path / "drain.yaml", migrated_url, port, sms_sink.url, "")
    for _ in range(STUCK_SECONDS * 2):  # a run every ~0.5 s until the last lease expired
        left = outbox_statuses(migrated_url)
        if left["queued"] == 0 and left["sending"] == 0:
            break
        drain = start_rapport_process(
            "--config", str(unlimited), "dispatch", "--once", cwd=tmp_path, env=env
        )
        drain.join(timeout=STUCK_SECONDS)
        if drain.exitcode is None:
            drain.kill()
            pytest.fail(f"dispatch --once ran for over {STUCK_SECONDS} s")
        assert drain.exitcode == 0
        time.sleep(0.5)

    final = outbox_statuses(migrated_url)
    assert final["sent"] + final["failed"] == MESSAGES, final  # 0 lost
    engine = make_engine(migrated_url)
    with engine.connect() as connection:
        failed_without_reason = connection.execute(
            select(func.count())
            .select_from(OUTBOX)
            .where(OUTBOX.c.status == "failed", OUTBOX.c.last_error.is_(None))
        ).scalar_one()
    engine.dispose()
    assert failed_without_reason == 0

    # SMS: the provider drops repeated idempotency keys, so nobody got a text twice.
    assert len(sms_sink.delivered) == MESSAGES // 2
    # E-mail: every copy of a message carries its original Message-ID, and there are no
    # more repeats than messages that were being sent when a worker was killed.
    ids = Counter(sink.message_ids())
    assert len(ids) == MESSAGES // 2
    repeats = sum(n - 1 for n in ids.values())
    assert repeats <= in_flight_at_kills


def _wait_for_sending(process, arrived: Callable[[], int], before: int) -> bool:  # type: ignore[no-untyped-def]
    """Whether ``process`` got a message to a server, more than ``before`` arrived
    (False when it exited, or sent nothing for STUCK_SECONDS)."""
    until = time.monotonic() + STUCK_SECONDS
    while time.monotonic() < until and process.exitcode is None:
        if arrived() > before:
            return True
        time.sleep(0.01)
    return False
