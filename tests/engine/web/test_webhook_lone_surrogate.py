"""A provider webhook body repeating a key written as a lone UTF-16 surrogate
(``"\\ud800"``, which JSON allows) is refused with 400 naming the key by its escape:
the refusal quoted the key as it was, which UTF-8 cannot encode, so the request was a
500, and a provider retries a 500 for days."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine
from starlette.testclient import TestClient

from tests.engine.web.conftest import AUTH, event_count

JSON = {**AUTH, "Content-Type": "application/json"}
PATHS = ["/webhooks/sms/inbound", "/webhooks/sms/status", "/webhooks/email/events"]


@pytest.mark.parametrize("path", PATHS)
def test_a_webhook_body_repeating_a_lone_surrogate_key_is_a_400(
    engine: Engine, client: TestClient, path: str
) -> None:
    before = event_count(engine)
    response = client.post(path, content=b'{"\\ud800": 1, "\\ud800": 2}', headers=JSON)
    assert response.status_code == 400
    assert response.json() == {"error": 'the body\'s JSON repeats the key "\\ud800" in one object'}
    assert event_count(engine) == before
