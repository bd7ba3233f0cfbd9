"""``campaigns validate`` renders a template for a customer whose locale has a region.

A customer's ``locale`` is what was imported, mostly with a region (``en_US``,
``fa_IR``, ``zh_CN``), while the folder it reads is the language's (``en``). Every
synthetic customer validate rendered had the folder's name as its locale, so a
template built on ``customer.locale`` (a partial named after it, a branch on ``"en"``)
was valid and then failed for every real customer at planning (TemplateNotFound).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import Settings

CAMPAIGN = "name: Promo\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [sms]\n"


def problems(root: Path, sms: str) -> list[str]:
    (root / "campaigns").mkdir()
    (root / "campaigns/promo.yaml").write_text(CAMPAIGN, encoding="utf-8")
    path = root / "templates/promo/en/sms.txt"
    path.parent.mkdir(parents=True)
    path.write_text(sms, encoding="utf-8")
    for language in ("en", "fa", "zh", "zh_Hant"):  # the shipped configuration's locales
        (root / "templates/_partials" / language).mkdir(parents=True)
        (root / "templates/_partials" / language / "stop.txt").write_text("Reply STOP", "utf-8")
    report = check_campaigns(Settings(base_dir=root))
    return [f"{p.file}:{p.line}: {p.message}" for p in report.problems]


def test_a_partial_named_after_customer_locale_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sms = 'Happy birthday! {% include "_partials/" ~ customer.locale ~ "/stop.txt" %}\n'
    found = problems(tmp_path, sms)
    assert found, found
    assert all(f.startswith("templates/promo/en/sms.txt:1: ") for f in found), found
    assert any("'_partials/en_US/stop.txt'" in f for f in found), found
    assert all("(with customer.locale = " in f for f in found), found


def test_a_template_reading_customer_locale_with_care_is_valid(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    sms = (
        "Happy birthday{{ ' from the US' if customer.locale == 'en_US' else '' }}! "
        '{% include "_partials/" ~ customer.locale[:2] ~ "/stop.txt" %}\n'
    )
    assert problems(tmp_path, sms) == []
