"""``campaigns validate`` fails a template folder whose name no customer's locale
leads to: ``fa-IR``, ``EN`` or ``zz``. A customer's message comes from the folder
named exactly as the locale (``fa_IR``), its language (``fa``) or the default; a
folder named otherwise was never used, and validate said the campaigns were valid.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import Settings

CAMPAIGN = "name: Promo\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [sms]\n"
SMS = "Happy birthday! Reply STOP to opt out\n"


def problems(root: Path, folders: list[str]) -> list[str]:
    (root / "campaigns").mkdir()
    (root / "campaigns/promo.yaml").write_text(CAMPAIGN, encoding="utf-8")
    for folder in ["en", *folders]:
        path = root / "templates/promo" / folder / "sms.txt"
        path.parent.mkdir(parents=True)
        path.write_text(SMS, encoding="utf-8")
    report = check_campaigns(Settings(base_dir=root))
    return [f"{p.file}: {p.message}" for p in report.problems]


@pytest.mark.parametrize(
    ("folder", "says"),
    [
        ("fa-IR", "write 'fa_IR'"),
        ("EN", "write 'en'"),
        ("fa_ir", "write 'fa_IR'"),
        ("zz", "not a locale"),
        ("en_XX", "not a locale"),
    ],
)
def test_a_folder_no_locale_leads_to_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, folder: str, says: str
) -> None:
    monkeypatch.chdir(tmp_path)
    found = problems(tmp_path, [folder])
    assert len(found) == 1, found
    assert found[0].startswith(f"templates/promo/{folder}: "), found
    assert says in found[0], found


def test_folders_named_as_locales_are_fine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert problems(tmp_path, ["fa", "fa_IR", "zh_Hant", "zh_Hant_TW", "es_419"]) == []
