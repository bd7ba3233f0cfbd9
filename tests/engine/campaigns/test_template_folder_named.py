"""``campaigns validate`` names the campaign's key when its template folder is missing.

``templates: newsleter`` (or a variant's) was reported only at a file in the folder
that is not there (``templates/newsleter/en/email_subject.txt: no email templates for
locale 'en'``), once for every campaign naming it, with neither the campaign's file,
line nor key; every customer's message then failed to render at planning.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import Settings

HEAD = "name: Promo\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [sms]\n"


def problems(root: Path, campaign: str) -> list[str]:
    (root / "campaigns").mkdir()
    (root / "campaigns/promo.yaml").write_text(HEAD + campaign, encoding="utf-8")
    path = root / "templates/newsletter/en/sms.txt"
    path.parent.mkdir(parents=True)
    path.write_text("Happy birthday! Reply STOP to opt out\n", encoding="utf-8")
    return [str(p) for p in check_campaigns(Settings(base_dir=root)).problems]


def test_a_misspelt_template_folder_is_a_problem_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert problems(tmp_path, "templates: newsleter\n") == [
        "campaigns/promo.yaml:6: templates: no folder 'newsleter' in templates/; "
        "did you mean 'newsletter'?"
    ]


def test_a_variant_s_missing_folder_is_a_problem_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    variants = (
        "variants:\n  - {name: warm, templates: newsletter}\n  - {name: short, templates: nosuch}\n"
    )
    assert problems(tmp_path, variants) == [
        "campaigns/promo.yaml:8: variants.1.templates: no folder 'nosuch' in templates/; "
        "folders there: newsletter"
    ]


def test_a_campaign_without_templates_and_no_folder_of_its_id_is_told_to_name_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert problems(tmp_path, "") == [
        "campaigns/promo.yaml:1: templates: no folder 'promo' in templates/ (without "
        "templates, a campaign reads the folder named as its id); folders there: newsletter"
    ]


def test_a_template_folder_name_too_long_for_the_file_system_is_a_problem_at_its_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = "n" * 300  # more than a file name may be (255 bytes): stat fails
    assert problems(tmp_path, f"templates: {folder}\n") == [
        f"campaigns/promo.yaml:6: templates: no folder '{folder}' in templates/; "
        "folders there: newsletter"
    ]
