"""The context as the shipped templates see it: they show the coupon code and the
recommendation, and a context pruned to what a template reads renders the same.

The context is built from plain data handed to :func:`message_context`, by the
builders in ``factories.py``: customer C-42 (``CUSTOMER``) with five order lines, her
2026 birthday, a decision to e-mail her, campaign "test" with the given offer.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from factories import CONTEXT_BIRTHDAY as BIRTHDAY
from factories import CONTEXT_SETTINGS as SETTINGS
from factories import LINK_SIGNER as SIGNER
from factories import REPO
from factories import build_context as build
from factories import context_decision as decision

from rapport.engine.campaigns.model import Offer, load_campaigns
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.customers.recommend import build_co_purchase
from rapport.engine.rendering.errors import TemplateMissing
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.triggers import Occasion

# --------------------------------------------------------------------------- templates


def test_shipped_templates_show_the_code_and_recommendation() -> None:
    loaded, problems = load_campaigns(SETTINGS)
    assert problems == []
    campaigns = {c.id: c for c in loaded}
    coupon = Offer(discount_percent=Decimal(15), coupon=True, code_prefix="BDAY")
    birthday = campaigns["birthday"].model_copy(update={"offer": coupon})
    renderer = Renderer.from_settings(SETTINGS)
    for locale in ("en", "fa", "zh"):
        ctx = sample_context(locale, birthday, settings=SETTINGS)
        code = ctx["offer"]["code"]
        mail = renderer.render("birthday", "email", locale, ctx)
        sms = renderer.render("birthday", "sms", locale, ctx)
        assert code in mail.text and code in (mail.html or "") and code in sms.text
    fa = sample_context("fa", birthday, settings=SETTINGS)
    mail = renderer.render("birthday", "email", "fa", fa)
    code = fa["offer"]["code"]
    assert f"\u2068{code}\u2069" in mail.text  # isolated inside the Persian line
    assert re.search(rf'<bdi dir="ltr"[^>]*>{code}</bdi>', mail.html or "")

    reorder = sample_context("fa", campaigns["reorder"], settings=SETTINGS)
    mail = renderer.render("reorder", "email", "fa", reorder)
    assert f"\u2068{reorder['recommendation']}\u2069" in mail.text
    assert f"<bdi>{reorder['recommendation']}</bdi>" in (mail.html or "")
    en = sample_context("en", campaigns["reorder"], settings=SETTINGS)
    assert en["recommendation"] in renderer.render("reorder", "email", "en", en).text
    no_recommendation = {**en, "recommendation": None}
    text = renderer.render("reorder", "email", "en", no_recommendation).text
    assert "tastes like yours" not in text


# ------------------------------------------------------- what templates read (pruning)


#: Occasions the shipped templates of these sets expect (the birthday one elsewhere).
TEMPLATE_OCCASIONS = {
    "reorder": Occasion(
        "reorder",
        "reorder:SERUM-30ML:2026-01-09",
        date(2026, 3, 1),
        sku="SERUM-30ML",
        last_ordered_at=date(2026, 1, 9),
    ),
}


def _renderer_with(tmp_path: Path, files: dict[str, str]) -> Renderer:
    for name, text in files.items():
        path = tmp_path / "t" / "en" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Renderer(tmp_path, "en")


def test_a_template_reads_only_the_links_it_names(tmp_path: Path) -> None:
    renderer = _renderer_with(
        tmp_path,
        {
            "email_subject.txt": "Hi",
            "email.txt": "{{ links.unsubscribe }} {{ links['preferences'] }}",
        },
    )
    assert renderer.reads("t", "email", "en", "links.unsubscribe")
    assert renderer.reads("t", "email", "en", "links.preferences")
    assert not renderer.reads("t", "email", "en", "links.feedback")
    assert not renderer.reads("t", "email", "en", "recommendation")


@pytest.mark.parametrize(
    "body",
    [
        "{{ links }}",
        "{% for name in links %}{{ name }}{% endfor %}",
        "{{ links[customer.first_name] }}",
        "{% include 'other.txt' %}",
    ],
)
def test_any_other_use_of_links_counts_as_reading_every_link(tmp_path: Path, body: str) -> None:
    renderer = _renderer_with(
        tmp_path, {"email_subject.txt": "Hi", "email.txt": body, "other.txt": ""}
    )
    assert renderer.reads("t", "email", "en", "links.feedback")


def test_a_template_set_without_the_channel_counts_as_reading(tmp_path: Path) -> None:
    renderer = _renderer_with(tmp_path, {"email_subject.txt": "Hi", "email.txt": "x"})
    assert renderer.reads("t", "sms", "en", "links.feedback")


def test_contexts_pruned_to_what_templates_read_render_the_same_messages(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Every shipped template set, channel and locale: leaving out the links and the
    recommendation a template never reads changes nothing in what it renders."""
    monkeypatch.setattr(SIGNER._clock, "get_timestamp", lambda: 1_790_000_000)
    renderer = Renderer(REPO / "templates", "en")
    co_purchase = build_co_purchase(
        [("a", "SERUM-30ML"), ("a", "TEA-SAMPLER"), ("b", "SERUM-30ML"), ("b", "TEA-SAMPLER")]
    )
    checked = 0
    # order-shipped is a transactional message's (docs/api.md), rendered with data.
    for folder in sorted((REPO / "templates").iterdir()):
        if folder.name == "order-shipped":
            continue
        for kind in ("email", "sms"):
            for locale in ("en_US", "fa_IR", "zh_CN"):
                try:
                    renderer.locale_for(folder.name, kind, locale)
                except TemplateMissing:
                    continue
                occasion = TEMPLATE_OCCASIONS.get(folder.name, BIRTHDAY)
                made = decision(channel=kind, occasion=occasion)
                full = build(made=made, co_purchase=co_purchase)
                links = [
                    name
                    for name in ("preferences", "unsubscribe", "feedback")
                    if renderer.reads(folder.name, kind, locale, f"links.{name}")
                ]
                recommends = renderer.reads(folder.name, kind, locale, "recommendation")
                pruned = build(
                    made=made, co_purchase=co_purchase if recommends else None, links=links
                )
                assert renderer.render(folder.name, kind, locale, pruned) == renderer.render(
                    folder.name, kind, locale, full
                ), (folder.name, kind, locale)
                checked += 1
    assert checked >= 40
