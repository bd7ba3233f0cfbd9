"""Operating the daemon: scale-out on PostgreSQL, graceful shutdown, metrics, config."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest
from factories import CHINESE, REPO, outbox_statuses, run_rapport, seed_due_messages

from rapport.engine.core.config import load_settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.errors import ConfigError

RAPPORT = str(Path(sys.executable).parent / "rapport")


def write_config(
    path: Path, url: str, smtp_port: int, sms_url: str, extra: str = "", rate: int | None = None
) -> Path:
    limit = f", rate_per_second: {rate}" if rate else ""
    config = path / "config.yaml"
    config.write_text(
        f"database: {{url: '{url}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{smtp_port}'{limit}}}\n"
        f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_url}'{limit}}}\n"
        f"{extra}",
        encoding="utf-8",
    )
    return config


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_SECRET_KEY="ops", RAPPORT_LOG_LEVEL="INFO")
    return env


def planned_ticks(log: Path) -> int:
    lines = [json.loads(line) for line in log.read_text().splitlines() if line.startswith("{")]
    return sum(1 for entry in lines if entry["message"].startswith("planned "))


def wait_until(condition, seconds: float) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return False


def test_three_daemons_on_postgresql_send_each_message_once_and_all_of_them_plan(
    postgres_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    """Every daemon ticks its planning (they share each day's shards: see
    test_shared_planning.py); one stopped with SIGTERM exits 0 and the others go on."""
    sink, port = smtp_sink
    seed_due_messages(postgres_url, 2000, 250, CHINESE, "ops")
    config = write_config(
        tmp_path,
        postgres_url,
        port,
        sms_sink.url,
        "daemon: {plan_seconds: 1, dispatch_seconds: 0.3, grace_seconds: 10}\n"
        "dispatch: {batch_size: 100}\n",
    )
    logs = [tmp_path / f"daemon{n}.log" for n in range(3)]
    processes = [
        subprocess.Popen(
            [RAPPORT, "--config", str(config), "run"],
            env=environment(),
            stdout=subprocess.DEVNULL,
            stderr=log.open("w"),
        )
        for log in logs
    ]
    try:
        assert wait_until(lambda: outbox_statuses(postgres_url)["sent"] == 2000, 120), (
            outbox_statuses(postgres_url)
        )
        assert wait_until(lambda: all(planned_ticks(log) for log in logs), 30)
        processes[0].send_signal(signal.SIGTERM)
        assert processes[0].wait(timeout=20) == 0
        ticked = [planned_ticks(logs[n]) for n in (1, 2)]
        assert wait_until(lambda: all(planned_ticks(logs[n]) > ticked[n - 1] for n in (1, 2)), 30)
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            assert process.wait(timeout=30) == 0
    assert len(sms_sink.delivered) == 1000 and sms_sink.duplicates == 0
    assert len(sink.message_ids()) == 1000 == len(set(sink.message_ids()))


def test_sigterm_during_dispatch_exits_0_and_a_restart_sends_the_rest(
    migrated_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    sink, port = smtp_sink
    seed_due_messages(migrated_url, 600, 250, CHINESE, "ops")
    grace = 5
    config = write_config(  # slow channels, so that the signal arrives mid-dispatch
        tmp_path,
        migrated_url,
        port,
        sms_sink.url,
        f"daemon: {{plan_seconds: 600, dispatch_seconds: 0.2, grace_seconds: {grace}}}\n"
        "dispatch: {batch_size: 50}\n",
        rate=40,
    )
    process = subprocess.Popen(
        [RAPPORT, "--config", str(config), "run"],
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: outbox_statuses(migrated_url)["sent"] >= 100, 60)
        assert outbox_statuses(migrated_url)["queued"] > 0, outbox_statuses(
            migrated_url
        )  # mid-dispatch
    except BaseException:
        process.kill()  # never leave a daemon behind a failed test
        raise
    stopped_at = time.monotonic()
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=grace + 10) == 0
    assert time.monotonic() - stopped_at < grace + 5
    after_stop = outbox_statuses(migrated_url)
    assert after_stop["sending"] == 0  # nothing left claimed
    assert after_stop["sent"] + after_stop["queued"] == 600

    # The restart needs no slow channels: what it sends is all that is left.
    (tmp_path / "restart").mkdir()
    config = write_config(
        tmp_path / "restart",
        migrated_url,
        port,
        sms_sink.url,
        f"daemon: {{plan_seconds: 600, dispatch_seconds: 0.2, grace_seconds: {grace}}}\n"
        "dispatch: {batch_size: 50}\n",
    )
    restart = subprocess.Popen(
        [RAPPORT, "--config", str(config), "run"],
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        assert wait_until(lambda: outbox_statuses(migrated_url)["sent"] == 600, 60)
    finally:
        restart.send_signal(signal.SIGTERM)
        assert restart.wait(timeout=20) == 0
    assert len(sms_sink.delivered) == 300 and sms_sink.duplicates == 0
    assert len(sink.message_ids()) == 300 == len(set(sink.message_ids()))


def test_metrics_after_a_run_show_what_the_database_holds(
    migrated_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    from rapport.engine.web.app import create_app
    from rapport.engine.web.server import BackgroundServer

    _, port = smtp_sink
    seed_due_messages(migrated_url, 40, 250, CHINESE, "ops")
    config = write_config(tmp_path, migrated_url, port, sms_sink.url)
    sms_sink.script = [400] * 5  # five SMS refused for good
    result = run_rapport(
        "--config",
        str(config),
        "dispatch",
        "--once",
        cwd=tmp_path,
        env={"RAPPORT_SECRET_KEY": "ops", "RAPPORT_LOG_LEVEL": "INFO"},
    )
    assert result.returncode == 0, result.stderr
    settings = load_settings(config, environ={"RAPPORT_SECRET_KEY": "ops"})
    engine = make_engine(migrated_url)
    server = BackgroundServer(create_app(settings, engine)).start()
    try:
        text = httpx.get(f"{server.url}/metrics").text
        ready = httpx.get(f"{server.url}/readyz").json()
    finally:
        server.stop()
        engine.dispose()
    found = {}
    for line in text.splitlines():
        if line.startswith("rapport_outbox_messages{"):
            labels = dict(
                pair.split("=", 1) for pair in line.split("{", 1)[1].split("}")[0].split(",")
            )
            key = tuple(labels[name].strip('"') for name in ("status", "campaign", "channel"))
            found[key] = float(line.rsplit(" ", 1)[1])
    assert outbox_statuses(migrated_url) == Counter({"sent": 35, "failed": 5})
    assert found == {
        ("sent", "ops", "email"): 20,
        ("sent", "ops", "sms"): 15,
        ("failed", "ops", "sms"): 5,
    }
    assert ready == {"ready": True, "checks": {"database": "ok", "migrations": "ok"}}


def test_an_environment_variable_overrides_the_config_file(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("database: {url: 'sqlite:///from-file.db'}\n", encoding="utf-8")
    settings = load_settings(config, environ={"RAPPORT_DATABASE_URL": "sqlite:///from-env.db"})
    assert settings.database_url.endswith("from-env.db")
    assert load_settings(config, environ={}).database_url.endswith("from-file.db")


def test_an_invalid_config_names_file_and_line(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("daemon:\n  plan_seconds: soon\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"config\.yaml:2: daemon\.plan_seconds:"):
        load_settings(config, environ={})
