"""docs/campaigns.md is a reference marketers can trust, and the shipped campaigns hold.

Every complete campaign in the document (a ```yaml block whose first line names its
file, ``# campaigns/<id>.yaml``) is written to a campaigns folder and validated the
way ``rapport campaigns validate`` does; an example named after a shipped campaign
must be that file word for word. Every key the campaign models accept, every trigger
type, audience rule, condition field and operator, stage, segment and reason code
must be named in the document, so a key added to the code without documentation
fails here.
"""

from __future__ import annotations

import re
import typing
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
import yaml
from babel import Locale
from factories import REPO
from pydantic import BaseModel

from rapport.engine.campaigns.audience import (
    CONDITION_FIELDS,
    OPERATORS,
    Audience,
    Condition,
    ValueRange,
)
from rapport.engine.campaigns.model import (
    Campaign,
    Frequency,
    Offer,
    SendWindow,
    Variant,
    load_campaigns,
)
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.campaigns.validate import validate_campaigns
from rapport.engine.core.config import STAGES, Settings, load_settings
from rapport.engine.customers.lifecycle import SEGMENTS
from rapport.engine.planning.planner import Reason
from rapport.engine.rendering.formats import LocaleFormats
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.triggers.models import Trigger

DOC = REPO / "docs" / "campaigns.md"
FENCE = re.compile(r"^```([^\n`]*)\n(.*?)^```[ \t]*$", re.MULTILINE | re.DOTALL)
HEADER = re.compile(r"^# campaigns/([a-z0-9][a-z0-9_-]{0,99})\.yaml$")
TRIGGER_MODELS: tuple[type[BaseModel], ...] = typing.get_args(typing.get_args(Trigger)[0])
MODELS: tuple[type[BaseModel], ...] = (
    Campaign,
    SendWindow,
    Frequency,
    Variant,
    Offer,
    Audience,
    ValueRange,
    Condition,
    *TRIGGER_MODELS,
)


def doc_text() -> str:
    return DOC.read_text(encoding="utf-8")


def fenced_blocks() -> list[tuple[str, str]]:
    """(info string, body) of every fenced block, in document order."""
    return [(m.group(1).strip(), m.group(2)) for m in FENCE.finditer(doc_text())]


def campaign_examples() -> dict[str, str]:
    """Campaign id -> file text (without the naming line) of every ```yaml block."""
    examples: dict[str, str] = {}
    for info, body in fenced_blocks():
        if info != "yaml":
            continue
        first, _, rest = body.partition("\n")
        match = HEADER.match(first)
        assert match, f"a ```yaml block must start with '# campaigns/<id>.yaml': {first!r}"
        campaign_id = match.group(1)
        assert campaign_id not in examples, f"two examples are named {campaign_id}.yaml"
        examples[campaign_id] = rest
    return examples


def repo_settings(**updates: Any) -> Settings:
    """The repository's own config.yaml, as an operator running it would have it."""
    return load_settings(REPO / "config.yaml", environ={}).model_copy(update=updates)


def documented(name: str) -> bool:
    """Named in the document as code: `name`, `name: ...` or `name(...)`."""
    text = doc_text()
    return any(f"`{name}{end}" in text for end in ("`", ":", "("))


# --------------------------------------------------------------------------- examples


def test_every_yaml_block_is_a_whole_campaign_named_after_its_file() -> None:
    examples = campaign_examples()
    assert len(examples) >= len(TRIGGER_MODELS)
    kinds = {yaml.safe_load(text)["trigger"]["type"] for text in examples.values()}
    assert kinds == {model.model_fields["type"].annotation.__args__[0] for model in TRIGGER_MODELS}


