"""`report --json` on the demo data equals independent SQL for the same definitions.

The demo store has two years of orders in four currencies, so money is compared after
the same base-currency conversion, written here as SQL from the configured rates.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
from demo_store import DEMO_DAY, demo_store
from factories import REPO, scalar
from report_reference import reference_report
from sqlalchemy import Engine, and_, case, distinct, func, select

from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import (
    CONSENT_EVENT,
    CUSTOMER,
    ORDERS,
    OUTBOX,
)
from rapport.engine.reports.text import compute

DAY = DEMO_DAY
START, END = DAY - timedelta(days=89), DAY + timedelta(days=1)
BEGIN = datetime.combine(START, time(0), tzinfo=UTC)
FINISH = datetime.combine(END + timedelta(days=1), time(0), tzinfo=UTC)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> tuple[Engine, Settings]:
    """This module's copy of the demo store (a test here adds orders to it)."""
    store = demo_store(tmp_path_factory, tmp_path_factory.mktemp("demo"))
    base = load_settings(REPO / "config.yaml", environ={})
    settings = base.model_copy(
        update={"database": base.database.model_copy(update={"url": f"sqlite:///{store}"})}
    )
    return make_engine(settings.database_url), settings


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
            engine, select(OUTBOX.c.campaign).distinct().where(OUTBOX.c.transactional.is_(False))
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
            CONSENT_EVENT.c.status == "withdrawn",
            CONSENT_EVENT.c.captured_at >= begin,
            CONSENT_EVENT.c.captured_at < FINISH,
        ),
    )
    assert opt_outs > 0  # the demo's withdrawals fall in the period too
    assert opt_ins == scalar(
        engine,
        select(func.count()).where(
            CONSENT_EVENT.c.status == "granted",
            CONSENT_EVENT.c.captured_at >= begin,
            CONSENT_EVENT.c.captured_at < FINISH,
        ),
    )


def scalar_rows(engine: Engine, query) -> list:  # type: ignore[no-untyped-def, type-arg]
    with engine.connect() as connection:
        return list(connection.execute(query).scalars())


def test_lifetime_value_and_sends_per_day_on_demo_data_equal_sql(
    demo: tuple[Engine, Settings],
) -> None:
    from rapport.engine.reports.figures import MAX_LIFESPAN_YEARS

    engine, settings = demo
    report = compute(engine, settings, START, END)
    inputs = report["customers"]["clv_inputs"]
    year_ago, two_years_ago = FINISH - timedelta(days=365), FINISH - timedelta(days=730)
    last_year = and_(ORDERS.c.ordered_at >= year_ago, ORDERS.c.ordered_at < FINISH)
    orders = scalar(engine, select(func.count()).where(last_year))
    buyers = scalar(engine, select(func.count(distinct(ORDERS.c.customer_id))).where(last_year))
    value = float(scalar(engine, select(func.sum(in_base_currency(settings))).where(last_year)))
    later = ORDERS.alias("later")
    before = and_(ORDERS.c.ordered_at >= two_years_ago, ORDERS.c.ordered_at < year_ago)
    earlier_buyers = scalar(
        engine, select(func.count(distinct(ORDERS.c.customer_id))).where(before)
    )
    churned = scalar(
        engine,
        select(func.count(distinct(ORDERS.c.customer_id))).where(
            before,
            ~select(later.c.id)
            .where(
                later.c.customer_id == ORDERS.c.customer_id,
                later.c.ordered_at >= year_ago,
                later.c.ordered_at < FINISH,
            )
            .exists(),
        ),
    )
    aov, frequency, churn = value / orders, orders / buyers, churned / earlier_buyers
    lifespan = MAX_LIFESPAN_YEARS if churn == 0 else min(MAX_LIFESPAN_YEARS, 1 / churn)
    assert inputs["average_order_value"] == pytest.approx(aov, abs=0.01)
    assert inputs["orders_per_customer_year"] == pytest.approx(frequency, abs=1e-6)
    assert inputs["annual_churn"] == pytest.approx(churn, abs=1e-6)
    assert report["customers"]["clv_predictive"] == pytest.approx(
        aov * frequency * lifespan, rel=1e-4
    )

    day = func.date(OUTBOX.c.sent_at)  # the demo store is SQLite
    with engine.connect() as connection:
        expected = {
            (d, c): n
            for d, c, n in connection.execute(
                select(day, OUTBOX.c.channel, func.count())
                .where(
                    OUTBOX.c.status == "sent", OUTBOX.c.sent_at >= BEGIN, OUTBOX.c.sent_at < FINISH
                )
                .group_by(day, OUTBOX.c.channel)
            )
        }
    got = {(r["day"], r["channel"]): r["sent"] for r in report["sends_per_day"]}
    assert got == expected and expected


