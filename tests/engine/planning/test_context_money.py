"""Money in a message's context is in the customer's currency: lifetime value, last
order and a fixed amount off, converted with ``tiers.rates`` and rounded to the
currency's CLDR digits; the tier is still decided in the base currency."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

from factories import CONTEXT_CUSTOMER, LINK_SIGNER, make_settings
from factories import context_campaign as campaign
from factories import context_decision as decision

from rapport.engine.campaigns.offers import offer_problems, personal_offer
from rapport.engine.core.config import TierConfig
from rapport.engine.customers.lifecycle import OrderHistory, OrderLine, to_base_currency
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.context import message_context
from rapport.engine.rendering.renderer import Renderer

TIERS = TierConfig(
    base_currency="USD",
    rates={"USD": Decimal(1), "CNY": Decimal("0.14"), "IRR": Decimal("0.0000238")},
)
SETTINGS = make_settings(tiers=TIERS)
AS_OF = datetime(2026, 3, 1, tzinfo=UTC)


def line(order_id: str, amount: str, currency: str, day: date) -> OrderLine:
    paid = Decimal(amount)
    base = to_base_currency(paid, currency, TIERS)
    assert base is not None
    return OrderLine(
        id=order_id,
        sku="TEA",
        quantity=1,
        amount=base,
        currency=currency,
        ordered_at=datetime(day.year, day.month, day.day, 8, tzinfo=UTC),
        day=day,
        paid=paid,
    )


def customer(*lines: OrderLine, **changes: object) -> CustomerProfile:
    history = OrderHistory.from_orders(lines, AS_OF)
    return replace(CONTEXT_CUSTOMER, history=history, **changes)


def context(profile: CustomerProfile, offer: dict[str, object] | None = None) -> dict:
    return message_context(
        profile, decision(), campaign(offer), SETTINGS, LINK_SIGNER, coupon_key="k"
    )


IRANIAN = customer(
    line("O-1", "12500000", "IRR", date(2026, 1, 10)),
    line("O-2", "11500000", "IRR", date(2026, 2, 2)),
)
CHINESE = customer(
    line("O-1", "3280.00", "CNY", date(2026, 1, 10)),
    line("O-2", "2505.50", "CNY", date(2026, 2, 2)),
    locale="zh_Hans_CN",
    timezone="Asia/Shanghai",
    country="CN",
    first_name="伟",
    last_name="王",
)


def test_an_iranian_customer_with_rial_orders_sees_rials() -> None:
    ctx = context(IRANIAN, {"amount_off": 10})
    assert ctx["customer"]["currency"] == "IRR"
    assert ctx["customer"]["lifetime_value"] == Decimal("24000000")
    assert ctx["last_order"]["amount"] == Decimal("11500000")
    assert ctx["last_order"]["currency"] == "IRR"
    # 10 USD at 0.0000238 is 420,168.07 rials; rials have no decimals.
    assert ctx["offer"]["amount_off"] == Decimal("420168")
    # The tier still counts in dollars: 24,000,000 rials are 571.20 USD.
    assert IRANIAN.history.spend_12m == Decimal("571.2000000")


def test_a_chinese_customer_with_yuan_orders_sees_yuan() -> None:
    ctx = context(CHINESE, {"amount_off": {"insider": 5, "vib": 10, "rouge": 20}})
    assert ctx["customer"]["currency"] == "CNY"
    assert ctx["customer"]["lifetime_value"] == Decimal("5785.50")
    assert ctx["offer"]["amount_off"] == Decimal("71.43")  # the VIB value, 10 USD


def test_the_shipped_templates_and_the_offer_amount_read_in_the_customers_currency() -> None:
    renderer = Renderer.from_settings(SETTINGS)
    fa = renderer.render("birthday", "email", "fa_IR", context(IRANIAN))
    assert "\u200eریال\xa0۲۴٬۰۰۰٬۰۰۰" in fa.text
    assert "$" not in fa.text and "USD" not in fa.text
    zh = renderer.render("birthday", "email", "zh_Hans_CN", context(CHINESE))
    assert "累计消费¥5,785.50" in zh.text
    assert "US$" not in zh.text
    offer = renderer.environment("zh").filters["format_currency"]
    assert offer(context(CHINESE, {"amount_off": 10})["offer"]["amount_off"], "CNY") == "¥71.43"


def test_a_mixed_customer_gets_the_majority_currency_with_the_rest_converted() -> None:
    mixed = customer(
        line("O-1", "120.00", "USD", date(2026, 1, 2)),
        line("O-2", "1000.00", "CNY", date(2026, 1, 20)),
        line("O-3", "500.00", "CNY", date(2026, 2, 20)),
    )
    ctx = context(mixed)
    assert ctx["customer"]["currency"] == "CNY"
    assert ctx["customer"]["lifetime_value"] == Decimal("2357.14")  # 1500 + 120 / 0.14
    assert ctx["last_order"]["amount"] == Decimal("500.00")


def test_the_profiles_currency_converts_every_order() -> None:
    ctx = context(replace(IRANIAN, currency="USD"), {"amount_off": 10})
    assert ctx["customer"]["currency"] == "USD"
    assert ctx["customer"]["lifetime_value"] == Decimal("571.20")
    assert ctx["offer"]["amount_off"] == Decimal("10.00")


def test_a_history_of_summaries_only_is_shown_from_its_base_amount() -> None:
    summary = replace(CONTEXT_CUSTOMER, history=OrderHistory(1, lifetime_value=Decimal("28")))
    ctx = context(replace(summary, currency="CNY"))
    assert (ctx["customer"]["currency"], ctx["customer"]["lifetime_value"]) == ("CNY", 200)


def test_without_a_currency_an_offer_amount_stays_as_written() -> None:
    kept = personal_offer(
        {"amount_off": 10},
        tier="vib",
        segment=None,
        campaign_id="c",
        customer_id="C1",
        occasion_key="k",
        key=None,
    )
    assert kept == {"amount_off": 10}


def test_an_amount_off_must_be_a_positive_number() -> None:
    problems = offer_problems(
        {"amount_off": {"insider": 0, "vib": "ten", "default": 5}}, ["insider", "vib"]
    )
    assert [(p.field, p.message) for p in problems] == [
        ("offer.amount_off.insider", "must be a number above 0, in the base currency"),
        ("offer.amount_off.vib", "must be a number above 0, in the base currency"),
    ]
    assert offer_problems({"amount_off": 12.5}, ["insider"]) == []
