"""One salutation per locale, one register, and right-to-left texts that start right-to-left.

Issue 17, points 5 and 6. :func:`~rapport.engine.rendering.locales.salutation` is the
greeting every message in a language opens with (campaign e-mails and SMS, the
preference page, the confirmation e-mails); Chinese names are written in full, family
name first, as the seeds' names are ('黄光伟'); Persian is formal ('... گرامی').

Every shipped campaign is rendered with the sample customers, and with a Persian
customer whose name is in Latin letters: each Persian subject (as the MIME writer sends
it, bidi controls removed), plain-text body and SMS must start with a right-to-left
character (U+200F included: its bidi class is R), or a phone or mail client lays the
whole text out left to right. Chinese SMS start with the 【signature】.
"""

from __future__ import annotations

import contextlib
import re
import unicodedata
from typing import Any

import pytest

from rapport.channels.mime import strip_bidi_controls
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.config import Settings
from rapport.engine.core.sender import sms_signature
from rapport.engine.rendering.errors import TemplateMissing
from rapport.engine.rendering.locales import RLM, full_name, salutation, starts_rtl
from rapport.engine.rendering.renderer import Renderer

#: Words of the familiar register: the second person singular ('تولدت', 'برات'), the
#: spoken forms ('دلمون', 'می‌خوای') and intimate address ('عزیزم', '... جان').
INFORMAL_PERSIAN = re.compile(
    r"(?<![\w\u200c])("
    r"تولدت|برات|بهت|ازت|داری|هستی|میخوای|می‌خوای|دلمون|دلم|خریدت|سفارشت|کدت|عزیزم|جان"
    r"|عزیز"
    r")(?![\w\u200c])"
)


def first_strong(text: str) -> str | None:
    """The bidi class (L, R or AL) of the first strong character of ``text``."""
    for char in text:
        kind = unicodedata.bidirectional(char)
        if kind in ("L", "R", "AL"):
            return kind
    return None


# --------------------------------------------------------------------------- the function


@pytest.mark.parametrize(
    ("first", "last", "locale", "expected"),
    [
        ("Alex", "Morgan", "en", "Hi Alex"),
        ("Alex", "", "en_GB", "Hi Alex"),
        ("", "", "en", "Hello"),
        ("سارا", "احمدی", "fa_IR", "سارا احمدی گرامی"),
        ("سارا", "", "fa", "سارا گرامی"),
        ("", "", "fa", "مشتری گرامی"),
        ("ليلى", "حسن", "ar", "مرحبًا ليلى"),
        ("", "", "ar_EG", "مرحبًا"),
        # The seeds' way of writing a Chinese name: family name first, no space.
        ("光伟", "黄", "zh", "黄光伟，您好"),
        ("芳", "王", "zh_Hans_CN", "王芳，您好"),
        ("修", "欧阳", "zh", "欧阳修，您好"),  # a two-character family name
        ("芳", "王", "zh_Hant_TW", "王芳，您好"),
        ("", "", "zh", "您好"),
        # The data says otherwise: a Latin-script name keeps its owner's order.
        ("Fang", "Wang", "zh", "Fang Wang，您好"),
        ("Hans", "Müller", "de", "Hi Hans"),
    ],
)
def test_each_locale_greets_its_own_way(first: str, last: str, locale: str, expected: str) -> None:
    assert salutation(first, last, locale) == expected


def test_a_chinese_greeting_never_uses_the_given_name_alone() -> None:
    for first, last in (("芳", "王"), ("光伟", "黄"), ("伟", "王")):
        greeting = salutation(first, last, "zh")
        assert greeting.startswith(last + first)
        assert full_name(first, last, "zh") in greeting


@pytest.mark.parametrize(
    ("first", "last", "locale", "expected"),
    [
        # Han characters outside the BMP (CJK Extensions B-H, added for people's and
        # places' names; GB 18030-2022 requires them) are Chinese as much as 伟 is.
        ("\U0002a6a5", "王", "zh_CN", "王\U0002a6a5"),  # Extension B
        ("\U0002b81d", "李", "zh", "李\U0002b81d"),  # Extension D
        ("\U0002ceb0", "张", "zh_Hant_TW", "张\U0002ceb0"),  # Extension F
        ("小\U00020bb7", "陈", "zh", "陈小\U00020bb7"),  # 𠮷, Extension B, with a BMP one
        # U+3007 〇, the Han character for zero, used in given names.
        ("〇", "李", "zh", "李〇"),
    ],
)
def test_a_chinese_name_with_a_rare_han_character_puts_the_family_name_first(
    first: str, last: str, locale: str, expected: str
) -> None:
    assert all(unicodedata.name(c).startswith("CJK") or c == "〇" for c in first + last)
    assert full_name(first, last, locale) == expected
    assert salutation(first, last, locale) == expected + "，您好"


@pytest.mark.parametrize("locale", ["fa", "fa_IR", "ar", "ar_SA"])
def test_a_right_to_left_greeting_starts_right_to_left_whatever_the_name(locale: str) -> None:
    for first, last in (("Sara", "Ahmadi"), ("سارا", "احمدی"), ("", "")):
        assert first_strong(salutation(first, last, locale)) in ("R", "AL")
        assert starts_rtl(salutation(first, last, locale))


def test_a_latin_name_first_in_a_persian_greeting_is_marked() -> None:
    greeting = salutation("Sara", "Ahmadi", "fa")
    assert greeting == RLM + "Sara Ahmadi گرامی"
    assert first_strong(greeting) == "R"  # U+200F is a strong right-to-left character
    assert not salutation("سارا", "احمدی", "fa").startswith(RLM)  # no mark needed
    assert not salutation("Sara", "Ahmadi", "ar").startswith(RLM)  # 'مرحبًا' comes first


