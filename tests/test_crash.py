"""Crash safety: a dispatcher killed with SIGKILL at random moments loses nothing.

2,000 queued messages (half e-mail to a real SMTP server, half SMS to a real HTTP
provider that honours idempotency keys), a `rapport dispatch` process killed twenty
times and restarted. Bounded in time: each run is short, leases are seconds long.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

from outbox_seed import PERSIAN, outbox_statuses, seed_due_messages
from sqlalchemy import func, select

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX

RAPPORT = str(Path(sys.executable).parent / "rapport")
MESSAGES = 2000
KILLS = 20
LEASE_SECONDS = 5


def test_sigkill_at_random_moments_loses_nothing_and_duplicates_carry_the_same_id(
    migrated_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    sink, port = smtp_sink
    seed_due_messages(migrated_url, MESSAGES, 200, PERSIAN, "crash")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{migrated_url}'}}\n"
        f"channels:\n"
        # Rate limits stretch the work over the whole run, so the kills land mid-flight.
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{port}',"
        f" rate_per_second: 60}}\n"
        f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_sink.url}', rate_per_second: 60}}\n"
        f"dispatch: {{batch_size: 50, lease_seconds: {LEASE_SECONDS}, max_attempts: 50,\n"
        f"           backoff_base_seconds: 0.2, backoff_max_seconds: 1}}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_SECRET_KEY"] = "crash"
    command = [RAPPORT, "--config", str(config), "dispatch", "--interval", "0.1"]
    rng = random.Random(2026)
    in_flight_at_kills = 0
    mid_flight_kills = 0
    kills = 0
    deadline = time.monotonic() + 150
    while kills < KILLS and time.monotonic() < deadline:
        process = subprocess.Popen(
            command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        # Start-up (imports, migrations check, first claim) takes a second or two and
        # varies with the machine's load: kill at a random moment after this process
        # has begun sending, not at a fixed time after it started.
        _wait_for_progress(migrated_url, time.monotonic() + 10)
        time.sleep(rng.uniform(0.0, 0.4))
        process.send_signal(signal.SIGKILL)
        process.wait()
        kills += 1
        in_flight = outbox_statuses(migrated_url)["sending"]
        in_flight_at_kills += in_flight
        mid_flight_kills += in_flight > 0
    assert kills == KILLS
    assert mid_flight_kills >= KILLS // 2  # most kills interrupted sending

    # A last, uninterrupted run: leases left by the killed workers expire and are resumed.
    while time.monotonic() < deadline:
        left = outbox_statuses(migrated_url)
        if left["queued"] == 0 and left["sending"] == 0:
            break
        subprocess.run(
            [*command[:-3], "dispatch", "--once"],
            env=env,
            timeout=120,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
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


def _wait_for_progress(migrated_url: str, until: float) -> None:
    """Until one more message has left the queue (or ``until``)."""
    statuses = outbox_statuses(migrated_url)
    done = statuses["sent"] + statuses["failed"]
    while time.monotonic() < until:
        time.sleep(0.05)
        statuses = outbox_statuses(migrated_url)
        if statuses["sent"] + statuses["failed"] > done:
            return
