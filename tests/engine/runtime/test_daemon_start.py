"""What the daemon says when it starts: where it listens, and a base URL that is not HTTPS.

``rapport run`` with ``web.enabled: true`` logs the address of its web app (host and
port as fields), without it that no web app (no /healthz, no /readyz) runs; every line
on stderr is JSON, uvicorn's included, and Alembic says nothing at start nor at each
/readyz probe. A ``web.base_url`` that is not ``https://`` is a warning, and with
``production: true`` the daemon (``run``, ``run --once``, ``dispatch``) refuses to start.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from factories import REPO, make_settings, run_rapport
from own_sender import OWN_SENDER, OWN_SENDER_YAML
from sqlalchemy import Engine

from rapport.engine.core.config import SenderConfig, WebConfig
from rapport.engine.core.errors import ConfigError
from rapport.engine.runtime.daemon import Daemon

RAPPORT = str(Path(sys.executable).parent / "rapport")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def write_config(directory: Path, web: str, extra: str = "") -> Path:
    config = directory / "config.yaml"
    config.write_text(
        "database: {url: 'sqlite:///rapport.db'}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n"
        "daemon: {plan_seconds: 600, dispatch_seconds: 0.5, grace_seconds: 1}\n"
        f"web: {web}\n"
        f"{extra}",
        encoding="utf-8",
    )
    return config


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_SECRET_KEY="start", RAPPORT_LOG_LEVEL="INFO")
    return env


def entries(text: str) -> list[dict[str, Any]]:
    lines = [line for line in text.splitlines() if line.strip()]
    return [json.loads(line) for line in lines]  # every line JSON, or this raises


def run_daemon_until(config: Path, done: Any, seconds: float = 60) -> list[dict[str, Any]]:
    """Start ``rapport run``, call ``done(lines so far)`` until it returns True, stop it."""
    log = config.parent / "daemon.log"
    assert run_rapport("db", "upgrade", cwd=config.parent).returncode == 0
    daemon = subprocess.Popen(
        [RAPPORT, "--config", str(config), "run"],
        cwd=config.parent,
        env=environment(),
        stdout=subprocess.DEVNULL,
        stderr=log.open("wb"),
    )
    try:
        deadline = time.monotonic() + seconds
        while True:
            said = log.read_text(encoding="utf-8")
            complete = said[: said.rfind("\n") + 1]
            if done(entries(complete)):
                break
            assert daemon.poll() is None, said
            assert time.monotonic() < deadline, said
            time.sleep(0.1)
    finally:
        daemon.send_signal(signal.SIGTERM)
        code = daemon.wait(timeout=30)
    assert code == 0, log.read_text(encoding="utf-8")
    return entries(log.read_text(encoding="utf-8"))


def listening(lines: list[dict[str, Any]]) -> dict[str, Any] | None:
    return next((e for e in lines if "listens on" in e["message"]), None)


def test_the_daemon_logs_where_its_web_app_listens_and_every_line_is_json(
    tmp_path: Path,
) -> None:
    port = free_port()
    config = write_config(tmp_path, f"{{enabled: true, port: {port}}}")
    probes: list[int] = []

    def probed(lines: list[dict[str, Any]]) -> bool:
        found = listening(lines)
        if found is None:
            return False
        if len(probes) < 2:
            probes.append(httpx.get(f"{found['url'].rstrip('/')}/readyz", timeout=10).status_code)
            return False
        return any(e["message"] == "daemon started" for e in lines)

    lines = run_daemon_until(tmp_path / "config.yaml", probed)

    assert config.exists() and probes == [200, 200]
    found = listening(lines)
    assert found is not None
    assert (found["host"], found["port"]) == ("127.0.0.1", port)
    assert found["url"] == f"http://127.0.0.1:{port}/"
    assert found["logger"] == "rapport.engine.cli.daemon" and found["level"] == "info"
    assert any(e["logger"].startswith("uvicorn") for e in lines), lines  # JSON like the rest
    assert [e for e in lines if e["logger"].startswith("alembic")] == []  # start, 2 probes
    warning = next(e for e in lines if e.get("base_url") == "http://127.0.0.1:8000")
    assert warning["level"] == "warning" and "RFC 8058" in warning["message"]


def test_a_daemon_without_the_web_app_says_so(tmp_path: Path) -> None:
    write_config(tmp_path, "{enabled: false, base_url: 'https://shop.example'}")

    def started(lines: list[dict[str, Any]]) -> bool:
        return any(e["message"] == "daemon started" for e in lines)

    lines = run_daemon_until(tmp_path / "config.yaml", started)

    off = [e for e in lines if e["message"].startswith("web app off")]
    assert len(off) == 1 and "web.enabled: true" in off[0]["message"], lines
    assert "/readyz" in off[0]["message"] and off[0]["web_enabled"] is False
    assert listening(lines) is None
    assert not [e for e in lines if "base_url" in e]  # https: nothing to warn about


def test_the_shipped_config_writes_web_enabled_and_says_what_it_is_for() -> None:
    """An operator reading config.yaml learns that the daemon serves /healthz and
    /readyz only with web.enabled: the key is written with its default, beside host and
    port, and its comment says so."""
    text = (REPO / "config.yaml").read_text(encoding="utf-8")
    web = yaml.safe_load(text)["web"]
    assert web["enabled"] is False and {"host", "port"} <= set(web)
    section = text.split("\nweb:\n", 1)[1].split("\n\n", 1)[0]
    said = " ".join(line.strip().lstrip("# ") for line in section.splitlines())
    assert "rapport run" in said and "/healthz and /readyz" in said
    assert "only with enabled: true" in said and "logs the address" in said


# --- a base URL that is not HTTPS ------------------------------------------------------------


def test_building_a_daemon_warns_about_plain_http_links(
    engine: Engine, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(base_dir=tmp_path)
    with caplog.at_level(logging.WARNING, logger="rapport"):
        Daemon(settings, engine, plan=False).stop(grace=0)
    [record] = [r for r in caplog.records if hasattr(r, "base_url")]
    assert record.levelno == logging.WARNING
    assert record.base_url == settings.web.base_url  # type: ignore[attr-defined]
    assert "is not HTTPS" in record.getMessage() and "List-Unsubscribe" in record.getMessage()

    caplog.clear()
    secure = settings.model_copy(update={"web": WebConfig(base_url="https://shop.example")})
    with caplog.at_level(logging.WARNING, logger="rapport"):
        Daemon(secure, engine, plan=False).stop(grace=0)
    assert [r for r in caplog.records if hasattr(r, "base_url")] == []


#: A signing key long enough for ``production: true`` (engine/core/secretcheck.py).
PRODUCTION_KEY = "production-signing-key-0123456789"


def test_in_production_a_daemon_with_plain_http_links_is_refused(
    engine: Engine, tmp_path: Path
) -> None:
    settings = make_settings(base_dir=tmp_path, production=True, secret_key=PRODUCTION_KEY)
    with pytest.raises(ConfigError, match=r"web.base_url 'http://127.0.0.1:8000' is not HTTPS"):
        Daemon(settings, engine, plan=False)
    secure = settings.model_copy(
        update={
            "web": WebConfig(base_url="https://shop.example"),
            "sender": SenderConfig(**OWN_SENDER),
        }
    )
    Daemon(secure, engine, plan=False).stop(grace=0)


@pytest.mark.parametrize("command", [("run", "--once"), ("dispatch", "--once")])
def test_in_production_run_and_dispatch_refuse_plain_http_links_in_one_line(
    command: tuple[str, ...], tmp_path: Path
) -> None:
    write_config(tmp_path, "{base_url: 'http://shop.example'}", "production: true\n")
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    ran = run_rapport(*command, cwd=tmp_path, env={"RAPPORT_SECRET_KEY": PRODUCTION_KEY})
    assert ran.returncode == 1, ran
    assert ran.stderr.startswith("error: web.base_url 'http://shop.example' is not HTTPS")
    assert "(production: true refuses to start with it)" in ran.stderr
    assert "Traceback" not in ran.stderr and len(ran.stderr.strip().splitlines()) == 1

    write_config(
        tmp_path, "{base_url: 'https://shop.example'}", "production: true\n" + OWN_SENDER_YAML
    )
    secure = run_rapport(*command, cwd=tmp_path, env={"RAPPORT_SECRET_KEY": PRODUCTION_KEY})
    assert secure.returncode == 0, secure
