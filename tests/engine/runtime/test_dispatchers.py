"""Several dispatcher processes in one ``rapport dispatch --once`` (dispatch.processes):
every message sent exactly once, the channel's limits kept over all of them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

from factories import PERSIAN, outbox_statuses, seed_due_messages

from rapport.engine.core.config import ChannelConfig, DispatchConfig, Settings
from rapport.engine.runtime.dispatchers import process_count, share

MESSAGES = 300
RAPPORT = str(Path(sys.executable).parent / "rapport")


def test_three_dispatcher_processes_send_every_message_exactly_once(
    migrated_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    sink, port = smtp_sink
    seed_due_messages(migrated_url, MESSAGES, 60, PERSIAN, "fanout")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{migrated_url}'}}\n"
        "channels:\n"
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{port}', concurrency: 6}}\n"
        f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_sink.url}', concurrency: 6}}\n"
        "dispatch: {processes: 3, batch_size: 10}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_SECRET_KEY"] = "fanout"

    done = subprocess.run(
        [RAPPORT, "--config", str(config), "dispatch", "--once", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert {(o["channel"], o["status"]): o["count"] for o in report["outcomes"]} == {
        ("email", "sent"): MESSAGES // 2,
        ("sms", "sent"): MESSAGES // 2,
    }
    e_mails = Counter(sink.message_ids())
    assert len(e_mails) == MESSAGES // 2 and max(e_mails.values()) == 1
    texts = Counter(str(r["key"]) for r in sms_sink.requests)
    assert len(texts) == MESSAGES // 2 and max(texts.values()) == 1
    assert outbox_statuses(migrated_url) == {"sent": MESSAGES}


def settings(**channels: ChannelConfig) -> Settings:
    return Settings().model_copy(
        update={"channels": channels, "dispatch": DispatchConfig(processes=0)}
    )


def test_a_channel_with_a_rate_limit_keeps_the_pass_in_one_process() -> None:
    limited = settings(
        email=ChannelConfig(adapter="smtp", url="smtp://h", concurrency=8, rate_per_second=50)
    )

    assert process_count(limited) == 1


def test_each_process_takes_its_share_of_a_channels_connections() -> None:
    both = settings(
        email=ChannelConfig(adapter="smtp", url="smtp://h"),  # 16 by default
        sms=ChannelConfig(adapter="file", kind="sms", path="out"),  # 1: not shared
    )

    processes = process_count(both)
    shared, served = share(both, processes)

    assert processes == min(os.cpu_count() or 1, 16)
    assert served == {"email"}
    if processes > 1:
        assert shared.channels["email"].concurrency == 16 // processes
    assert shared.channels["sms"].concurrency is None
