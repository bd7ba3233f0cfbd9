"""Localization end to end: real templates rendered for Persian, Chinese, English
and Arabic customers (acceptance 1 and 2), the locale chain for words *and* formats,
right-to-left markup, relative times, holiday names, and the segment count stored
with each planned SMS.

The shipped templates are rendered through :class:`Renderer` with the sample
customer of :func:`sample_context`, changed only where a test needs a known date or
amount, so these tests see exactly what a customer would. The localization checks of
``rapport campaigns validate`` are in ``test_localization_checks.py``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from babel import Locale
from sqlalchemy import Engine, insert, select

from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, OUTBOX
from rapport.engine.customers import fields as validation
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.rendering.sms_encoding import count_sms
from rapport.engine.triggers.calendars import holiday_name

BIRTHDAY = date(2026, 3, 21)  # 1 Farvardin 1405: Nowruz and a Persian customer's birthday
FSI, PDI = "\u2068", "\u2069"  # first-strong isolate ... pop directional isolate
LATIN_DIGITS = re.compile(r"[0-9]")


@pytest.fixture(scope="module")  # over conftest's, which allows no problem at all
def campaigns(settings: Settings) -> dict[str, Campaign]:
    loaded, _ = load_campaigns(settings)  # other campaigns' problems are not ours here
    return {c.id: c for c in loaded}


def birthday_context(
    locale: str,
    campaign: Campaign,
    settings: Settings,
    *,
    spent: Decimal,
    currency: str,
    code: str | None = None,
) -> dict[str, Any]:
    """A VIB customer of ``locale`` whose birthday is 2026-03-21, having spent ``spent``."""
    context = sample_context(locale, campaign, settings=settings)
    context["customer"].update(
        birthday=date(1990, 3, 21), tier="vib", lifetime_value=spent, currency=currency
    )
    context["occasion"].update(date=BIRTHDAY, years=36)
    if code is not None:
        context["offer"] = {**context["offer"], "code": code}
    return context


@dataclass
class Page(HTMLParser):
    """Just enough DOM for the assertions: attributes by tag, text inside <bdi>, styles."""

    attributes: dict[str, list[dict[str, str | None]]] = field(default_factory=dict)
    isolated: list[str] = field(default_factory=list)
    styles: list[str] = field(default_factory=list)
    _bdi_depth: int = 0

    def __post_init__(self) -> None:
        super().__init__()

    @classmethod
    def parse(cls, html: str) -> Page:
        page = cls()
        page.feed(html)
        return page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        self.attributes.setdefault(tag, []).append(values)
        if values.get("style"):
            self.styles.append(str(values["style"]))
        if tag == "bdi":
            self._bdi_depth += 1
            self.isolated.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "bdi":
            self._bdi_depth -= 1

    def handle_data(self, data: str) -> None:
        if self._bdi_depth:
            self.isolated[-1] += data

    def first(self, tag: str) -> dict[str, str | None]:
        return self.attributes[tag][0]


# --------------------------------------------------------------------------- acceptance 1


def test_a_persian_birthday_greeting_is_solar_hijri_persian_digits_and_rtl(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    context = birthday_context(
        "fa_IR", campaigns["birthday"], settings, spent=Decimal(1500000), currency="IRR"
    )
    mail = renderer.render("birthday", "email", "fa_IR", context)
    assert mail.locale == "fa"  # fa_IR -> fa: the chain found the language folder

    page = Page.parse(mail.html or "")
    assert page.first("html") == {"dir": "rtl", "lang": "fa"}
    assert page.first("body")["dir"] == "rtl"  # kept where webmail drops <html>'s attributes

    # 2026-03-21 is 1 Farvardin 1405, in Persian digits, in both parts.
    for part in (mail.html, mail.text):
        assert "۱ فروردین ۱۴۰۵" in (part or "")
        assert "21" not in (part or "").replace(context["links"]["preferences"], "")
    # 1500000 IRR: Persian digits and the Persian thousands separator (U+066C).
    amount = "ریال\u00a0۱٬۵۰۰٬۰۰۰"
    assert amount in mail.text
    assert any(amount in text for text in page.isolated)  # isolated from the Persian around it
    assert "1500000" not in mail.html and "1,500,000" not in (mail.html or "")
    assert "۱۵٪ تخفیف" in mail.text  # the VIB gift, with the Persian percent sign

    sms = renderer.render("birthday", "sms", "fa_IR", context)
    assert sms.text.endswith("لغو: STOP")
    encoding, units, _ = count_sms(sms.text)
    assert (encoding, units) == ("UCS-2", len(sms.text))  # Persian letters: UCS-2, 70 a segment


def test_latin_codes_keep_their_order_inside_persian_text(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    context = birthday_context(
        "fa_IR",
        campaigns["birthday"],
        settings,
        spent=Decimal(1500000),
        currency="IRR",
        code="BDAY-7KQ2-X9",
    )
    mail = renderer.render("birthday", "email", "fa_IR", context)
    sms = renderer.render("birthday", "sms", "fa_IR", context)
    page = Page.parse(mail.html or "")
    code = next(attrs for attrs in page.attributes["bdi"] if attrs.get("dir") == "ltr")
    assert code is not None and "BDAY-7KQ2-X9" in page.isolated
    assert "VIB" in page.isolated  # the tier's Latin name
    assert settings.sender.postal_address in page.isolated  # the Latin postal address
    # a name can be in either script: the greeting that holds it is isolated
    assert "سارا احمدی گرامی" in page.isolated
    for text in (mail.text, sms.text):
        assert f"{FSI}BDAY-7KQ2-X9{PDI}" in text
    # In the plain-text part a URL stands on a line of its own, never inside Persian.
    lines = mail.text.splitlines()
    assert context["links"]["preferences"] in lines
    assert context["links"]["unsubscribe"] in lines


def test_the_sku_of_a_reorder_reminder_is_isolated_in_every_persian_part(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    context = sample_context("fa_IR", campaigns["reorder"], settings=settings)
    mail = renderer.render("reorder", "email", "fa_IR", context)
    sku = context["occasion"]["sku"]
    assert f"{FSI}{sku}{PDI}" in (mail.subject or "")
    assert f"{FSI}{sku}{PDI}" in mail.text
    assert sku in Page.parse(mail.html or "").isolated
    sms = renderer.render("reorder", "sms", "fa_IR", context)
    assert f"{FSI}{sku}{PDI}" in sms.text


@pytest.mark.parametrize("campaign_id", ["birthday", "holiday-offer", "reorder"])
def test_persian_html_mirrors_with_logical_css(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings, campaign_id: str
) -> None:
    campaign = campaigns[campaign_id]
    context = sample_context("fa_IR", campaign, settings=settings)
    html = renderer.render(campaign.template_set, "email", "fa_IR", context).html or ""
    page = Page.parse(html)
    assert page.first("html") == {"dir": "rtl", "lang": "fa"}
    assert all(table.get("dir") == "rtl" for table in page.attributes["table"])
    for style in page.styles:
        # A physical alignment is only a fallback before its logical twin.
        if re.search(r"text-align:\s*(left|right)", style):
            assert re.search(r"text-align:\s*(start|end)", style), style
        assert not re.search(r"(margin|padding|border)-(left|right)", style), style


# --------------------------------------------------------------------------- acceptance 2


@pytest.mark.parametrize(
    ("locale", "spent", "currency", "day", "amount"),
    [
        ("zh_CN", Decimal("3280"), "CNY", "2026年3月21日", "¥3,280.00"),
        ("en_US", Decimal("486.50"), "USD", "March 21, 2026", "$486.50"),
        # Same en/ folder, the British customer's own formats (the locale chain).
        ("en_GB", Decimal("486.50"), "GBP", "21 March 2026", "£486.50"),
    ],
)
def test_chinese_and_english_greetings_use_their_own_formats(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    locale: str,
    spent: Decimal,
    currency: str,
    day: str,
    amount: str,
) -> None:
    context = birthday_context(
        locale, campaigns["birthday"], settings, spent=spent, currency=currency
    )
    mail = renderer.render("birthday", "email", locale, context)
    assert mail.locale == locale.split("_")[0]
    page = Page.parse(mail.html or "")
    assert page.first("html") == {"lang": locale.split("_")[0]}  # left to right: no dir
    for part in (mail.html or "", mail.text):
        assert day in part
        assert amount in part
    if locale.startswith("zh"):
        assert "王伟" in mail.text  # family name first


# --------------------------------------------------------------------------- locale chain


@pytest.fixture
def chain_renderer(tmp_path: Path) -> Renderer:
    """Folders en, fa and ar, each printing its language, a date and a number."""
    body = "{{ occasion.date | format_date }} | {{ 1500000 | format_number }}\n"
    for folder, word in (("en", "Hello"), ("fa", "سلام"), ("ar", "مرحبا")):
        root = tmp_path / "templates" / "promo" / folder
        root.mkdir(parents=True)
        (root / "email_subject.txt").write_text(word, encoding="utf-8")
        (root / "email.txt").write_text(f"{word}: {body}", encoding="utf-8")
    return Renderer(tmp_path / "templates", "en")


@pytest.mark.parametrize(
    ("customer_locale", "folder", "expected"),
    [
        ("fa_IR", "fa", "سلام: ۱ فروردین ۱۴۰۵ | ۱٬۵۰۰٬۰۰۰"),
        ("fa", "fa", "سلام: ۱ فروردین ۱۴۰۵ | ۱٬۵۰۰٬۰۰۰"),
        ("ar_EG", "ar", "مرحبا: ٢١ مارس ٢٠٢٦ | ١٬٥٠٠٬٠٠٠"),  # Egypt: Arabic-Indic digits
        ("en_GB", "en", "Hello: 21 March 2026 | 1,500,000"),
        ("en", "en", "Hello: March 21, 2026 | 1,500,000"),
        # No German folder: the default's words *and* the default's formats, no mix.
        ("de_DE", "en", "Hello: March 21, 2026 | 1,500,000"),
        ("zh_CN", "en", "Hello: March 21, 2026 | 1,500,000"),
    ],
)
def test_words_and_formats_follow_the_same_locale_chain(
    chain_renderer: Renderer, customer_locale: str, folder: str, expected: str
) -> None:
    context = {"occasion": {"date": BIRTHDAY}}
    message = chain_renderer.render("promo", "email", customer_locale, context)
    assert message.locale == folder
    assert message.text == expected


def test_formats_are_parsed_once_per_folder_and_customer_locale(chain_renderer: Renderer) -> None:
    first = chain_renderer.formats_for("en", "en_GB")
    assert first.locale == Locale("en", "GB")
    assert chain_renderer.formats_for("en", "en_GB") is first
    assert chain_renderer.formats_for("en", None).locale == Locale("en")
    assert chain_renderer.formats_for("en", "de_DE").locale == Locale("en")


@pytest.mark.parametrize("raw", ["xx", "zz_ZZ", "en_ZZ", "fa-XX", "klingon", "../etc"])
def test_unknown_locales_are_rejected_at_import(raw: str) -> None:
    with pytest.raises(validation.FieldInvalid, match="not a known locale"):
        validation.locale(raw)


@pytest.mark.parametrize(
    ("raw", "stored"),
    [("fa-IR", "fa_IR"), ("ar_EG", "ar_EG"), ("zh-Hans-CN", "zh_Hans_CN"), ("en", "en")],
)
def test_known_locales_are_stored_in_one_spelling(raw: str, stored: str) -> None:
    assert validation.locale(raw) == stored


# --------------------------------------------------------------------------- relative times


@pytest.mark.parametrize(
    ("folder", "ago", "ahead", "span"),
    [
        ("en", "3 days ago", "in 2 weeks", "5 hours"),
        ("fa", "۳ روز پیش", "۲ هفته بعد", "۵ ساعت"),
        ("zh", "3天前", "2周后", "5小时"),
        ("ar", "قبل 3 أيام", "خلال أسبوعين", "5 ساعات"),
    ],
)
def test_relative_times_are_localized(
    tmp_path: Path, folder: str, ago: str, ahead: str, span: str
) -> None:
    root = tmp_path / "templates" / "promo" / folder
    root.mkdir(parents=True)
    (root / "sms.txt").write_text(
        "{{ occasion.last_ordered_at | relative(occasion.date) }}"
        " / {{ occasion.next | relative(occasion.date) }}"
        " / {{ occasion.wait | format_timedelta }}",
        encoding="utf-8",
    )
    renderer = Renderer(tmp_path / "templates", folder)
    context = {
        "occasion": {
            "date": BIRTHDAY,
            "last_ordered_at": BIRTHDAY - timedelta(days=3),
            "next": datetime.combine(BIRTHDAY + timedelta(days=14), time(9), tzinfo=UTC),
            "wait": timedelta(hours=5),
        }
    }
    assert renderer.render("promo", "sms", folder, context).text == f"{ago} / {ahead} / {span}"


@pytest.mark.parametrize(
    ("folder", "words"),
    [
        ("en", "2 days ago / yesterday / today / tomorrow / in 2 days"),
        ("fa", "پریروز / دیروز / امروز / فردا / پس\u200cفردا"),
        ("zh", "前天 / 昨天 / 今天 / 明天 / 后天"),
    ],
)
def test_the_days_next_to_the_date_have_their_own_words(
    tmp_path: Path, folder: str, words: str
) -> None:
    """An order placed on the occasion's day read "in 0 days" ("۰ روز دیگر"): a
    duration, where a reader says "today" ("امروز", "今天")."""
    root = tmp_path / "templates" / "promo" / folder
    root.mkdir(parents=True)
    (root / "sms.txt").write_text(
        " / ".join(f"{{{{ occasion.days[{i}] | relative(occasion.date) }}}}" for i in range(5)),
        encoding="utf-8",
    )
    renderer = Renderer(tmp_path / "templates", folder)
    days = [BIRTHDAY + timedelta(days=n) for n in range(-2, 3)]
    context = {"occasion": {"date": BIRTHDAY, "days": days}}
    assert renderer.render("promo", "sms", folder, context).text == words


def test_relative_needs_a_date_to_compare_with(tmp_path: Path) -> None:
    root = tmp_path / "templates" / "promo" / "en"
    root.mkdir(parents=True)
    (root / "sms.txt").write_text("Ordered\n{{ occasion.date | relative }}", encoding="utf-8")
    renderer = Renderer(tmp_path / "templates", "en")
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {"occasion": {"date": BIRTHDAY}})
    assert caught.value.problem.line == 2
    assert "relative needs a date to compare with" in caught.value.problem.message


# --------------------------------------------------------------------------- holidays


def test_holiday_names_are_in_the_customers_language() -> None:
    nowruz = holiday_name("IR", date(2027, 3, 21), "fa_IR", "Nowruz")
    assert nowruz is not None and "نوروز" in nowruz
    assert holiday_name("CN", date(2026, 2, 17), "zh_CN", "Chinese New Year (Spring Festival)") == (
        "春节"
    )
    assert holiday_name("CN", date(2026, 2, 17), "zh_TW") == "春節"  # Traditional script
    assert holiday_name("EG", date(2026, 3, 20), "ar_EG", "Eid al-Fitr") == "عيد الفطر المبارك"
    assert holiday_name("US", date(2026, 11, 26), "en_US", "Thanksgiving Day") == (
        "Thanksgiving Day"
    )


def test_nowruz_keeps_its_name_when_another_holiday_shares_the_day() -> None:
    # holidays sorts each language's names on its own: Nowruz and Eid al-Fitr swap
    # places between English and Persian on 2026-03-21, so names are not matched by position
    assert holiday_name("IR", BIRTHDAY, "fa_IR", "Nowruz") == "جشن نوروز"
    assert holiday_name("IR", BIRTHDAY, "fa_IR", "Eid al-Fitr") == "عید سعید فطر"


# --------------------------------------------------------------------------- SMS segments


def test_each_planned_sms_stores_its_segment_count(engine: Engine, settings: Settings) -> None:
    customers = CUSTOMER
    with engine.begin() as connection:
        for customer_id, locale, first_name, phone in (
            ("FA1", "fa_IR", "سارا", "+989121234567"),
            ("EN1", "en_US", "Alex", "+12025550123"),
        ):
            connection.execute(
                insert(customers).values(
                    id=customer_id,
                    first_name=first_name,
                    last_name="",
                    email=f"{customer_id.lower()}@example.com",
                    phone=phone,
                    locale=locale,
                    timezone="Asia/Tehran",
                    country="IR",
                    birthday=date(1990, 3, 21),
                    created_at=datetime(2024, 1, 1, tzinfo=UTC),
                )
            )
        moment = datetime(2025, 6, 1, tzinfo=UTC)
        record_consent(
            connection,
            [
                ConsentChange("FA1", "sms", "birthday", "granted", "signup_form", moment),
                ConsentChange("EN1", "email", "birthday", "granted", "signup_form", moment),
            ],
            recorded_at=moment,
        )
    loaded, _ = load_campaigns(settings)
    birthday = [c for c in loaded if c.id == "birthday"]
    report = run_plan(
        engine,
        settings,
        birthday,
        BIRTHDAY,
        datetime.combine(BIRTHDAY, time(0), tzinfo=UTC) - timedelta(hours=4),
        renderer=Renderer.from_settings(settings),
        signer=Signer("l10n-test-secret"),
    )
    assert report.inserted == 2, report
    outbox = OUTBOX
    with engine.connect() as connection:
        rows = {
            row.customer_id: row
            for row in connection.execute(
                select(
                    outbox.c.customer_id, outbox.c.channel, outbox.c.body_text, outbox.c.segments
                )
            )
        }
    assert rows["FA1"].channel == "sms"
    assert rows["FA1"].segments == count_sms(rows["FA1"].body_text).segments
    assert rows["FA1"].segments >= 1
    assert rows["EN1"].channel == "email" and rows["EN1"].segments is None
