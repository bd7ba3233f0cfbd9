"""The shipped templates read naturally for a customer without a first or last name.

A customer record may lack either name (or both): every shipped campaign, in every
shipped locale, on every channel it sends, must then drop the name and its comma
("Happy birthday!", "生日快乐！") rather than leave "Happy birthday, !" or a line that
starts with "，", and greet with ``customer.salutation``'s fallback ("Hello",
"مشتری گرامی", "您好"). The renders are checked with the same rules
``rapport campaigns validate`` warns with (:mod:`rapport.engine.campaigns.dangling`).
"""

from __future__ import annotations

from typing import Any

import pytest
from factories import REPO

from rapport.engine.campaigns.dangling import dangling_lines
from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.campaigns.samples import Traits, sample_context
from rapport.engine.campaigns.validate import template_kinds
from rapport.engine.core.config import Settings
from rapport.engine.rendering.locales import full_name, salutation
from rapport.engine.rendering.renderer import Renderer

LOCALES = ["en", "fa", "zh", "zh_Hant"]
#: (first name kept, last name kept): neither, the first only, the last only.
NAME_SHAPES = {"no name": (False, False), "first only": (True, False), "last only": (False, True)}

_SETTINGS = Settings(base_dir=REPO)
CHANNELS = [
    (campaign.id, kind)
    for campaign in load_campaigns(_SETTINGS)[0]
    for kind in template_kinds(campaign, _SETTINGS)
]


def with_names(context: dict[str, Any], first: bool, last: bool) -> dict[str, Any]:
    """The typical sample's context with one or both names emptied, as import leaves them."""
    customer = dict(context["customer"])
    given = customer["first_name"] if first else ""
    family = customer["last_name"] if last else ""
    locale = customer["locale"]
    customer.update(
        first_name=given,
        last_name=family,
        full_name=full_name(given, family, locale),
        salutation=salutation(given, family, locale),
    )
    return {**context, "customer": customer}


def rendered(renderer: Renderer, template_set: str, kind: str, locale: str, ctx: Any) -> dict:
    message = renderer.render(template_set, kind, locale, ctx)
    if kind == "sms":
        return {"sms": message.text}
    return {"subject": message.subject, "text": message.text, "html": message.html or ""}


@pytest.mark.parametrize("shape", list(NAME_SHAPES))
@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize(("campaign_id", "kind"), CHANNELS)
def test_a_customer_without_a_name_gets_no_dangling_separator(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    campaign_id: str,
    kind: str,
    locale: str,
    shape: str,
) -> None:
    campaign = campaigns[campaign_id]
    typical = sample_context(locale, campaign, settings=settings)
    nameless = with_names(typical, *NAME_SHAPES[shape])
    for template_set in campaign.template_sets():
        named = rendered(renderer, template_set, kind, locale, typical)
        unnamed = rendered(renderer, template_set, kind, locale, nameless)
        for part, output in unnamed.items():
            found = dangling_lines(
                output,
                markup=part == "html",
                whole=part in ("subject", "sms"),
                typical=named[part],
            )
            assert found == [], (template_set, part, [line.text for line in found])


@pytest.mark.parametrize(
    ("campaign_id", "locale", "subject", "sms"),
    [
        (
            "birthday",
            "en",
            "Happy birthday! A little gift from us inside",
            "Happy birthday! Enjoy 15% off",
        ),
        ("birthday", "zh", "生日快乐！一份生日礼物正等着您", "【Rapport】生日快乐！"),
        ("birthday", "zh_Hant", "生日快樂！一份生日禮物正等著您", "【Rapport】生日快樂！"),
        ("birthday", "fa", "تولدتان مبارک، مشتری گرامی! هدیه‌ای برایتان کنار گذاشته‌ایم", None),
        ("reorder", "en", "Running low on SERUM-30ML?", "Running low on SERUM-30ML?"),
        ("reorder", "zh", "您的SERUM-30ML快用完了吗？", "【Rapport】您的SERUM-30ML快用完了吗？"),
        ("winback", "en", "We miss you: 20% off to welcome you back", "We miss you! 20% off"),
    ],
)
def test_the_name_and_its_comma_are_dropped_together(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    campaign_id: str,
    locale: str,
    subject: str,
    sms: str | None,
) -> None:
    campaign = campaigns[campaign_id]
    ctx = sample_context(locale, campaign, settings=settings, traits=Traits(named=False))
    mail = renderer.render(campaign.template_set, "email", locale, ctx)
    assert mail.subject == subject
    if sms is not None:
        assert renderer.render(campaign.template_set, "sms", locale, ctx).text.startswith(sms)


@pytest.mark.parametrize(
    ("locale", "greeting", "heading"),
    [
        ("en", "Hello,", ">Hello,</h1>"),
        ("fa", "مشتری گرامی، سلام", "<bdi>مشتری گرامی</bdi>، سلام</h1>"),
        ("zh", "您好！", ">您好！</h1>"),
    ],
)
def test_the_letter_opens_with_the_salutations_fallback(
    renderer: Renderer,
    campaigns: dict[str, Campaign],
    settings: Settings,
    locale: str,
    greeting: str,
    heading: str,
) -> None:
    campaign = campaigns["newsletter"]
    ctx = sample_context(locale, campaign, settings=settings, traits=Traits(named=False))
    mail = renderer.render(campaign.template_set, "email", locale, ctx)
    assert mail.text.lstrip().startswith(greeting)
    assert heading in (mail.html or "")


def _documented_examples() -> list[tuple[str, str, str, str]]:
    """The rows of docs/localization.md's "a name inside a sentence" table."""
    page = (REPO / "docs" / "localization.md").read_text(encoding="utf-8")
    section = page.split("### A name inside a sentence", 1)[1].split("\n#", 1)[0]
    rows = []
    for line in section.splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 4 and cells[1].startswith("`"):
            rows.append((cells[0], cells[1].strip("`"), cells[2], cells[3]))
    return rows


LANGUAGE_LOCALES = {"English": "en", "Chinese": "zh", "Persian": "fa"}


def test_the_documented_table_is_read() -> None:
    languages = {row[0].split(",")[0] for row in _documented_examples()}
    assert languages == set(LANGUAGE_LOCALES)


@pytest.mark.parametrize(("language", "template", "named", "unnamed"), _documented_examples())
def test_the_documented_examples_read_as_documented(
    make: Any,
    campaigns: dict[str, Campaign],
    language: str,
    template: str,
    named: str,
    unnamed: str,
) -> None:
    locale = LANGUAGE_LOCALES[language.split(",")[0]]
    renderer = make({f"doc/{locale}/sms.txt": template})
    campaign = campaigns["birthday"]
    for traits, expected in ((Traits(), named), (Traits(named=False), unnamed)):
        ctx = sample_context(locale, campaign, traits=traits)
        assert renderer.render("doc", "sms", locale, ctx).text == expected
