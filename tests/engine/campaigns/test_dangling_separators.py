"""``campaigns validate`` warns where an empty value leaves a dangling separator.

"Happy birthday, {{ customer.first_name }}!" reads "Happy birthday, !" to a customer
without a first name; "{{ customer.full_name }}，生日快乐！" starts with a comma.
Validation renders a sample customer without names, and warns at the template's
FILE:LINE with what that customer would read; a template that keeps the name and its
comma inside ``{% if %}`` is not warned about, nor is punctuation every customer reads.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport

from rapport.engine.campaigns.dangling import dangling_lines
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

BODY = (
    "{{ customer.salutation }},\n\nMany happy returns.\n{{ links.preferences }}"
    "\n{{ links.unsubscribe }}\n{{ sender.postal_address }}\n"
)
HTML = """\
<html><head><title>Happy birthday, {{ customer.first_name }}</title>
<style>h1, .note { color: red; }</style></head>
<body>
<h1>{{ customer.salutation }},</h1>
<p>{{ links.preferences }} {{ links.unsubscribe }} {{ sender.postal_address }}</p>
</body></html>
"""

BAD = {
    "en": {
        "email_subject.txt": "{# the subject #}\nHappy birthday, {{ customer.first_name }}!\n",
        "email.txt": BODY,
        "email.html": HTML,
        "sms.txt": "{{ customer.first_name }}, happy birthday! Reply STOP to opt out",
    },
    "zh": {
        "email_subject.txt": "{{ customer.full_name }}，生日快乐！",
        "email.txt": "{{ customer.salutation }}！\n{{ links.preferences }}\n" + FOOTER,
        "sms.txt": "{{ sender.sms_signature }}{{ customer.full_name }}，生日快乐！回复STOP退订",
    },
}

GOOD = {
    "en": {
        "email_subject.txt": (
            "Happy birthday{% if customer.first_name %}, {{ customer.first_name }}{% endif %}!"
        ),
        "email.txt": BODY,
        "sms.txt": "Happy birthday{% if customer.first_name %}, {{ customer.first_name }}"
        "{% endif %}! Reply STOP to opt out",
    },
    "zh": {
        "email_subject.txt": (
            "{% if customer.full_name %}{{ customer.full_name }}，{% endif %}生日快乐！"
        ),
        "email.txt": "{{ customer.salutation }}！\n{{ links.preferences }}\n" + FOOTER,
        "sms.txt": "{{ sender.sms_signature }}{% if customer.full_name %}{{ customer.full_name }}，"
        "{% endif %}生日快乐！回复STOP退订",
    },
}


def workspace(root: Path, templates: dict[str, dict[str, str]]) -> Settings:
    (root / "campaigns").mkdir()
    (root / "campaigns" / "birthday.yaml").write_text(CAMPAIGN, encoding="utf-8")
    for locale, files in templates.items():
        folder = root / "templates" / "birthday" / locale
        folder.mkdir(parents=True)
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
    (root / "config.yaml").write_text("locales:\n  supported: [en, zh]\n", encoding="utf-8")
    return Settings(base_dir=root, locales={"default": "en", "supported": ["en", "zh"]})


@pytest.fixture
def here(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.chdir(tmp_path)  # findings name files relative to the working folder
    return tmp_path


def test_a_name_left_empty_in_a_sentence_is_a_warning_at_its_line(here: Path) -> None:
    report = check_campaigns(workspace(here, BAD))

    assert report.problems == []
    assert [(w.file, w.line) for w in report.warnings] == [
        ("templates/birthday/en/email.html", 1),
        ("templates/birthday/en/email_subject.txt", 2),
        ("templates/birthday/en/sms.txt", 1),
        ("templates/birthday/zh/email_subject.txt", 1),
        ("templates/birthday/zh/sms.txt", 1),
    ]
    title, subject, sms, zh_subject, zh_sms = (w.message for w in report.warnings)
    assert subject.startswith(
        "with customer.first_name and last_name empty this reads 'Happy birthday, !'"
    )
    assert "'Happy birthday,'" in title  # the <title>; the greeting "Hello," is not blamed
    assert "', happy birthday! Reply STOP to opt out'" in sms
    assert "'，生日快乐！'" in zh_subject
    assert "'【Rapport】，生日快乐！回复STOP退订'" in zh_sms
    assert "{% if ... %}" in subject and "docs/localization.md" in subject


def test_the_name_and_its_comma_inside_an_if_are_not_warned_about(here: Path) -> None:
    report = check_campaigns(workspace(here, GOOD))
    assert (report.problems, report.warnings) == ([], [])


def test_the_command_prints_the_warning_and_succeeds(here: Path) -> None:
    workspace(here, BAD)
    result = run_rapport("campaigns", "validate", cwd=here)
    assert result.returncode == 0, result.stderr
    assert (
        "templates/birthday/en/email_subject.txt:2: warning: with customer.first_name and"
        " last_name empty this reads 'Happy birthday, !'"
    ) in result.stderr
    assert "(5 warnings)" in result.stdout


@pytest.mark.parametrize(
    ("output", "typical"),
    [
        ("Happy birthday, ! A gift inside", "Happy birthday, Alex! A gift inside"),
        ("How is it going, ?", "How is it going, Alex?"),
        ("Congratulations, : you are now VIB", "Congratulations, Alex: you are now VIB"),
        ("We miss you,", "We miss you, Alex"),
        ("，生日快乐！", "王伟，生日快乐！"),
        ("【Rapport】，生日快乐！回复STOP退订", "【Rapport】王伟，生日快乐！回复STOP退订"),
        ("恭喜您，！", "恭喜您，王伟！"),
        ("亲爱的，生日快乐", "亲爱的王伟，生日快乐"),
        ("Hi , welcome", "Hi Alex, welcome"),
        ("تولدتان مبارک، !", "تولدتان مبارک، سارا!"),
        ("Items: tea、、cups", "Items: tea、pot、cups"),
    ],
)
def test_what_an_empty_value_leaves_is_found(output: str, typical: str) -> None:
    [found] = dangling_lines(output, markup=False, whole=True, typical=typical)
    assert found.text == output


@pytest.mark.parametrize(
    ("output", "typical"),
    [
        # Punctuation every customer reads is the marketer's own, not a gap.
        ("Hello , world!", "Hello , world!"),
        # A greeting's comma at the end of a heading, as the typical sample has it.
        ("<h1>Hello,</h1>", "<h1>Hi Alex,</h1>"),
        # CSS and markup are not sentences.
        ("<style>h1, .a { x: 1 }</style><p>Hello</p>", "<style>h1, .a { x: 1 }</style><p>Hi</p>"),
        # Inline tags do not break a line: the Persian greeting after its <bdi>.
        ("<p><bdi>مشتری گرامی</bdi>، سلام</p>", "<p><bdi>سارا احمدی گرامی</bdi>، سلام</p>"),
        ("Happy birthday! A gift inside", "Happy birthday, Alex! A gift inside"),
        ("生日快乐！", "王伟，生日快乐！"),
        ("Prices from 1,500.00 up", "Prices from 2,500.00 up"),
    ],
)
def test_what_reads_naturally_is_not_found(output: str, typical: str) -> None:
    assert dangling_lines(output, markup="<" in output, whole=False, typical=typical) == []
