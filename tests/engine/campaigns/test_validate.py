"""``validate_campaigns``: every problem in campaign files and templates, as FILE:LINE.

The shipped repository must validate clean; a scratch workspace in ``tmp_path``
holds one mistake per file so each test can name the file and line it expects.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import REPO

from rapport.engine.campaigns.validate import validate_campaigns
from rapport.engine.core.config import LocaleConfig, Settings
from rapport.engine.core.errors import Problem

CAMPAIGN = """\
name: {name}
trigger:
  type: birthday
topic: birthday
channels: [email]
offer:
  discount_percent: 10
"""

GOOD_EMAIL = {
    "email_subject.txt": "Happy birthday, {{ customer.first_name }}!\n",
    "email.txt": (
        "Hi {{ customer.first_name }},\n"
        "{{ (offer.discount_percent / 100) | format_percent }} off for you.\n"
        "Preferences: {{ links.preferences }}\n"
    ),
}


class Workspace:
    """A config folder with campaigns/ and templates/, as an operator would have."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "campaigns").mkdir()
        (root / "templates").mkdir()
        self.settings = Settings(base_dir=root)

    def campaign(self, campaign_id: str, text: str | None = None) -> None:
        body = text if text is not None else CAMPAIGN.format(name=campaign_id)
        (self.root / "campaigns" / f"{campaign_id}.yaml").write_text(body, encoding="utf-8")

    def templates(self, template_set: str, locale: str, files: dict[str, str]) -> None:
        folder = self.root / "templates" / template_set / locale
        folder.mkdir(parents=True, exist_ok=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")

    def good(self, campaign_id: str) -> None:
        self.campaign(campaign_id)
        self.templates(campaign_id, "en", GOOD_EMAIL)


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.chdir(tmp_path)  # problems name files relative to the working folder
    return Workspace(tmp_path)


def located(problems: list[Problem]) -> list[tuple[str, int | None]]:
    return [(p.file, p.line) for p in problems]


def test_the_shipped_campaigns_and_templates_validate_clean() -> None:
    assert validate_campaigns(Settings(base_dir=REPO)) == []


def test_every_kind_of_problem_is_reported_with_file_and_line(workspace: Workspace) -> None:
    workspace.good("fine")
    workspace.campaign("unknown-key", CAMPAIGN.format(name="x") + "colour: red\n")
    workspace.campaign("wrong-type", CAMPAIGN.format(name="x") + "priority: high\n")
    workspace.campaign("syntax")
    workspace.templates(
        "syntax", "en", {**GOOD_EMAIL, "email.txt": "Hi,\n\n{{ customer.first_name }\nBye\n"}
    )
    workspace.campaign("undefined")
    workspace.templates(
        "undefined",
        "en",
        {**GOOD_EMAIL, "email_subject.txt": "Hi\n{{ customer.nickname }}\n"},
    )

    problems = validate_campaigns(workspace.settings)

    assert located(problems) == [
        ("campaigns/unknown-key.yaml", 8),
        ("campaigns/wrong-type.yaml", 8),
        ("templates/syntax/en/email.txt", 3),
        ("templates/undefined/en/email_subject.txt", 2),
    ]
    unknown, wrong, syntax, undefined = problems
    assert unknown.field == "colour" and "unknown key" in unknown.message
    assert wrong.field == "priority"
    assert "unexpected '}'" in syntax.message
    assert "nickname" in undefined.message
    assert str(undefined).startswith("templates/undefined/en/email_subject.txt:2: ")


@pytest.mark.parametrize("folder", ["../outside", "/etc", "..", "promo/../../outside", "a\\b"])
def test_a_template_folder_outside_templates_is_refused_at_its_line(
    workspace: Workspace, folder: str
) -> None:
    # Templates are read only inside templates/ (issue 15, point 8): a path is refused
    # where it is written, and no folder outside is looked into.
    workspace.good("fine")
    workspace.campaign("promo", CAMPAIGN.format(name="promo") + f"templates: {folder!r}\n")
    workspace.campaign(
        "split",
        CAMPAIGN.format(name="split").replace(
            "offer:",
            "variants:\n  - {name: a, templates: fine}\n"
            f"  - {{name: b, templates: {folder!r}}}\noffer:",
        ),
    )

    problems = validate_campaigns(workspace.settings)

    assert located(problems) == [("campaigns/promo.yaml", 8), ("campaigns/split.yaml", 8)]
    assert [p.field for p in problems] == ["templates", "variants.1.templates"]
    assert all("a folder directly inside templates/" in p.message for p in problems)


def test_a_problem_reached_through_fallback_is_reported_once(workspace: Workspace) -> None:
    # en, fa and zh customers all fall back to the one broken en template.
    workspace.campaign("promo")
    workspace.templates("promo", "en", {**GOOD_EMAIL, "email.txt": "{{ customer.nope }}"})
    problems = validate_campaigns(workspace.settings)
    assert located(problems) == [("templates/promo/en/email.txt", 1)]


def test_every_part_is_checked_not_just_the_first_broken_one(workspace: Workspace) -> None:
    workspace.campaign("promo")
    workspace.templates(
        "promo",
        "en",
        {"email_subject.txt": "{{ nope }}", "email.txt": "\n{{ nada }}", "email.html": "{% if %}"},
    )
    problems = validate_campaigns(workspace.settings)
    assert located(problems) == [
        ("templates/promo/en/email.html", 1),
        ("templates/promo/en/email.txt", 2),
        ("templates/promo/en/email_subject.txt", 1),
    ]


def test_each_locale_is_rendered_with_its_own_sample_customer(workspace: Workspace) -> None:
    workspace.good("promo")
    # Only the Persian folder is broken, and only a Persian customer reaches it.
    workspace.templates(
        "promo", "fa", {**GOOD_EMAIL, "email.txt": "{{ links.preferences }}\n{{ 1 / 0 }}"}
    )
    problems = validate_campaigns(workspace.settings)
    assert located(problems) == [("templates/promo/fa/email.txt", 2)]
    assert "ZeroDivisionError" in problems[0].message


def test_templates_missing_for_the_default_locale(workspace: Workspace) -> None:
    workspace.campaign("persian-only")
    workspace.templates("persian-only", "fa", GOOD_EMAIL)
    workspace.campaign("nothing")

    problems = validate_campaigns(workspace.settings)

    # A campaign with no folder at all is told so at its own file: test_template_folder_named.py.
    assert located(problems) == [
        ("campaigns/nothing.yaml", 1),
        ("templates/persian-only/en/email_subject.txt", None),
    ]
    assert "'en' lacks email_subject.txt, email.txt" in problems[1].message


def test_a_locale_folder_missing_a_required_part(workspace: Workspace) -> None:
    workspace.good("promo")
    workspace.templates("promo", "zh", {"email.txt": GOOD_EMAIL["email.txt"]})
    problems = validate_campaigns(workspace.settings)
    assert located(problems) == [("templates/promo/zh/email_subject.txt", None)]
    assert "never used" in problems[0].message


def test_consent_promises_are_checked(workspace: Workspace) -> None:
    workspace.campaign("promo", CAMPAIGN.format(name="p").replace("[email]", "[email, sms]"))
    workspace.templates(
        "promo",
        "en",
        {
            **GOOD_EMAIL,
            "email.html": "<p>No way out here</p>",
            "sms.txt": "Happy birthday {{ customer.first_name }}!",
        },
    )
    problems = validate_campaigns(workspace.settings)
    assert located(problems) == [
        ("templates/promo/en/email.html", None),
        ("templates/promo/en/sms.txt", None),
    ]
    assert "links.preferences" in problems[0].message
    assert "STOP" in problems[1].message


def test_locales_come_from_the_configuration(workspace: Workspace) -> None:
    workspace.good("promo")
    workspace.templates("promo", "de", {**GOOD_EMAIL, "email.txt": "{{ kaputt }}"})
    settings = workspace.settings.model_copy(
        update={"locales": LocaleConfig(default="en", supported=["en"])}
    )
    # Not configured, but present: a German customer would still get it, so it is checked.
    assert located(validate_campaigns(settings)) == [("templates/promo/de/email.txt", 1)]


def test_problems_are_sorted_by_file_then_line(workspace: Workspace) -> None:
    workspace.campaign("b-campaign", CAMPAIGN.format(name="x") + "colour: red\nsize: 3\n")
    workspace.campaign("a-campaign", "name: [unclosed\n")
    problems = validate_campaigns(workspace.settings)
    assert [p.file for p in problems] == sorted(p.file for p in problems)
    lines = [p.line for p in problems if p.file.endswith("b-campaign.yaml")]
    assert lines == sorted(lines) and len(lines) == 2


@pytest.mark.parametrize("truth", ["yes", "on", "true", "false"])
def test_a_truth_value_for_a_number_is_refused_at_its_line(
    workspace: Workspace, truth: str
) -> None:
    workspace.campaign("truthy", CAMPAIGN.format(name="x") + f"priority: {truth}\n")
    workspace.templates("truthy", "en", GOOD_EMAIL)

    problems = validate_campaigns(workspace.settings)

    assert [(p.file, p.line, p.field) for p in problems] == [
        ("campaigns/truthy.yaml", 8, "priority")
    ]
    assert problems[0].message == "expected a number, not true or false"


@pytest.mark.parametrize("rule", ["stages", "tiers", "countries", "locales"])
def test_an_empty_audience_list_is_refused_at_its_line(workspace: Workspace, rule: str) -> None:
    """``stages: []`` admits nobody: a campaign that validated and never sent (and made
    ``campaigns validate`` crash with an IndexError building its sample customer)."""
    workspace.campaign("nobody", CAMPAIGN.format(name="x") + f"audience:\n  {rule}: []\n")
    workspace.templates("nobody", "en", GOOD_EMAIL)

    problems = validate_campaigns(workspace.settings)

    assert [(p.file, p.line, p.field) for p in problems] == [
        ("campaigns/nobody.yaml", 9, f"audience.{rule}")
    ]
    assert "at least 1 item" in problems[0].message


def test_a_misspelt_offer_key_no_template_reads_is_refused_at_its_line(
    workspace: Workspace,
) -> None:
    """``offer`` passes keys Rapport does not know on to the templates, so a typo
    (``discount_precent``) loaded, validated and silently took the discount out of
    every message: the templates test ``offer.discount_percent is defined``."""
    text = CAMPAIGN.format(name="x").replace("discount_percent", "discount_precent")
    workspace.campaign("typo", text)
    workspace.templates("typo", "en", GOOD_EMAIL)

    problems = validate_campaigns(workspace.settings)

    # The template reading offer.discount_percent fails too, its message guessing the
    # misspelt key (9d3c955); the campaign's own line is the problem asserted here.
    in_campaign = [p for p in problems if "precent" in p.message and p.file.endswith(".yaml")]
    assert [(p.file, p.line, p.field) for p in in_campaign] == [
        ("campaigns/typo.yaml", 7, "offer.discount_precent")
    ]
    message = in_campaign[0].message
    assert "no template of 'typo' reads offer.discount_precent" in message
    assert "did you mean 'discount_percent'" in message


def test_an_extra_offer_key_a_template_reads_passes(workspace: Workspace) -> None:
    workspace.campaign("gift", CAMPAIGN.format(name="x") + "  gift: Tote bag\n")
    workspace.templates(
        "gift", "en", {**GOOD_EMAIL, "email_subject.txt": "A {{ offer.gift }} for you\n"}
    )

    assert validate_campaigns(workspace.settings) == []


def test_norway_read_as_false_is_refused_saying_to_quote_it(workspace: Workspace) -> None:
    """YAML 1.1 reads an unquoted NO (Norway) as false; the message was pydantic's
    'Input should be a valid string', which does not say why NO is no string."""
    workspace.campaign("norway", CAMPAIGN.format(name="x") + "audience:\n  countries: [NO]\n")
    workspace.templates("norway", "en", GOOD_EMAIL)

    problems = validate_campaigns(workspace.settings)

    assert [(p.file, p.line, p.field) for p in problems] == [
        ("campaigns/norway.yaml", 9, "audience.countries.0")
    ]
    assert problems[0].message == (
        "expected text, not false: YAML reads an unquoted yes, no, on or off as true or "
        'false; write the value in quotes (e.g. "NO" for Norway)'
    )