def test_stage_distribution_on_demo_data_equals_sql(demo: tuple[Engine, Settings]) -> None:
    from zoneinfo import ZoneInfo

    engine, settings = demo
    report = compute(engine, settings, START, END)
    customers = CUSTOMER
    as_of = FINISH - timedelta(microseconds=1)
    rule = settings.lifecycle
    with engine.connect() as connection:
        rows = connection.execute(
            select(customers.c.timezone, func.count(ORDERS.c.id), func.max(ORDERS.c.ordered_at))
            .select_from(
                customers.outerjoin(
                    ORDERS,
                    and_(ORDERS.c.customer_id == customers.c.id, ORDERS.c.ordered_at < FINISH),
                )
            )
            .group_by(customers.c.id, customers.c.timezone)
        ).all()
    expected: dict[str, int] = {}
    for timezone, count, last in rows:
        zone = ZoneInfo(timezone)
        if not count:
            stage = "prospect"
        else:
            last_at = datetime.fromisoformat(last) if isinstance(last, str) else last
            idle = (
                as_of.astimezone(zone).date() - last_at.replace(tzinfo=UTC).astimezone(zone).date()
            ).days
            stage = (
                "lapsed"
                if idle > rule.lapsed_days
                else "at_risk"
                if idle > rule.at_risk_days
                else "loyal"
                if count >= rule.loyal_min_orders
                else "repeat"
                if count >= 2
                else "first_time"
            )
        expected[stage] = expected.get(stage, 0) + 1
    assert report["distribution"]["stages"] == dict(sorted(expected.items()))
    assert len(expected) >= 4  # the demo data spans the stages


def test_tier_distribution_on_demo_data_equals_sql(demo: tuple[Engine, Settings]) -> None:
    from zoneinfo import ZoneInfo

    engine, settings = demo
    report = compute(engine, settings, START, END)
    customers = CUSTOMER
    as_of = FINISH - timedelta(microseconds=1)
    with engine.connect() as connection:
        zones = dict(connection.execute(select(customers.c.id, customers.c.timezone)).all())
        orders = connection.execute(
            select(ORDERS.c.customer_id, ORDERS.c.ordered_at, in_base_currency(settings)).where(
                ORDERS.c.ordered_at < FINISH
            )
        ).all()
    spend = dict.fromkeys(zones, 0.0)
    for customer_id, ordered_at, amount in orders:
        zone = ZoneInfo(zones[customer_id])
        today = as_of.astimezone(zone).date()
        moment = datetime.fromisoformat(ordered_at) if isinstance(ordered_at, str) else ordered_at
        day = moment.replace(tzinfo=UTC).astimezone(zone).date()
        if today - timedelta(days=365) < day <= today:  # the trailing 365 local days
            spend[customer_id] += float(amount)
    levels = sorted(settings.tiers.levels, key=lambda level: level.min_spend)
    expected: dict[str, int] = {}
    for value in spend.values():
        tier = [level.name for level in levels if value >= float(level.min_spend)][-1]
        expected[tier] = expected.get(tier, 0) + 1
    assert report["distribution"]["tiers"] == dict(sorted(expected.items()))
    assert len(expected) >= 2


def _score(value: float, limits: tuple[float, ...], higher_is_better: bool) -> int:
    """A 1-5 score from the documented RFM table."""
    if higher_is_better:  # frequency, monetary: 5 at or above the first limit
        return 5 - sum(value < least for least in limits)
    return 5 - sum(value > limit for limit in limits)  # recency: 5 within the first limit


def test_rfm_segments_on_demo_data_equal_the_documented_rules(
    demo: tuple[Engine, Settings],
) -> None:
    from zoneinfo import ZoneInfo

    engine, settings = demo
    report = compute(engine, settings, START, END)
    customers = CUSTOMER
    as_of = FINISH - timedelta(microseconds=1)
    with engine.connect() as connection:
        zones = dict(connection.execute(select(customers.c.id, customers.c.timezone)).all())
        orders = connection.execute(
            select(ORDERS.c.customer_id, ORDERS.c.ordered_at, in_base_currency(settings)).where(
                ORDERS.c.ordered_at < FINISH
            )
        ).all()
    count = dict.fromkeys(zones, 0)
    value = dict.fromkeys(zones, 0.0)
    last: dict[str, date] = {}
    for customer_id, ordered_at, amount in orders:
        moment = datetime.fromisoformat(ordered_at) if isinstance(ordered_at, str) else ordered_at
        day = moment.replace(tzinfo=UTC).astimezone(ZoneInfo(zones[customer_id])).date()
        count[customer_id] += 1
        value[customer_id] += float(amount)
        last[customer_id] = max(day, last.get(customer_id, day))
    expected: dict[str, int] = {}
    for customer_id, zone in zones.items():
        if not count[customer_id]:
            segment = "none"
        else:
            idle = (as_of.astimezone(ZoneInfo(zone)).date() - last[customer_id]).days
            r = _score(idle, (30, 90, 180, 365), higher_is_better=False)
            f = _score(count[customer_id], (10, 5, 3, 2), higher_is_better=True)
            m = _score(value[customer_id], (2500, 1000, 350, 100), higher_is_better=True)
            segment = (
                "champions"
                if r >= 4 and f >= 4 and m >= 4
                else "loyal"
                if r >= 3 and f >= 3
                else "new"
                if r == 5 and f == 1
                else "potential_loyalist"
                if r >= 3
                else "cant_lose"
                if f >= 4 or m >= 4
                else "at_risk"
                if r == 2 and f >= 2
                else "hibernating"
                if r == 2
                else "lost"
            )
        expected[segment] = expected.get(segment, 0) + 1
    assert report["distribution"]["segments"] == dict(sorted(expected.items()))
    assert len(expected) >= 4


