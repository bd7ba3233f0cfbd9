"""What the web server logs: JSON through the project's redacting handler, and never a token.

``rapport serve`` runs as a real process with canary tokens in every place a request
can carry one (a link's path, whether or not its token is well formed, and the admin
report's ``?token=``); everything it writes, stdout and stderr, is searched for them.
The in-process server (``rapport run`` serves the app the same way) is checked too.
The same process shows /metrics on its own address, behind its token.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from factories import REPO
from sqlalchemy import Engine

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core import logs
from rapport.engine.core.config import Settings
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer

RAPPORT = str(Path(sys.executable).parent / "rapport")
SECRET = "access-log-secret"
ADMIN = "AdminCanary7f3e"
METRICS = "MetricsCanary91b"
PLAIN = "PlainPathCanary5d"  # a link token that is not even well formed
QUERY = "QueryCanary2c8"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def signed(purpose: Purpose) -> str:
    return Signer(SECRET).sign(purpose, TokenClaims("NOBODY", "email"))


def requests_with_tokens(client: httpx.Client) -> list[str]:
    """Requests carrying a token everywhere one can go; the tokens sent."""
    unsubscribe, preferences = signed(Purpose.UNSUBSCRIBE), signed(Purpose.PREFERENCES)
    client.get(f"/unsubscribe/{unsubscribe}")
    client.post(f"/unsubscribe/{PLAIN}", content=b"List-Unsubscribe=One-Click")
    client.get(f"/preferences/{preferences}?lang=fa")
    client.get(f"/feedback/{PLAIN}")
    client.get(f"/confirm/{PLAIN}/extra")
    client.get(f"/admin/report?token={ADMIN}")
    client.get(f"/nowhere/{PLAIN}?token={QUERY}")
    return [unsubscribe, preferences, PLAIN, ADMIN, QUERY, METRICS]


def wait_for(url: str) -> None:
    for _ in range(200):
        try:
            httpx.get(url)
            return
        except httpx.TransportError:
            time.sleep(0.05)
    raise AssertionError(f"nothing answers at {url}")


@pytest.mark.parametrize("access_log", [True, False])
def test_rapport_serve_logs_json_without_tokens_and_keeps_metrics_apart(
    access_log: bool, tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    port, metrics_port = free_port(), free_port()
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        f"web: {{access_log: {str(access_log).lower()}, metrics_port: {metrics_port}}}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(
        RAPPORT_SECRET_KEY=SECRET,
        RAPPORT_LOG_LEVEL="DEBUG",
        RAPPORT_REPORT_TOKEN=ADMIN,
        RAPPORT_METRICS_TOKEN=METRICS,
    )
    server = subprocess.Popen(
        [RAPPORT, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        base, metrics = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{metrics_port}"
        wait_for(f"{base}/healthz")
        with httpx.Client(base_url=base) as client:
            tokens = requests_with_tokens(client)
            assert client.get("/metrics").status_code == 404  # not on the customers' port
        wait_for(f"{metrics}/metrics")
        assert httpx.get(f"{metrics}/metrics").status_code == 401
        wrong = httpx.get(f"{metrics}/metrics", headers={"Authorization": "Bearer nope"})
        assert wrong.status_code == 401
        scraped = httpx.get(f"{metrics}/metrics", headers={"Authorization": f"Bearer {METRICS}"})
        assert scraped.status_code == 200 and "rapport_outbox" in scraped.text
        assert httpx.get(f"{metrics}/healthz").status_code == 404  # /metrics alone
    finally:
        server.send_signal(signal.SIGINT)
        out, err = server.communicate(timeout=20)
    assert server.returncode == 0, err  # Ctrl-C is how `serve` is stopped
    # uvicorn's access log wrote to stdout; now only the command's own notice does.
    assert out.splitlines() == [f"/metrics on http://127.0.0.1:{metrics_port}/metrics"]
    entries = [json.loads(line) for line in err.splitlines() if line.strip()]  # JSON, all
    assert any(entry["logger"].startswith("uvicorn") for entry in entries)
    for token in tokens:
        assert token not in err, token
    access = [entry["message"] for entry in entries if entry["logger"] == "rapport.web.access"]
    if not access_log:
        assert access == []
        return
    # The route's template, which the redaction filter masks again on the way out.
    assert "GET /unsubscribe/[token] 404" in access
    assert "POST /unsubscribe/[token] 404" in access
    assert "GET /admin/report 200" in access  # the admin's token was right
    assert not any("?" in line for line in access)  # no query string at all
    assert "GET /... 404" in access  # a path no route matched: no part of it


@pytest.fixture
def captured_logs() -> Iterator[io.StringIO]:
    """The root logger as ``rapport`` configures it, writing to a buffer."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    logs.configure("INFO", json_lines=True)
    stream = io.StringIO()
    handler: Any = root.handlers[0]
    handler.setStream(stream)
    try:
        yield stream
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)


def test_the_in_process_server_logs_routes_and_statuses_not_tokens(
    engine: Engine, captured_logs: io.StringIO
) -> None:
    settings = Settings(base_dir=REPO, secret_key=SECRET)
    web = settings.web.model_copy(update={"access_log": True, "report_token": ADMIN})
    settings = settings.model_copy(update={"web": web})
    server = BackgroundServer(create_app(settings, engine), web=settings.web).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            tokens = requests_with_tokens(client)
            too_big = client.post(
                f"/unsubscribe/{PLAIN}",
                content=b"x" * (settings.web.max_body_bytes + 1),
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
    finally:
        server.stop()
    assert too_big.status_code == 413
    text = captured_logs.getvalue()
    for token in tokens:
        assert token not in text, token
    messages = [json.loads(line)["message"] for line in text.splitlines()]
    assert "GET /preferences/[token] 404" in messages
    assert "POST /unsubscribe/[token] 413" in messages  # refused before routing
    assert "GET /confirm/[token] 404" in messages  # /confirm/{PLAIN}/extra matched no route


def test_a_path_no_route_matched_logs_no_part_of_an_unknown_first_segment(
    engine: Engine, captured_logs: io.StringIO
) -> None:
    """A request for ``/<something>`` that matched no route showed the first 40
    characters of that segment: most of an API token (``/rpt_...``), the customer part
    of a signed link whose prefix was lost (``/WyJD...``), a name. Only a first segment
    some route of the app starts with is shown; any other is ``/...``."""
    settings = Settings(base_dir=REPO, secret_key=SECRET)
    settings = settings.model_copy(
        update={"web": settings.web.model_copy(update={"access_log": True})}
    )
    api_token = "rpt_" + "Q" * 43
    link = signed(Purpose.PREFERENCES)
    server = BackgroundServer(create_app(settings, engine), web=settings.web).start()
    try:
        with httpx.Client(base_url=server.url) as client:
            for path in (f"/{api_token}", f"/{link}", "/Zhang Wei", "/unsubscribe"):
                assert client.get(path).status_code == 404
            client.get(f"/api/v1/{api_token}")
    finally:
        server.stop()
    messages = [json.loads(line)["message"] for line in captured_logs.getvalue().splitlines()]
    for secret in ("rpt_QQQQ", link[:12], "Zhang"):
        assert not any(secret in message for message in messages), secret
    assert messages.count("GET /... 404") == 3
    assert "GET /unsubscribe 404" in messages  # a route's own first segment is shown
    assert "GET /api/... 404" in messages
