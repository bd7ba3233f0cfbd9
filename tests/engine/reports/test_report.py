"""``rapport report`` figures against independent SQL (acceptance 1-3)."""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from factories import scalar
from report_reference import reference_report
from sqlalchemy import Engine, and_, distinct, func, insert, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import (
    CONSENT_EVENT,
    CUSTOMER,
    ORDERS,
    OUTBOX,
)
from rapport.engine.reports.html import to_html
from rapport.engine.reports.text import compute

START, END = date(2026, 3, 1), date(2026, 5, 31)
BEGIN = datetime(2026, 3, 1, tzinfo=UTC)
FINISH = datetime(2026, 6, 1, tzinfo=UTC)


def at(day: str, hour: int = 12) -> datetime:
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


def message(key: str, customer: str, campaign: str, status: str, send: datetime, **extra) -> dict:  # type: ignore[no-untyped-def]
    values = {
        "idempotency_key": key,
        "customer_id": customer,
        "campaign": campaign,
        "occasion": key,
        "channel": "email",
        "topic": "offers",
        "locale": "en",
        "status": status,
        "send_at": send,
        "created_at": send,
        "sent_at": send if status == "sent" else None,
    }
    values.update(extra)
    return values


@pytest.fixture
def handmade(engine: Engine) -> Engine:
    rng = random.Random(3)
    with engine.begin() as connection:
        for i in range(40):
            connection.execute(
                insert(CUSTOMER).values(
                    id=f"C{i:02d}", locale="en", timezone="UTC", created_at=at("2024-01-01")
                )
            )
        orders = []
        for i in range(34):
            for n in range(rng.randint(1, 6)):
                day = date(2025, 1, 1) + timedelta(days=rng.randint(0, 520))
                orders.append(
                    {
                        "id": f"O{i}-{n}",
                        "customer_id": f"C{i:02d}",
                        "sku": "S",
                        "amount": rng.randint(10, 400),
                        "currency": "USD",
                        "ordered_at": at(day.isoformat(), rng.randint(0, 23)),
                    }
                )
        for i, days in {34: (3, 40, 70), 35: (10,), 36: (35, 50), 37: (45, 80)}.items():
            for n, offset in enumerate(days):
                orders.append(
                    {
                        "id": f"N{i}-{n}",
                        "customer_id": f"C{i:02d}",
                        "sku": "S",
                        "amount": 30 + offset,
                        "currency": "USD",
                        "ordered_at": BEGIN + timedelta(days=offset, hours=5),
                    }
                )
        connection.execute(insert(ORDERS), orders)
        rows = []
        for i in range(40):
            send = at("2026-03-10") + timedelta(days=i, minutes=30)
            status = ["sent", "sent", "held_out", "suppressed", "failed"][i % 5]
            rows.append(
                message(
                    f"k{i}",
                    f"C{i:02d}",
                    "winback" if i % 2 else "newsletter",
                    status,
                    send,
                    last_error="address is on the suppression list"
                    if status == "suppressed"
                    else None,
                )
            )
        connection.execute(insert(OUTBOX), rows)
        events = [
            {
                "customer_id": f"C{i:02d}",
                "channel": "email",
                "topic": "offers",
                "status": "withdrawn" if i % 3 == 0 else "granted",
                "source": "test",
                "captured_at": at("2026-03-10") + timedelta(days=i, hours=3),
                "recorded_at": at("2026-03-10") + timedelta(days=i, hours=3),
            }
            for i in range(40)
        ]
        connection.execute(insert(CONSENT_EVENT), events)
    return engine


def approx(value: float, abs: float = 1e-6) -> object:
    """Rates are reported to six decimals, money to cents."""
    return pytest.approx(value, abs=abs)


