"""``campaigns validate`` warns where a right-to-left subject or SMS starts left to right.

A phone or a mail client sets a plain text's direction from its first strong letter, so
a Persian SMS that starts with the brand ("Rapport: تولدتان مبارک ...") is laid out
left to right and reads scrambled (docs/localization.md, "A right-to-left text starts
with a right-to-left letter"). Validation warns at the template's FILE:LINE with what
the sample customer would read. A subject's bidi marks do not count: the MIME writer
removes them from headers.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import Settings

#: What every e-mail body shows besides the preference link (engine/campaigns/footer.py).
FOOTER = "{{ links.unsubscribe }}\n{{ sender.postal_address }}\n"

CAMPAIGN = """\
name: Birthday
trigger:
  type: birthday
topic: birthday
channels: [email, sms]
"""

EN = {
    "email_subject.txt": "Happy birthday!",
    "email.txt": "{{ customer.salutation }},\n{{ links.preferences }}\n" + FOOTER,
    "sms.txt": "Happy birthday! Reply STOP to opt out",
}
BODY = "{{ customer.salutation }}، سلام\n{{ links.preferences }}\n" + FOOTER
GOOD_FA = {
    "email_subject.txt": "تولدتان مبارک، {{ customer.salutation }}!",
    "email.txt": BODY,
    "sms.txt": "تولدتان مبارک، {{ customer.salutation }}! {{ sender.sms_signature }}. لغو: STOP",
}
BAD_FA = {
    "email_subject.txt": (
        "{# the subject #}\n\u200fRapport: تولدتان مبارک، {{ customer.salutation }}!"
    ),
    "email.txt": BODY,
    "sms.txt": "{{ sender.sms_signature }}: تولدتان مبارک، {{ customer.salutation }}! لغو: STOP",
}


def workspace(root: Path, fa: dict[str, str]) -> Settings:
    (root / "campaigns").mkdir()
    (root / "campaigns" / "birthday.yaml").write_text(CAMPAIGN, encoding="utf-8")
    for locale, files in (("en", EN), ("fa", fa)):
        folder = root / "templates" / "birthday" / locale
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    return Settings(base_dir=root, locales={"default": "en", "supported": ["en", "fa"]})


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # findings name files relative to the working folder
    return tmp_path


def test_a_persian_subject_or_sms_that_starts_in_latin_letters_is_a_warning(here: Path) -> None:
    report = check_campaigns(workspace(here, BAD_FA))

    assert report.problems == []
    assert [(w.file, w.line) for w in report.warnings] == [
        ("templates/birthday/fa/email_subject.txt", 2),
        ("templates/birthday/fa/sms.txt", 1),
    ]
    subject, sms = (w.message for w in report.warnings)
    assert subject.startswith(
        "this fa subject starts with 'Rapport', in left-to-right letters: a mail client "
        "lays the whole text out left to right"
    )
    assert "start with a word of the language" in subject
    assert sms.startswith("this fa SMS starts with 'Rapport'")


def test_persian_texts_that_start_with_a_persian_word_are_not_warned_about(
    here: Path,
) -> None:
    report = check_campaigns(workspace(here, GOOD_FA))
    assert (report.problems, report.warnings) == ([], [])
