"""/metrics names campaigns and volumes: it can require a bearer token, and move to an
address of its own (then the customers' port answers 404 for it)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from factories import REPO
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.cli.daemon import _warn_if_metrics_open
from rapport.engine.core.config import Settings
from rapport.engine.web.app import create_app, create_metrics_app
from rapport.engine.web.server import BackgroundServer

TOKEN = "scrape-secret"


def settings_with(**web: Any) -> Settings:
    settings = Settings(base_dir=REPO, secret_key="metrics-test")
    return settings.model_copy(update={"web": settings.web.model_copy(update=web)})


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_metrics_without_a_token_configured_stay_open(engine: Engine) -> None:
    with TestClient(create_app(settings_with(), engine)) as client:
        response = client.get("/metrics")
    assert response.status_code == 200 and "rapport_outbox" in response.text


def test_metrics_with_a_token_need_it(engine: Engine) -> None:
    with TestClient(create_app(settings_with(metrics_token=TOKEN), engine)) as client:
        missing = client.get("/metrics")
        wrong = client.get("/metrics", headers=bearer("scrape-secreT"))
        basic = client.get("/metrics", headers={"Authorization": f"Basic {TOKEN}"})
        right = client.get("/metrics", headers=bearer(TOKEN))
    assert (missing.status_code, wrong.status_code, basic.status_code) == (401, 401, 401)
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert "rapport_" not in missing.text
    assert right.status_code == 200 and "rapport_outbox" in right.text


@pytest.fixture
def metrics_server(engine: Engine) -> Iterator[BackgroundServer]:
    settings = settings_with(metrics_port=9464, metrics_token=TOKEN)
    server = BackgroundServer(create_metrics_app(settings, engine), web=settings.web).start()
    try:
        yield server
    finally:
        server.stop()


def test_metrics_on_their_own_address_leave_the_app_and_keep_their_token(
    engine: Engine, metrics_server: BackgroundServer
) -> None:
    app = create_app(settings_with(metrics_port=9464, metrics_token=TOKEN), engine)
    with TestClient(app) as client:
        assert client.get("/metrics", headers=bearer(TOKEN)).status_code == 404
    url = f"{metrics_server.url}/metrics"
    assert httpx.get(url).status_code == 401
    assert httpx.get(url, headers=bearer(TOKEN)).status_code == 200
    assert httpx.get(f"{metrics_server.url}/preferences").status_code == 404


def test_open_metrics_on_a_public_address_are_warned_about(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, logger="rapport.engine.cli.daemon")
    _warn_if_metrics_open(settings_with().web, "127.0.0.1")
    _warn_if_metrics_open(settings_with(metrics_token=TOKEN).web, "0.0.0.0")
    _warn_if_metrics_open(settings_with(metrics_port=9464).web, "0.0.0.0")  # loopback
    assert caplog.records == []
    _warn_if_metrics_open(settings_with().web, "0.0.0.0")
    _warn_if_metrics_open(settings_with(metrics_port=9464, metrics_host="10.0.0.5").web, "::1")
    warnings = [record.getMessage() for record in caplog.records]
    assert len(warnings) == 2 and all("RAPPORT_METRICS_TOKEN" in line for line in warnings)
    assert "0.0.0.0" in warnings[0] and "10.0.0.5" in warnings[1]
    assert [getattr(record, "host", None) for record in caplog.records] == ["0.0.0.0", "10.0.0.5"]


def test_the_app_limiter_is_bounded_as_configured(engine: Engine) -> None:
    app = create_app(settings_with(link_limiter_max_keys=123, link_requests_per_hour=7), engine)
    limiter = app.state.web.link_limiter
    assert (limiter.max_keys, limiter.limit) == (123, 7)