def test_every_example_in_the_docs_validates(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "campaigns"
    folder.mkdir()
    examples = campaign_examples()
    for campaign_id, text in examples.items():
        (folder / f"{campaign_id}.yaml").write_text(text, encoding="utf-8")
    settings = repo_settings(campaigns_dir=folder, templates_dir=REPO / "templates")

    problems = validate_campaigns(settings)

    assert [str(p) for p in problems] == []
    loaded, _ = load_campaigns(settings)
    assert sorted(c.id for c in loaded) == sorted(examples)


def test_examples_named_after_shipped_campaigns_are_those_files() -> None:
    examples = campaign_examples()
    shipped = {path.stem: path for path in (REPO / "campaigns").glob("*.yaml")}
    assert sorted(shipped) == sorted(set(shipped) & set(examples)), "a shipped campaign is missing"
    for campaign_id, path in shipped.items():
        assert examples[campaign_id] == path.read_text(encoding="utf-8"), campaign_id


def test_config_fragments_in_the_docs_are_valid_settings() -> None:
    fragments = [
        body.partition("\n")[2]
        for info, body in fenced_blocks()
        if info == "yaml-fragment" and body.startswith("# config.yaml\n")
    ]
    assert len(fragments) >= 2  # quiet hours and caps
    for fragment in fragments:
        Settings.model_validate(yaml.safe_load(fragment))


# --------------------------------------------------------------------------- every key


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_every_key_of_the_campaign_models_is_documented(model: type[BaseModel]) -> None:
    keys = [field.alias or name for name, field in model.model_fields.items()]
    assert [key for key in keys if not documented(key)] == []


def test_every_trigger_type_and_choice_is_documented() -> None:
    for model in TRIGGER_MODELS:
        for field in model.model_fields.values():
            for choice in typing.get_args(field.annotation):
                if isinstance(choice, str):
                    assert documented(choice), f"{model.__name__}: {choice}"


def test_every_audience_value_reason_code_and_filter_is_documented() -> None:
    filters = LocaleFormats(Locale.parse("en")).filters()
    names = [*CONDITION_FIELDS, *OPERATORS, *STAGES, *SEGMENTS, *(r.value for r in Reason)]
    assert [name for name in [*names, *filters] if not documented(name)] == []


# --------------------------------------------------------------------------- shipped campaigns


def test_every_shipped_campaign_and_template_validates() -> None:
    settings = repo_settings()
    assert [str(p) for p in validate_campaigns(settings)] == []
    loaded, problems = load_campaigns(settings)
    assert problems == []
    assert len(loaded) == len(list((REPO / "campaigns").glob("*.yaml")))


def test_on_one_day_the_birthday_wins_over_offers_and_requests() -> None:
    campaigns = {c.id: c for c in load_campaigns(repo_settings())[0]}
    birthday = campaigns["birthday"].priority
    for campaign in campaigns.values():
        if campaign.id != "birthday":
            assert campaign.priority > birthday, campaign.id


class TagBalance(HTMLParser):
    VOID = frozenset({"meta", "br", "img", "hr", "link", "input"})

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.errors: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag not in self.VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack.pop() != tag:
            self.errors.append(f"unexpected </{tag}>")


HTML_OPENING = {
    "en": '<html lang="en">',
    "fa": '<html dir="rtl" lang="fa">',
    "zh": '<html lang="zh">',
}
SMS_ENDING = {"en": "Reply STOP to opt out", "fa": "لغو: STOP", "zh": "回复STOP退订"}
SMS_LIMIT = {"en": 160, "fa": 100, "zh": 70}


@pytest.mark.parametrize("locale", ["en", "fa", "zh"])
def test_shipped_templates_are_complete_localized_messages(locale: str) -> None:
    settings = repo_settings()
    renderer = Renderer.from_settings(settings)
    for campaign in load_campaigns(settings)[0]:
        context = sample_context(locale, campaign, settings=settings)
        for template_set in campaign.template_sets():
            where = f"{template_set}/{locale}"
            mail = renderer.render(template_set, "email", locale, context)
            assert mail.locale == locale and mail.html is not None, where
            assert mail.html.startswith("<!DOCTYPE html>"), where
            assert HTML_OPENING[locale] in mail.html, where
            for body in (mail.text, mail.html):
                assert context["links"]["unsubscribe"] in body, where
                assert context["sender"]["postal_address"] in body, where
            checker = TagBalance()
            checker.feed(mail.html)
            assert (checker.errors, checker.stack) == ([], []), where
            if "sms" in campaign.channels:
                sms = renderer.render(template_set, "sms", locale, context).text
                assert sms.endswith(SMS_ENDING[locale]), where
                assert len(sms) <= SMS_LIMIT[locale], f"{where}: {len(sms)} characters"