def test_customer_figures_equal_sql(handmade: Engine) -> None:
    report = compute(handmade, Settings(), START, END)
    c = report["customers"]
    lookback = BEGIN - timedelta(days=365)
    in_period = and_(ORDERS.c.ordered_at >= BEGIN, ORDERS.c.ordered_at < FINISH)
    later = ORDERS.alias("later")
    base = scalar(
        handmade,
        select(func.count(distinct(ORDERS.c.customer_id))).where(
            ORDERS.c.ordered_at >= lookback, ORDERS.c.ordered_at < BEGIN
        ),
    )
    retained = scalar(
        handmade,
        select(func.count(distinct(ORDERS.c.customer_id))).where(
            ORDERS.c.ordered_at >= lookback,
            ORDERS.c.ordered_at < BEGIN,
            select(later.c.id)
            .where(
                later.c.customer_id == ORDERS.c.customer_id,
                later.c.ordered_at >= BEGIN,
                later.c.ordered_at < FINISH,
            )
            .exists(),
        ),
    )
    assert (c["base_customers"], c["retained_customers"]) == (base, retained)
    assert c["retention_rate"] == approx(retained / base)
    assert c["churn_rate"] == approx(1 - retained / base)
    per = (
        select(ORDERS.c.customer_id, func.count().label("n"))
        .where(in_period)
        .group_by(ORDERS.c.customer_id)
        .subquery()
    )
    ordering = scalar(handmade, select(func.count()).select_from(per))
    repeat = scalar(handmade, select(func.count()).select_from(per).where(per.c.n >= 2))
    assert c["repeat_purchase_rate"] == approx(repeat / ordering)
    assert c["orders"] == scalar(handmade, select(func.count()).where(in_period))
    assert c["revenue"] == approx(
        float(scalar(handmade, select(func.sum(ORDERS.c.amount)).where(in_period))), abs=0.01
    )
    upto = ORDERS.c.ordered_at < FINISH
    total = float(scalar(handmade, select(func.sum(ORDERS.c.amount)).where(upto)))
    buyers = scalar(handmade, select(func.count(distinct(ORDERS.c.customer_id))).where(upto))
    assert c["clv_historical"] == approx(total / buyers, abs=0.01)


def test_cohorts_equal_sql(handmade: Engine) -> None:
    report = compute(handmade, Settings(), START, END)
    bounds = [datetime(2026, m, 1, tzinfo=UTC) for m in (3, 4, 5, 6)]
    first = (
        select(ORDERS.c.customer_id, func.min(ORDERS.c.ordered_at).label("first"))
        .where(ORDERS.c.ordered_at < FINISH)
        .group_by(ORDERS.c.customer_id)
        .subquery()
    )
    expected = []
    for i in range(3):
        members = select(first.c.customer_id).where(
            first.c.first >= bounds[i], first.c.first < bounds[i + 1]
        )
        size = scalar(handmade, select(func.count()).select_from(members.subquery()))
        if not size:
            continue
        cells = [
            scalar(
                handmade,
                select(func.count(distinct(ORDERS.c.customer_id))).where(
                    ORDERS.c.customer_id.in_(members),
                    ORDERS.c.ordered_at >= bounds[j],
                    ORDERS.c.ordered_at < bounds[j + 1],
                ),
            )
            for j in range(i, 3)
        ]
        expected.append((f"2026-{i + 3:02d}", size, cells))
    got = [
        (r["cohort"], r["size"], [m["customers"] for m in r["months"]]) for r in report["cohorts"]
    ]
    assert got == expected and expected


def test_campaign_and_consent_figures_equal_sql(handmade: Engine) -> None:
    report = compute(handmade, Settings(), START, END)
    for campaign in report["campaigns"]:
        mine = and_(OUTBOX.c.campaign == campaign["campaign"], OUTBOX.c.send_at < FINISH)

        def count(*where, mine=mine):  # type: ignore[no-untyped-def]
            return scalar(handmade, select(func.count()).where(mine, *where))

        assert campaign["planned"] == count(OUTBOX.c.status != "held_out")
        assert campaign["sent"] == count(OUTBOX.c.status == "sent")
        assert campaign["failed"] == count(OUTBOX.c.status == "failed")
        assert campaign["held_out"] == count(OUTBOX.c.status == "held_out")
        assert sum(campaign["suppressed_by_reason"].values()) == count(
            OUTBOX.c.status == "suppressed"
        )
        # Conversion: an order in (sent_at, sent_at + 7 days]; compared in Python on SQL rows.
        with handmade.connect() as connection:
            sent = connection.execute(
                select(OUTBOX.c.customer_id, OUTBOX.c.sent_at).where(
                    mine, OUTBOX.c.status == "sent"
                )
            ).all()
            converted, revenue = 0, 0.0
            for customer, sent_at in sent:
                amounts = (
                    connection.execute(
                        select(ORDERS.c.amount).where(
                            ORDERS.c.customer_id == customer,
                            ORDERS.c.ordered_at > sent_at,
                            ORDERS.c.ordered_at <= sent_at + timedelta(days=7),
                        )
                    )
                    .scalars()
                    .all()
                )
                converted += bool(amounts)
                revenue += float(sum(amounts))
        assert campaign["converted"] == converted
        assert campaign["revenue"] == approx(revenue, abs=0.01)
    march = next(r for r in report["consent"] if r["month"] == "2026-03")
    in_march = and_(
        CONSENT_EVENT.c.captured_at >= BEGIN,
        CONSENT_EVENT.c.captured_at < datetime(2026, 4, 1, tzinfo=UTC),
    )
    assert march["opt_outs"] == scalar(
        handmade, select(func.count()).where(in_march, CONSENT_EVENT.c.status == "withdrawn")
    )
    assert march["opt_ins"] == scalar(
        handmade, select(func.count()).where(in_march, CONSENT_EVENT.c.status == "granted")
    )
    assert sum(report["distribution"]["stages"].values()) == 40
    assert report["distribution"]["stages"].get("prospect") == 2
    assert report["distribution"]["segments"].get("none") == 2


