"""Feedback pages (acceptance 5) and the admin report route (acceptance 4)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import Engine, func, insert, select
from starlette.testclient import TestClient

from rapport.consent.links import feedback_link
from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings, WebConfig
from rapport.engine.core.models import CUSTOMER, FEEDBACK_ANSWER, ORDERS
from rapport.engine.reports.text import compute
from rapport.engine.web.app import create_app

SECRET = "test-secret-key-for-feedback"
NOW = datetime(2026, 5, 20, 12, tzinfo=UTC)


@pytest.fixture
def settings() -> Settings:
    return Settings(secret_key=SECRET, web=WebConfig(report_token="s3cret-admin"))


@pytest.fixture
def client(engine: Engine, settings: Settings) -> TestClient:
    with engine.begin() as connection:
        for index, locale in enumerate(["fa_IR", "zh_CN", "en_GB"]):
            connection.execute(
                insert(CUSTOMER).values(
                    id=f"C{index}", locale=locale, timezone="UTC", created_at=NOW
                )
            )
        connection.execute(
            insert(ORDERS).values(
                id="O1", customer_id="C0", sku="S", amount=50, currency="USD", ordered_at=NOW
            )
        )
    return TestClient(create_app(settings, engine, clock=lambda: NOW))


def path(settings: Settings, customer: str, occasion: str) -> str:
    link = feedback_link(customer, occasion, "email", settings, Signer(SECRET))
    return link.removeprefix(settings.web.base_url.rstrip("/"))


def test_page_in_customer_language(client: TestClient, settings: Settings) -> None:
    page = client.get(path(settings, "C0", "feedback:O1"))
    assert page.status_code == 200
    assert 'lang="fa"' in page.text and "نظر شما" in page.text
    assert "您的反馈" in client.get(path(settings, "C1", "feedback:O2")).text


def test_answered_twice_stores_one(client: TestClient, settings: Settings, engine: Engine) -> None:
    url = path(settings, "C0", "feedback:O1")
    first = client.post(url, data={"score": "9", "comment": "عالی"})
    second = client.post(url, data={"score": "2", "comment": "changed my mind"})
    assert first.status_code == second.status_code == 200
    assert 'id="thanks"' in second.text
    with engine.connect() as connection:
        rows = connection.execute(select(FEEDBACK_ANSWER)).all()
    assert [(r.score, r.comment, r.stage, r.tier) for r in rows] == [
        (9, "عالی", "first_time", "insider")
    ]
    assert 'id="thanks"' in client.get(url).text


def test_invalid_score_is_not_stored(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    assert client.post(path(settings, "C2", "x"), data={"score": "11"}).status_code == 422
    with engine.connect() as connection:
        assert connection.execute(select(func.count()).select_from(FEEDBACK_ANSWER)).scalar() == 0


@pytest.mark.parametrize("score", ["²", "٣٣٣", "1" * 5000, "-1", "1e1", " "])
def test_a_score_no_one_could_mean_is_422_not_a_server_error(
    client: TestClient, settings: Settings, engine: Engine, score: str
) -> None:
    assert client.post(path(settings, "C2", "x"), data={"score": score}).status_code == 422


def test_a_score_in_persian_digits_counts(client: TestClient, settings: Settings) -> None:
    assert client.post(path(settings, "C2", "x"), data={"score": "۹"}).status_code == 200


@pytest.mark.parametrize(
    ("query", "reason"),
    [
        ("to=9999-12-31", "must lie in the years 2000 to 2100"),
        ("from=1999-12-31&to=2000-01-01", "must lie in the years 2000 to 2100"),
        ("from=2000-01-01&to=2010-01-08", "at most 3660 days"),
        ("to=2026-02-30", "must be YYYY-MM-DD dates"),
    ],
)
def test_a_report_period_out_of_bounds_is_400_with_the_reason(
    client: TestClient, engine: Engine, query: str, reason: str
) -> None:
    answer = client.get(f"/admin/report?token=s3cret-admin&{query}")
    assert answer.status_code == 400 and reason in answer.text


def test_the_longest_report_period_is_served(client: TestClient, engine: Engine) -> None:
    longest = client.get("/admin/report?token=s3cret-admin&from=2000-01-01&to=2010-01-07")
    assert longest.status_code == 200


@pytest.mark.parametrize("method", ["get", "post"])
def test_tampered_link_is_standard_404(client: TestClient, settings: Settings, method: str) -> None:
    url = path(settings, "C0", "feedback:O1")
    tampered = url[:-3] + ("AAA" if not url.endswith("AAA") else "BBB")
    wrong_purpose = "/feedback/" + Signer(SECRET).sign(Purpose.PREFERENCES, TokenClaims("C0"))
    reference = client.get("/preferences/not-a-token")
    for bad in (tampered, wrong_purpose):
        answer = (
            getattr(client, method)(bad, data={"score": "5"})
            if method == "post"
            else client.get(bad)
        )
        assert answer.status_code == 404
        assert answer.text == reference.text


def test_nps_matches_independent_computation(
    client: TestClient, settings: Settings, engine: Engine
) -> None:
    scores = {"C0": 10, "C1": 6, "C2": 8}
    for customer, score in scores.items():
        client.post(path(settings, customer, f"feedback:{customer}"), data={"score": str(score)})
    with engine.connect() as connection:
        n = connection.execute(select(func.count()).select_from(FEEDBACK_ANSWER)).scalar()
        promoters = connection.execute(
            select(func.count()).select_from(FEEDBACK_ANSWER).where(FEEDBACK_ANSWER.c.score >= 9)
        ).scalar()
        detractors = connection.execute(
            select(func.count()).select_from(FEEDBACK_ANSWER).where(FEEDBACK_ANSWER.c.score <= 6)
        ).scalar()
    report = compute(engine, settings, NOW.date(), NOW.date())
    assert report["feedback"]["overall"]["nps"] == pytest.approx(100 * (promoters - detractors) / n)
    assert report["feedback"]["by_campaign"]["feedback"]["answers"] == 3


def test_admin_report_requires_token(client: TestClient, engine: Engine) -> None:
    assert client.get("/admin/report").status_code == 401
    assert client.get("/admin/report?token=wrong").status_code == 401
    assert client.get("/admin/report", headers={"Authorization": "Bearer nope"}).status_code == 401
    ok = client.get("/admin/report", headers={"Authorization": "Bearer s3cret-admin"})
    assert ok.status_code == 200 and 'data-chart="cohorts"' in ok.text
    assert client.get("/admin/report?token=s3cret-admin&from=2026-01-01").status_code == 200


def test_admin_report_unavailable_without_configured_token(engine: Engine) -> None:
    app = create_app(Settings(secret_key=SECRET), engine)
    assert TestClient(app).get("/admin/report?token=anything").status_code == 503
