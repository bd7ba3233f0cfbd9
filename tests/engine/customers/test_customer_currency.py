"""A customer's currency: their profile's, else most of their spend's, else the base
currency; sums in it convert other currencies through the base and round to the
currency's CLDR digits. The import's optional ``currency`` column sets the profile's."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from factories import make_settings
from sqlalchemy import Engine, select

from rapport.engine.core.config import TierConfig
from rapport.engine.core.models import CUSTOMER
from rapport.engine.customers.importer import import_file
from rapport.engine.customers.lifecycle import (
    OrderLine,
    customer_currency,
    round_money,
    spend_in,
    to_base_currency,
)

TIERS = TierConfig(
    base_currency="USD",
    rates={
        "USD": Decimal(1),
        "CNY": Decimal("0.14"),
        "IRR": Decimal("0.0000238"),
        "EUR": Decimal("1.08"),
    },
)


def line(order_id: str, amount: str, currency: str, month: int) -> OrderLine:
    paid = Decimal(amount)
    base = to_base_currency(paid, currency, TIERS)
    moment = datetime(2026, month, 1, 12, tzinfo=UTC)
    return OrderLine(
        id=order_id,
        sku="TEA",
        quantity=1,
        amount=Decimal(0) if base is None else base,
        currency=currency,
        ordered_at=moment,
        day=moment.date(),
        paid=paid,
    )


def test_the_profiles_currency_wins_over_the_orders() -> None:
    orders = [line("o1", "5000000", "IRR", 1)]
    assert customer_currency("EUR", orders, TIERS) == "EUR"
    assert customer_currency("eur", orders, TIERS) == "EUR"


def test_without_a_profile_currency_most_of_the_spend_decides() -> None:
    # Two CNY orders worth 210 USD outweigh one USD order of 120, however many.
    orders = [
        line("o1", "120", "USD", 1),
        line("o2", "1000", "CNY", 2),
        line("o3", "500", "CNY", 3),
    ]
    assert customer_currency(None, orders, TIERS) == "CNY"
    many_small = [line(f"u{n}", "10", "USD", 1 + n) for n in range(5)]
    assert customer_currency(None, [*many_small, line("o9", "500", "CNY", 8)], TIERS) == "CNY"


def test_a_tie_goes_to_the_latest_orders_currency() -> None:
    # 140 USD either way: the currency ordered last wins.
    usd_last = [line("o1", "1000", "CNY", 1), line("o2", "140", "USD", 2)]
    cny_last = [line("o1", "140", "USD", 1), line("o2", "1000", "CNY", 2)]
    assert customer_currency(None, usd_last, TIERS) == "USD"
    assert customer_currency(None, cny_last, TIERS) == "CNY"


def test_no_orders_or_no_rate_gives_the_base_currency() -> None:
    assert customer_currency(None, [], TIERS) == "USD"
    assert customer_currency("JPY", [line("o1", "10", "USD", 1)], TIERS) == "USD"
    assert customer_currency(None, [line("o1", "900", "JPY", 1)], TIERS) == "USD"
    # An unrated currency never outvotes a rated one, however large.
    assert (
        customer_currency(None, [line("o1", "9", "IRR", 1), line("o2", "9e9", "JPY", 2)], TIERS)
        == "IRR"
    )


def test_sums_convert_through_the_base_currency_and_round_to_cldr_digits() -> None:
    orders = [line("o1", "120", "USD", 1), line("o2", "1000", "CNY", 2)]
    assert spend_in(orders, "CNY", TIERS) == Decimal("1857.14")  # 1000 + 120 / 0.14
    assert spend_in(orders, "USD", TIERS) == Decimal("260.00")  # 120 + 1000 * 0.14
    # Rials have no decimals: 120 USD is 5,042,016.8 rials, shown as 5,042,017.
    assert spend_in(orders[:1], "IRR", TIERS) == Decimal("5042017")
    assert round_money(Decimal("0.125"), "USD") == Decimal("0.13")
    assert round_money(Decimal("2.5"), "JPY") == Decimal("3")


def test_an_order_in_the_customers_currency_counts_as_paid() -> None:
    # Not round-tripped through the base currency: 12,500,000 rials stay exact.
    orders = [line("o1", "12500000", "IRR", 1), line("o2", "11500000", "IRR", 2)]
    assert spend_in(orders, "IRR", TIERS) == Decimal("24000000")


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "customers.csv").write_text(
        "id,locale,timezone,currency\n"
        "c1,fa_IR,Asia/Tehran,irr\n"
        "c2,zh_CN,Asia/Shanghai,\n"
        "c3,en_US,UTC,XYZ\n"
        "c4,en_US,UTC,dollars\n",
        encoding="utf-8",
    )
    (tmp_path / "again.jsonl").write_text(
        '{"id": "c1", "locale": "fa_IR", "timezone": "Asia/Tehran"}\n'
        '{"id": "c2", "locale": "zh_CN", "timezone": "Asia/Shanghai", "currency": "CNY"}\n',
        encoding="utf-8",
    )
    (tmp_path / "clear.csv").write_text(
        "id,locale,timezone,currency\nc1,fa_IR,Asia/Tehran,\n", encoding="utf-8"
    )
    return tmp_path


def currencies(engine: Engine) -> dict[str, str | None]:
    with engine.connect() as connection:
        rows = connection.execute(select(CUSTOMER.c.id, CUSTOMER.c.currency))
        return {row.id: row.currency for row in rows}


def test_the_import_stores_a_customers_currency(engine: Engine, files: Path) -> None:
    settings = make_settings()
    report = import_file(engine, settings, "customers", files / "customers.csv")
    assert [str(p).rsplit("/", 1)[-1] for p in report.problems] == [
        "customers.csv:4: currency: not an ISO 4217 currency code (e.g. USD, IRR, CNY)",
        "customers.csv:5: currency: not an ISO 4217 currency code (e.g. USD, IRR, CNY)",
    ]
    assert currencies(engine) == {"c1": "IRR", "c2": None}
    # Absent leaves it alone; a value sets it; empty clears it.
    import_file(engine, settings, "customers", files / "again.jsonl")
    assert currencies(engine) == {"c1": "IRR", "c2": "CNY"}
    import_file(engine, settings, "customers", files / "clear.csv")
    assert currencies(engine) == {"c1": None, "c2": "CNY"}
