"""``campaigns validate`` warns about an e-mail body that does not show the sender's
postal address or the unsubscribe link: a footer edited without them (or a template
that does not include it) validated without a word, while commercial e-mail must give
the sender's postal address (CAN-SPAM) and docs/campaigns.md says each footer carries
both. Warnings, not problems: the preference link, which validate requires, still
lets the customer leave."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import Settings

CAMPAIGN = "name: Promo\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [email]\n"
FULL = (
    "Hello\n{{ links.preferences }}\nUnsubscribe: {{ links.unsubscribe }}\n"
    "{{ sender.postal_address }}\n"
)


def warnings(root: Path, body: str) -> list[str]:
    (root / "campaigns").mkdir()
    (root / "campaigns/promo.yaml").write_text(CAMPAIGN, encoding="utf-8")
    folder = root / "templates/promo/en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("Hello\n", encoding="utf-8")
    (folder / "email.txt").write_text(body, encoding="utf-8")
    report = check_campaigns(Settings(base_dir=root))
    assert report.problems == []
    return [f"{w.file}: {w.message}" for w in report.warnings if "footer" in w.message]


@pytest.mark.parametrize(
    ("left_out", "named"),
    [
        ("{{ sender.postal_address }}\n", "{{ sender.postal_address }}"),
        ("Unsubscribe: {{ links.unsubscribe }}\n", "{{ links.unsubscribe }}"),
    ],
)
def test_an_email_without_the_address_or_the_unsubscribe_link_is_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, left_out: str, named: str
) -> None:
    monkeypatch.chdir(tmp_path)
    (found,) = warnings(tmp_path, FULL.replace(left_out, ""))
    assert found.startswith("templates/promo/en/email.txt: ") and named in found


def test_an_email_showing_both_is_not_warned_about(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert warnings(tmp_path, FULL) == []