def test_conversions_on_demo_data_equal_sql(demo: tuple[Engine, Settings]) -> None:
    engine, settings = demo
    with engine.begin() as connection:  # a few customers buy again after their message
        sent = connection.execute(
            select(OUTBOX.c.customer_id, OUTBOX.c.sent_at)
            .where(OUTBOX.c.status == "sent")
            .order_by(OUTBOX.c.id)
            .limit(6)
        ).all()
        for n, (customer_id, sent_at) in enumerate(sent):
            later = as_aware(sent_at) + timedelta(days=2 if n % 2 == 0 else 10)
            connection.execute(
                ORDERS.insert().values(
                    id=f"AFTER{n}",
                    customer_id=customer_id,
                    sku="GIFT-BOX",
                    quantity=1,
                    amount=85,
                    currency="USD",
                    ordered_at=later,
                )
            )
    report = compute(engine, settings, START, END)
    window = timedelta(days=7)
    with engine.connect() as connection:
        pairs = connection.execute(
            select(
                OUTBOX.c.campaign,
                OUTBOX.c.id,
                OUTBOX.c.sent_at,
                ORDERS.c.ordered_at,
                in_base_currency(settings),
            )
            .join(ORDERS, ORDERS.c.customer_id == OUTBOX.c.customer_id)
            .where(
                OUTBOX.c.status == "sent",
                OUTBOX.c.transactional.is_(False),
                OUTBOX.c.send_at < FINISH,
            )
        ).all()
    converted: dict[str, set[int]] = {}
    revenue: dict[str, float] = {}
    for campaign, row_id, sent, ordered, amount in pairs:
        sent, ordered = (as_aware(sent), as_aware(ordered))
        if sent < ordered <= sent + window:
            converted.setdefault(campaign, set()).add(row_id)
            revenue[campaign] = revenue.get(campaign, 0.0) + float(amount)
    for figures in report["campaigns"]:
        name = figures["campaign"]
        assert figures["converted"] == len(converted.get(name, ())), name
        assert figures["revenue"] == pytest.approx(revenue.get(name, 0.0), abs=0.01), name
    assert sum(len(ids) for ids in converted.values()) >= 3  # the planted orders count


def as_aware(value):  # type: ignore[no-untyped-def]
    value = datetime.fromisoformat(value) if isinstance(value, str) else value
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def test_cohorts_and_historical_clv_on_demo_data_equal_sql(demo: tuple[Engine, Settings]) -> None:
    engine, settings = demo
    since = DAY - timedelta(days=400)  # cohorts need first orders inside the period
    report = compute(engine, settings, since, END)
    upto = ORDERS.c.ordered_at < FINISH
    total = float(scalar(engine, select(func.sum(in_base_currency(settings))).where(upto)))
    buyers = scalar(engine, select(func.count(distinct(ORDERS.c.customer_id))).where(upto))
    assert report["customers"]["clv_historical"] == pytest.approx(total / buyers, abs=0.01)

    month = func.strftime("%Y-%m", ORDERS.c.ordered_at)  # the demo store is SQLite
    first = (
        select(ORDERS.c.customer_id, func.min(month).label("cohort"))
        .where(upto)
        .group_by(ORDERS.c.customer_id)
        .subquery()
    )
    with engine.connect() as connection:
        sizes = dict(
            connection.execute(select(first.c.cohort, func.count()).group_by(first.c.cohort)).all()
        )
        active = connection.execute(
            select(first.c.cohort, month, func.count(distinct(ORDERS.c.customer_id)))
            .select_from(ORDERS.join(first, first.c.customer_id == ORDERS.c.customer_id))
            .where(upto)
            .group_by(first.c.cohort, month)
        ).all()
    cells = {(cohort, m): n for cohort, m, n in active}
    assert report["cohorts"]
    for row in report["cohorts"]:
        assert row["size"] == sizes[row["cohort"]]
        for cell in row["months"]:
            assert cell["customers"] == cells.get((row["cohort"], cell["month"]), 0)


@pytest.mark.parametrize("days", [1, 90, 730])
def test_every_figure_equals_the_plain_computation(
    demo: tuple[Engine, Settings], days: int
) -> None:
    engine, settings = demo
    start = END - timedelta(days=days - 1)
    assert compute(engine, settings, start, END) == reference_report(engine, settings, start, END)
