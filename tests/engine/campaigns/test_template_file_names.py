"""``campaigns validate`` fails a file in a template folder named like a template but
not as one: ``email.htm``, ``sms.text``, ``Email.txt``, ``email-subject.txt``. Such a
file was never read: an HTML body named ``email.htm`` vanished from every e-mail (HTML
is optional), and validate said the campaigns were valid."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import Settings

CAMPAIGN = "name: Promo\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [sms]\n"
SMS = "Happy birthday! Reply STOP to opt out\n"


def problems(root: Path, extra: str) -> list[str]:
    (root / "campaigns").mkdir()
    (root / "campaigns/promo.yaml").write_text(CAMPAIGN, encoding="utf-8")
    folder = root / "templates/promo/en"
    folder.mkdir(parents=True)
    (folder / "sms.txt").write_text(SMS, encoding="utf-8")
    (folder / extra).write_text("<p>Hello</p>\n", encoding="utf-8")
    report = check_campaigns(Settings(base_dir=root))
    return [f"{p.file}: {p.message}" for p in report.problems]


@pytest.mark.parametrize(
    ("name", "meant"),
    [
        ("email.htm", "email.html"),
        ("sms.text", "sms.txt"),
        ("Email.txt", "email.txt"),
        ("email-subject.txt", "email_subject.txt"),
        ("emial.html", "email.html"),
    ],
)
def test_a_file_named_close_to_a_template_is_a_problem(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str, meant: str
) -> None:
    monkeypatch.chdir(tmp_path)
    found = problems(tmp_path, name)
    assert len(found) == 1, found
    assert found[0].startswith(f"templates/promo/en/{name}: "), found
    assert f"did you mean {meant!r}" in found[0], found


@pytest.mark.parametrize("name", ["_gift.html", "sms.txt~", "sms.txt.orig", ".DS_Store"])
def test_a_file_named_unlike_any_template_is_left_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """A piece another template includes, an editor's backup, a system file."""
    monkeypatch.chdir(tmp_path)
    assert problems(tmp_path, name) == []


def test_a_piece_a_template_includes_is_left_alone_whatever_its_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A template may include any file under templates/ (docs/campaigns.md): a piece
    named sms2.txt, which sms.txt reads, is read."""
    monkeypatch.chdir(tmp_path)
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns/promo.yaml").write_text(CAMPAIGN, encoding="utf-8")
    folder = tmp_path / "templates/promo/en"
    folder.mkdir(parents=True)
    (folder / "sms.txt").write_text('{% include "promo/en/sms2.txt" %}\n', encoding="utf-8")
    (folder / "sms2.txt").write_text(SMS, encoding="utf-8")

    report = check_campaigns(Settings(base_dir=tmp_path))

    assert [f"{p.file}: {p.message}" for p in report.problems] == []
