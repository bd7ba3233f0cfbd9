"""The localization checks of ``rapport campaigns validate``: an SMS over its
campaign's segment limit, a character that alone forces UCS-2, and locales without
templates (a warning, or a failure when configured to be one).

Each test writes a config folder of its own (the ``workspace`` fixture), as an
operator would have it.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport

from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import LocaleConfig, Settings

CAMPAIGN = """\
name: Promo
trigger:
  type: birthday
topic: birthday
channels: [sms]
"""


class Workspace:
    """A config folder with campaigns/ and templates/, as an operator would have."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "campaigns").mkdir()
        (root / "templates").mkdir()
        self.settings = Settings(base_dir=root)

    def campaign(self, campaign_id: str, extra: str = "") -> None:
        path = self.root / "campaigns" / f"{campaign_id}.yaml"
        path.write_text(CAMPAIGN + extra, encoding="utf-8")

    def sms(self, template_set: str, locale: str, text: str) -> None:
        folder = self.root / "templates" / template_set / locale
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "sms.txt").write_text(text, encoding="utf-8")


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Workspace:
    monkeypatch.chdir(tmp_path)  # findings name files relative to the working folder
    return Workspace(tmp_path)


SHORT = (
    "Happy birthday{% if customer.first_name %}, {{ customer.first_name }}{% endif %}!"
    " Reply STOP to opt out\n"
)
PERSIAN_SHORT = "{{ customer.first_name }} عزیز، تولدتان مبارک! لغو: STOP\n"


def test_an_sms_over_the_campaigns_segment_limit_fails_at_its_file_and_line(
    workspace: Workspace,
) -> None:
    workspace.campaign("promo", "sms_max_segments: 1\n")
    workspace.sms(
        "promo",
        "en",
        "{% set gift = 'a little something' %}\n"
        "Happy birthday{% if customer.first_name %}, {{ customer.first_name }}{% endif %}!"
        " We kept {{ gift }} for you."
        + " Come and see it in store." * 4
        + " Reply STOP to opt out\n",
    )
    workspace.sms(
        "promo", "fa", "{{ customer.first_name }} عزیز، " + "تولدتان مبارک! " * 5 + "STOP"
    )
    workspace.sms(
        "promo",
        "zh",
        "{% if customer.full_name %}{{ customer.full_name }}，{% endif %}生日快乐！回复STOP退订",
    )

    report = check_campaigns(workspace.settings)

    assert [(p.file, p.line) for p in report.problems] == [
        ("templates/promo/en/sms.txt", 2),
        ("templates/promo/fa/sms.txt", 1),
    ]
    english, persian = report.problems
    assert "takes 2 segments" in english.message and "GSM-7" in english.message
    assert "allows 1 (sms_max_segments)" in english.message
    assert "UCS-2" in persian.message and "sample fa customer" in persian.message
    assert report.warnings == []


def test_a_campaign_without_a_limit_may_send_long_texts(workspace: Workspace) -> None:
    workspace.campaign("promo")
    workspace.sms("promo", "en", "Hi {{ customer.first_name }}!" + " x" * 200 + " STOP")
    workspace.sms("promo", "fa", PERSIAN_SHORT)
    workspace.sms("promo", "zh", "回复STOP退订")
    assert check_campaigns(workspace.settings).problems == []


def test_a_curly_quote_that_alone_forces_ucs2_is_a_warning(workspace: Workspace) -> None:
    workspace.campaign("promo")
    workspace.sms("promo", "en", "{# quotes #}\nIt’s your day! STOP\n")
    workspace.sms("promo", "fa", PERSIAN_SHORT)  # Persian is UCS-2 anyway: nothing to say
    workspace.sms("promo", "zh", "回复STOP退订")
    report = check_campaigns(workspace.settings)
    assert report.problems == []
    assert [(w.file, w.line) for w in report.warnings] == [("templates/promo/en/sms.txt", 2)]
    assert "'’' (U+2019) by '" in report.warnings[0].message


def test_locales_without_templates_are_listed_as_warnings_by_default(
    workspace: Workspace,
) -> None:
    workspace.campaign("promo")
    workspace.sms("promo", "en", SHORT)
    workspace.sms("promo", "fa", PERSIAN_SHORT)
    settings = workspace.settings.model_copy(
        update={"locales": LocaleConfig(default="en", supported=["en", "fa_IR", "zh", "ar_EG"])}
    )

    report = check_campaigns(settings)

    assert report.problems == []
    assert [(w.file, w.line) for w in report.warnings] == [("templates/promo", None)]
    message = report.warnings[0].message
    # fa_IR is served from fa/: nothing lacks. zh and ar_EG fall back to en.
    assert "has no templates for zh (sms), ar_EG (sms)" in message
    assert "get the 'en' ones" in message and "fa" not in message


def test_locales_without_templates_fail_when_configured_to(workspace: Workspace) -> None:
    workspace.campaign("promo")
    workspace.sms("promo", "en", SHORT)
    settings = workspace.settings.model_copy(
        update={
            "locales": LocaleConfig(
                default="en", supported=["en", "fa", "zh"], missing_templates="fail"
            )
        }
    )
    report = check_campaigns(settings)
    assert report.warnings == []
    assert [(p.file, p.line) for p in report.problems] == [("templates/promo", None)]
    assert "fa (sms), zh (sms)" in report.problems[0].message


def test_the_command_prints_warnings_and_still_succeeds(workspace: Workspace) -> None:
    workspace.campaign("promo")
    workspace.sms("promo", "en", SHORT)
    result = run_rapport("campaigns", "validate", cwd=workspace.root)
    assert result.returncode == 0, result.stderr
    assert "templates/promo: warning: campaign 'promo' has no templates for fa (sms)" in (
        result.stderr
    )
    assert "1 campaign valid in en, fa, zh (1 warning)" in result.stdout


def test_traditional_chinese_customers_served_simplified_are_listed(
    workspace: Workspace,
) -> None:
    workspace.campaign("promo")
    workspace.sms("promo", "en", SHORT)
    workspace.sms("promo", "zh", "回复STOP退订")
    settings = workspace.settings.model_copy(
        update={
            "locales": LocaleConfig(default="en", supported=["en", "zh_CN", "zh_Hant", "zh_TW"])
        }
    )

    report = check_campaigns(settings)

    message = report.warnings[0].message
    # zh_CN is served from zh/ (Simplified): nothing lacks; zh_Hant and zh_TW read
    # Traditional, and zh/ would give them Simplified.
    assert "has no templates for zh_Hant (sms), zh_TW (sms)" in message
    assert "get the 'zh' ones" in message