def test_persian_greetings_are_formal() -> None:
    for first, last in (("سارا", "احمدی"), ("علی", ""), ("", "")):
        assert not INFORMAL_PERSIAN.search(salutation(first, last, "fa"))
    assert INFORMAL_PERSIAN.search("سارا عزیز، تولدت مبارک!")  # what the SMS said before
    assert not INFORMAL_PERSIAN.search("تولدتان مبارک، سارا احمدی گرامی! دلمان برایتان تنگ شده")


# --------------------------------------------------------------------------- shipped messages


def latin_named(context: dict[str, Any], locale: str) -> dict[str, Any]:
    """The sample context for a customer of ``locale`` named in Latin letters."""
    customer = {
        **context["customer"],
        "first_name": "Sara",
        "last_name": "Ahmadi",
        "full_name": full_name("Sara", "Ahmadi", locale),
        "salutation": salutation("Sara", "Ahmadi", locale),
    }
    return {**context, "customer": customer}


def parts(
    renderer: Renderer, campaign: Campaign, locale: str, context: dict[str, Any]
) -> dict[str, str]:
    """What the customer reads first of each part: subject as sent, text body, SMS."""
    mail = renderer.render(campaign.template_set, "email", locale, context)
    out = {"subject": strip_bidi_controls(mail.subject or ""), "email.txt": mail.text}
    with contextlib.suppress(TemplateMissing):
        out["sms"] = renderer.render(campaign.template_set, "sms", locale, context).text
    return out


def test_every_shipped_persian_part_starts_with_a_right_to_left_character(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    wrong = []
    for campaign in campaigns.values():
        sample = sample_context("fa_IR", campaign, settings=settings)
        # A Persian customer abroad: a holiday name the calendar has only in English.
        abroad = {**sample, "occasion": {**sample["occasion"], "name": "Thanksgiving Day"}}
        variants = [("sample", sample), ("latin", latin_named(sample, "fa_IR"))]
        if campaign.trigger.type == "holiday":
            variants += [
                (f"abroad, {tone}", {**abroad, "occasion": {**abroad["occasion"], "tone": tone}})
                for tone in ("celebration", "observance", "mourning")
            ]
        for who, context in variants:
            for part, text in parts(renderer, campaign, "fa_IR", context).items():
                if first_strong(text) not in ("R", "AL"):
                    wrong.append(f"{campaign.id} {part} ({who}): {text[:40]!r}")
    assert wrong == []


def test_every_shipped_persian_part_is_in_the_formal_register(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    informal = []
    for campaign in campaigns.values():
        context = sample_context("fa_IR", campaign, settings=settings)
        for part, text in parts(renderer, campaign, "fa_IR", context).items():
            informal += [f"{campaign.id} {part}: {m}" for m in INFORMAL_PERSIAN.findall(text)]
    assert informal == []


@pytest.mark.parametrize(
    ("locale", "opening"),
    [("en", "Hi Alex,"), ("fa_IR", "سارا احمدی گرامی، سلام"), ("zh_Hans_CN", "王伟，您好！")],
)
def test_every_shipped_e_mail_opens_with_the_salutation(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    locale: str,
    opening: str,
) -> None:
    for campaign in campaigns.values():
        context = sample_context(locale, campaign, settings=settings)
        mail = renderer.render(campaign.template_set, "email", locale, context)
        assert mail.text.lstrip().startswith(opening), campaign.id
        html = mail.html or ""
        if locale.startswith("fa"):
            assert f"<bdi>{context['customer']['salutation']}</bdi>" in html, campaign.id
        if locale.startswith("zh"):  # the full name wherever the customer is named
            assert html.count("王伟") == html.count("伟") > 0, campaign.id


def test_chinese_texts_start_with_the_signature(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    configured = settings.model_copy(
        update={
            "sender": settings.sender.model_copy(
                update={"brand": "乐享", "sms_signature": {"zh_Hant": "〖{brand}〗"}}
            )
        }
    )
    texted = 0
    for campaign in campaigns.values():
        for options, signature in ((settings, "【Rapport】"), (configured, "【乐享】")):
            context = sample_context("zh_Hans_CN", campaign, settings=options)
            assert context["sender"]["sms_signature"] == signature
            try:
                sms = renderer.render(campaign.template_set, "sms", "zh_Hans_CN", context)
            except TemplateMissing:
                continue
            texted += 1
            assert sms.text.startswith(signature + "王伟，"), campaign.id
            assert sms.text.count(signature) == 1 and "Rapport。" not in sms.text
    assert texted >= 10  # five campaigns with SMS, two configurations
    assert sms_signature(configured.sender, "zh_Hant_TW") == "〖乐享〗"


def test_persian_texts_carry_the_signature_after_the_text(
    renderer: Renderer, campaigns: dict[str, Campaign], settings: Settings
) -> None:
    named = settings.model_copy(
        update={"sender": settings.sender.model_copy(update={"sms_signature": {"fa": "رپورت"}})}
    )
    for options, signature in ((settings, "Rapport"), (named, "رپورت")):
        for campaign in campaigns.values():
            context = sample_context("fa_IR", campaign, settings=options)
            try:
                sms = renderer.render(campaign.template_set, "sms", "fa_IR", context)
            except TemplateMissing:
                continue
            assert sms.text.endswith(f" {signature}. لغو: STOP"), campaign.id
            assert starts_rtl(sms.text)
