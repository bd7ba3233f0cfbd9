"""``/admin/report?from=D&to=D`` reads its days as ``rapport report`` does
(docs/reports.md, Conventions: ``YYYY-MM-DD`` in any script's digits): a period written
in Persian digits was a 400, while forms that are not ``YYYY-MM-DD`` (``20260501``, the
ISO week date ``2026-W18-5``), which the command refuses, were served."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.web.app import create_app

NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)
TOKEN = "s3cret-admin"


@pytest.fixture
def client(engine: Engine) -> TestClient:
    settings = Settings(secret_key="test-secret-key-for-dates", web=WebConfig(report_token=TOKEN))
    return TestClient(create_app(settings, engine, clock=lambda: NOW))


def test_a_period_in_persian_digits_is_the_same_days(client: TestClient) -> None:
    answer = client.get(f"/admin/report?token={TOKEN}&from=۲۰۲۶-۰۵-۰۱&to=۲۰۲۶-۰۵-۱۵")
    assert answer.status_code == 200
    assert 'data-from="2026-05-01" data-to="2026-05-15"' in answer.text


@pytest.mark.parametrize("day", ["20260501", "2026-W18-5", "2026-05-01T00:00"])
def test_a_day_not_written_yyyy_mm_dd_is_refused(client: TestClient, day: str) -> None:
    answer = client.get(f"/admin/report?token={TOKEN}&from={day}&to=2026-05-15")
    assert answer.status_code == 400
    assert "YYYY-MM-DD" in answer.text
