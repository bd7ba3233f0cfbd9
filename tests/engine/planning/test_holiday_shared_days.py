"""Two holidays of one tone on one day are one occasion that names both.

On 21 March 2026 (1 Farvardin 1405) Nowruz and Eid al-Fitr fell on the same day in
Iran; on 1 October 2020 China's National Day and the Mid-Autumn Festival did. The
shipped holiday offer greets the day once (one occasion, one message), and a reader
must find the holiday they celebrate in it: a Nowruz greeting that names only Eid
al-Fitr reads as if the company forgot the new year.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from factories import REPO, make_settings, order_history, order_line, profile

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign, load_campaign
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.context import message_context
from rapport.engine.planning.planner import Audiences, Decision, plan_customer
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.triggers.calendars import holiday_name

SETTINGS = make_settings()
SIGNER = Signer("link-key-for-tests")
BOUGHT = order_history(order_line("O-1", "SERUM-30ML", date(2019, 6, 1)))
NOWRUZ_AND_FITR = date(2026, 3, 21)
NATIONAL_DAY_AND_MID_AUTUMN = date(2020, 10, 1)


def customer(locale: str, country: str, zone: str, first: str, last: str) -> CustomerProfile:
    return profile(
        id="X-1",
        locale=locale,
        country=country,
        timezone=zone,
        first_name=first,
        last_name=last,
        email="x@example.com",
        history=BOUGHT,
    )


def holiday_offer() -> Campaign:
    return load_campaign(REPO / "campaigns" / "holiday-offer.yaml", SETTINGS, "holiday-offer.yaml")


def planned(who: CustomerProfile, campaign: Campaign, day: date) -> list[Decision]:
    audiences = Audiences(
        granted={who.id: {("email", "offers"), ("sms", "offers")}}, recent={who.id: []}
    )
    now = datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14)
    return [d for d in plan_customer(who, [campaign], audiences, day, now, SETTINGS) if d.selected]


def rendered(who: CustomerProfile, day: date) -> tuple[str, list[str]]:
    campaign = holiday_offer()
    (decision,) = planned(who, campaign, day)
    context = message_context(who, decision, campaign, SETTINGS, SIGNER, coupon_key="k")
    renderer = Renderer.from_settings(SETTINGS)
    mail = renderer.render(campaign.template_set, "email", who.locale, context)
    sms = renderer.render(campaign.template_set, "sms", who.locale, context)
    return context["occasion"]["name"], [mail.subject or "", mail.text, sms.text]


def test_nowruz_on_the_day_of_eid_al_fitr_is_named_beside_it_in_persian() -> None:
    who = customer("fa_IR", "IR", "Asia/Tehran", "سارا", "احمدی")
    nowruz = holiday_name("IR", NOWRUZ_AND_FITR, "fa_IR", english="Nowruz")
    fitr = holiday_name("IR", NOWRUZ_AND_FITR, "fa_IR", english="Eid al-Fitr")
    assert nowruz and fitr and "نوروز" in nowruz and "فطر" in fitr
    name, parts = rendered(who, NOWRUZ_AND_FITR)
    assert nowruz in name and fitr in name
    assert " و " in name  # joined as Persian joins two names (CLDR's list pattern)
    for part in parts:
        assert nowruz in part and fitr in part


def test_the_two_holidays_of_one_day_are_one_occasion_with_one_key() -> None:
    who = customer("fa_IR", "IR", "Asia/Tehran", "سارا", "احمدی")
    (decision,) = planned(who, holiday_offer(), NOWRUZ_AND_FITR)
    assert decision.occasion is not None
    assert decision.occasion.key == f"holiday:{decision.occasion.name}:2026-03-21"
    assert set(decision.occasion.names) == {"Nowruz", "Eid al-Fitr"}


def test_an_english_reader_in_iran_reads_both_names_joined_by_and() -> None:
    who = customer("en_US", "IR", "Asia/Tehran", "Sara", "Ahmadi")
    name, parts = rendered(who, NOWRUZ_AND_FITR)
    assert "Nowruz" in name and "Eid al-Fitr" in name and " and " in name
    assert all("Nowruz" in part for part in parts)


def test_national_day_and_mid_autumn_on_one_day_are_both_greeted_in_chinese() -> None:
    who = customer("zh_CN", "CN", "Asia/Shanghai", "伟", "王")
    name, parts = rendered(who, NATIONAL_DAY_AND_MID_AUTUMN)
    assert "国庆节" in name and "中秋节" in name and "和" in name
    for part in parts:
        assert "国庆节" in part and "中秋节" in part


def test_shared_day_names_read_as_docs_campaigns_md_shows() -> None:
    """docs/campaigns.md quotes the joined names word for word; hold it to them."""
    cases = [
        (customer("fa_IR", "IR", "Asia/Tehran", "سارا", "احمدی"), NOWRUZ_AND_FITR,
         "عید سعید فطر و جشن نوروز"),
        (customer("zh_CN", "CN", "Asia/Shanghai", "伟", "王"), NATIONAL_DAY_AND_MID_AUTUMN,
         "中秋节和国庆节"),
        (customer("en_US", "IR", "Asia/Tehran", "Sara", "Ahmadi"), NOWRUZ_AND_FITR,
         "Eid al-Fitr and Nowruz"),
    ]  # fmt: skip
    for who, day, documented in cases:
        assert rendered(who, day)[0] == documented
    assert all(d in (REPO / "docs" / "campaigns.md").read_text() for *_, d in cases)
