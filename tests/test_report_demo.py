"""`report --json` on the demo data equals independent SQL for the same definitions.

The demo store has two years of orders in four currencies, so money is compared after
the same base-currency conversion, written here as SQL from the configured rates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, and_, case, distinct, func, select

from rapport.engine.config import Settings, load_settings
from rapport.engine.db import make_engine
from rapport.engine.demo import run_demo
from rapport.engine.models import ConsentEvent, Order, OutboxMessage
from rapport.engine.report import compute

REPO = Path(__file__).resolve().parent.parent
ORDERS = Order.__table__  # type: ignore[attr-defined]
OUTBOX = OutboxMessage.__table__  # type: ignore[attr-defined]
EVENTS = ConsentEvent.__table__  # type: ignore[attr-defined]
DAY = date(2026, 11, 26)
START, END = DAY - timedelta(days=89), DAY + timedelta(days=1)
BEGIN = datetime.combine(START, time(0), tzinfo=UTC)
FINISH = datetime.combine(END + timedelta(days=1), time(0), tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Settings]:
    folder = tmp_path_factory.mktemp("demo")
    base = load_settings(REPO / "config.yaml", environ={})
    run_demo(base, folder / "var", customers=240, seed=5, day=DAY, echo=lambda _: None)
    settings = base.model_copy(
        update={
            "database": base.database.model_copy(
                update={"url": f"sqlite:///{folder / 'var' / 'rapport.db'}"}
            )
        }
    )
    return make_engine(settings.database_url), settings


def scalar(engine: Engine, query):  # type: ignore[no-untyped-def]
    with engine.connect() as connection:
        return connection.execute(query).scalar() or 0


def in_base_currency(settings: Settings):  # type: ignore[no-untyped-def]
    rates = {code: float(rate) for code, rate in settings.tiers.rates.items()}
    return ORDERS.c.amount * case(rates, value=ORDERS.c.currency, else_=0)


def test_customer_figures_on_demo_data_equal_sql(demo: tuple[Engine, Settings]) -> None:
    engine, settings = demo
    report = compute(engine, settings, START, END)
    c = report["customers"]
    lookback = BEGIN - timedelta(days=365)
    later = ORDERS.alias("later")
    base = scalar(
        engine,
        select(func.count(distinct(ORDERS.c.customer_id))).where(
            ORDERS.c.ordered_at >= lookback, ORDERS.c.ordered_at < BEGIN
        ),
    )
    retained = scalar(
        engine,
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
    assert base > 50 and 0 < retained < base  # the demo data exercises the definition
    assert (c["base_customers"], c["retained_customers"]) == (base, retained)
    assert c["retention_rate"] == pytest.approx(retained / base, abs=1e-6)
    assert c["churn_rate"] == pytest.approx(1 - retained / base, abs=1e-6)
    in_period = and_(ORDERS.c.ordered_at >= BEGIN, ORDERS.c.ordered_at < FINISH)
    per = (
        select(ORDERS.c.customer_id, func.count().label("n"))
        .where(in_period)
        .group_by(ORDERS.c.customer_id)
        .subquery()
    )
    ordering = scalar(engine, select(func.count()).select_from(per))
    repeat = scalar(engine, select(func.count()).select_from(per).where(per.c.n >= 2))
    assert c["repeat_purchase_rate"] == pytest.approx(repeat / ordering, abs=1e-6)
    assert c["orders"] == scalar(engine, select(func.count()).where(in_period))
    revenue = scalar(engine, select(func.sum(in_base_currency(settings))).where(in_period))
    assert c["revenue"] == pytest.approx(float(revenue), rel=1e-6, abs=0.01)


def test_campaign_and_consent_figures_on_demo_data_equal_sql(
    demo: tuple[Engine, Settings],
) -> None:
    engine, settings = demo
    since = START - timedelta(days=310)  # a longer period: the demo's withdrawals are older
    report = compute(engine, settings, since, END)
    begin = datetime.combine(since, time(0), tzinfo=UTC)
    by_campaign = {c["campaign"]: c for c in report["campaigns"]}
    campaigns = set(
        scalar_rows(
            engine, select(distinct(OUTBOX.c.campaign)).where(OUTBOX.c.transactional.is_(False))
        )
    )
    assert campaigns and campaigns <= set(by_campaign)
    for name in campaigns:
        mine = and_(OUTBOX.c.campaign == name, OUTBOX.c.send_at < FINISH)
        figures = by_campaign[name]
        assert figures["sent"] == scalar(
            engine, select(func.count()).where(mine, OUTBOX.c.status == "sent")
        )
        assert figures["planned"] == scalar(
            engine, select(func.count()).where(mine, OUTBOX.c.status != "held_out")
        )
        assert figures["held_out"] == scalar(
            engine, select(func.count()).where(mine, OUTBOX.c.status == "held_out")
        )
    opt_ins = sum(row["opt_ins"] for row in report["consent"])
    opt_outs = sum(row["opt_outs"] for row in report["consent"])
    assert opt_outs == scalar(
        engine,
        select(func.count()).where(
            EVENTS.c.status == "withdrawn",
            EVENTS.c.captured_at >= begin,
            EVENTS.c.captured_at < FINISH,
        ),
    )
    assert opt_outs > 0  # the demo's withdrawals fall in the period too
    assert opt_ins == scalar(
        engine,
        select(func.count()).where(
            EVENTS.c.status == "granted",
            EVENTS.c.captured_at >= begin,
            EVENTS.c.captured_at < FINISH,
        ),
    )


def scalar_rows(engine: Engine, query) -> list:  # type: ignore[no-untyped-def, type-arg]
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())