def planted(engine: Engine, messaged_rate: float, holdout_rate: float, n: int = 1500) -> dict:  # type: ignore[type-arg]
    rng = random.Random(11)
    send = at("2026-04-01")
    with engine.begin() as connection:
        customers, rows, orders = [], [], []
        for i in range(2 * n):
            held = i % 2 == 1
            customers.append(
                {"id": f"P{i}", "locale": "en", "timezone": "UTC", "created_at": at("2025-01-01")}
            )
            rows.append(message(f"p{i}", f"P{i}", "offer", "held_out" if held else "sent", send))
            if rng.random() < (holdout_rate if held else messaged_rate):
                orders.append(
                    {
                        "id": f"PO{i}",
                        "customer_id": f"P{i}",
                        "sku": "S",
                        "amount": 20,
                        "currency": "USD",
                        "ordered_at": send + timedelta(days=2),
                    }
                )
        connection.execute(insert(CUSTOMER), customers)
        connection.execute(insert(OUTBOX), rows)
        if orders:
            connection.execute(insert(ORDERS), orders)
    report = compute(engine, Settings(), date(2026, 4, 1), date(2026, 4, 30))
    return report["campaigns"][0]["uplift"]


def test_planted_uplift_is_inside_the_interval(engine: Engine) -> None:
    found = planted(engine, 0.30, 0.20)
    assert found["lower"] <= 0.10 <= found["upper"]
    assert found["lower"] > 0


def test_no_effect_interval_contains_zero(engine: Engine) -> None:
    found = planted(engine, 0.20, 0.20)
    assert found["lower"] <= 0 <= found["upper"]


CHARTS = ["cohorts", "stages", "tiers", "segments", "funnel", "uplift", "sends"]


def test_html_opens_in_chromium_with_every_chart(
    handmade: Engine, browser: object, tmp_path: Path
) -> None:
    report = compute(handmade, Settings(), START, END)
    page_file = tmp_path / "report.html"
    page_file.write_text(to_html(report), encoding="utf-8")
    page = browser.new_page()  # type: ignore[attr-defined]
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    requests: list[str] = []
    page.on("request", lambda r: requests.append(r.url))
    page.goto(page_file.as_uri())
    for name in CHARTS:
        figure = page.locator(f'figure[data-chart="{name}"] svg')
        assert figure.count() == 1, name
        assert figure.bounding_box()["width"] > 0, name  # type: ignore[index]
    assert page.locator('figure[data-chart="cohorts"] rect.cell').count() > 0
    assert page.locator('figure[data-chart="uplift"] line.interval').count() == 2
    assert page.locator('figure[data-chart="funnel"] rect.bar').count() == 8
    assert page.locator('figure[data-chart="sends"] rect.bar').count() >= 1
    page.screenshot(path=str(tmp_path / "report.png"), full_page=True)
    print("screenshot:", tmp_path / "report.png")
    assert errors == []
    assert requests == [page_file.as_uri()]
    page.close()


def test_every_figure_equals_the_plain_computation(handmade: Engine) -> None:
    assert compute(handmade, Settings(), START, END) == reference_report(
        handmade, Settings(), START, END
    )
