"""``templates/_partials``: the e-mail frame and consent footer, once per locale.

Every campaign's ``email.html`` extends ``_partials/<locale>/layout.html`` (the HTML
head, the page and card tables, the consent footer) and every ``email.txt`` includes
``_partials/<locale>/footer.txt`` (the consent links). ``_partials`` is no campaign's
template set: validation never lists it, yet renders it inside every campaign's
e-mail, so a mistake in a partial is reported at the partial's own file and line.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import REPO

from rapport.engine.campaigns.model import load_campaigns
from rapport.engine.campaigns.validate import check_campaigns
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem

PARTIALS = REPO / "templates" / "_partials"
LOCALES = ("en", "fa", "zh", "zh_Hant")
#: Template sets of transactional messages (POST /api/v1/messages, docs/api.md): no
#: campaign's, and without the consent footer, since the customer needs them.
TRANSACTIONAL_SETS = {"order-shipped"}


def campaign_folders() -> list[Path]:
    """Every shipped template folder of a campaign (``<set>/<locale>``), not the partials."""
    return sorted(
        folder
        for folder in (REPO / "templates").glob("*/*")
        if folder.is_dir() and folder.parent.name not in {"_partials", *TRANSACTIONAL_SETS}
    )


@pytest.fixture
def workspace(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the shipped campaigns and templates, to break one partial in."""
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    monkeypatch.chdir(tmp_path)  # problems name files relative to the working folder
    return tmp_path


def replace_in(path: Path, old: str, new: str) -> int:
    """Replace the one line holding ``old``; returns that line's number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    found = [number for number, line in enumerate(lines, 1) if old in line]
    assert len(found) == 1, (path, old, found)
    lines[found[0] - 1] = lines[found[0] - 1].replace(old, new)
    path.write_text("\n".join(lines), encoding="utf-8")
    return found[0]


def mentions(findings: list[Problem], text: str) -> list[Problem]:
    return [p for p in findings if text in p.file or text in p.message]


def test_each_locale_has_one_layout_and_one_text_footer() -> None:
    assert sorted(p.name for p in PARTIALS.iterdir()) == sorted(LOCALES)
    for locale in LOCALES:
        assert sorted(p.name for p in (PARTIALS / locale).iterdir()) == [
            "footer.txt",
            "layout.html",
        ]


def test_every_campaign_email_extends_its_locales_layout_and_includes_its_footer() -> None:
    folders = [f for f in campaign_folders() if (f / "email.html").exists()]
    assert len(folders) >= 30
    for folder in folders:
        locale = folder.name
        html = (folder / "email.html").read_text(encoding="utf-8")
        text = (folder / "email.txt").read_text(encoding="utf-8")
        assert html.startswith(f'{{% extends "_partials/{locale}/layout.html" %}}\n'), folder
        assert "<!DOCTYPE" not in html and "links.unsubscribe" not in html, folder
        assert text.endswith(f'{{% include "_partials/{locale}/footer.txt" %}}\n'), folder
        assert "links.unsubscribe" not in text, folder


def test_the_shipped_tree_validates_clean_and_never_names_the_partials() -> None:
    report = check_campaigns(Settings(base_dir=REPO))
    assert report.problems == []
    assert mentions(report.warnings, "_partials") == []


def test_partials_is_no_campaigns_template_set() -> None:
    campaigns, problems = load_campaigns(Settings(base_dir=REPO))
    assert problems == []
    template_sets = {s for campaign in campaigns for s in campaign.template_sets()}
    assert "_partials" not in template_sets
    assert "_partials" not in {campaign.id for campaign in campaigns}
    # Every other template folder is some campaign's.
    assert template_sets == {f.parent.name for f in campaign_folders()}


def test_a_syntax_error_in_a_layout_is_reported_once_at_the_layout(workspace: Path) -> None:
    layout = workspace / "templates" / "_partials" / "en" / "layout.html"
    line = replace_in(layout, "{{ sender.postal_address }}", "{{ sender.postal_address }")

    problems = check_campaigns(Settings(base_dir=workspace)).problems

    assert [(p.file, p.line) for p in problems] == [("templates/_partials/en/layout.html", line)]
    assert "unexpected '}'" in problems[0].message


def test_an_undefined_variable_in_a_layout_is_reported_at_the_layout(workspace: Path) -> None:
    layout = workspace / "templates" / "_partials" / "zh" / "layout.html"
    line = replace_in(layout, "{{ sender.postal_address }}", "{{ sender.postal_code }}")

    problems = check_campaigns(Settings(base_dir=workspace)).problems

    assert [(p.file, p.line) for p in problems] == [("templates/_partials/zh/layout.html", line)]
    assert "postal_code" in problems[0].message


def test_a_mistake_in_a_text_footer_is_reported_at_the_footer(workspace: Path) -> None:
    footer = workspace / "templates" / "_partials" / "fa" / "footer.txt"
    line = replace_in(footer, "{{ links.unsubscribe }}", "{{ links.unsubscribe_now }}")

    problems = check_campaigns(Settings(base_dir=workspace)).problems

    assert [(p.file, p.line) for p in problems] == [("templates/_partials/fa/footer.txt", line)]
    assert "unsubscribe_now" in problems[0].message


def test_a_campaign_email_must_say_why_the_customer_receives_it(workspace: Path) -> None:
    email = workspace / "templates" / "birthday" / "en" / "email.html"
    replace_in(email, "{% block reason %}", "{% block not_the_reason %}")

    problems = check_campaigns(Settings(base_dir=workspace)).problems

    assert len(problems) == 1
    assert "reason" in problems[0].message


def test_templates_reach_nothing_outside_the_templates_folder(workspace: Path) -> None:
    (workspace / "secret.txt").write_text("not a template\n", encoding="utf-8")
    email = workspace / "templates" / "birthday" / "en" / "email.txt"
    replace_in(email, '{% include "_partials/en/footer.txt" %}', '{% include "../secret.txt" %}')

    problems = check_campaigns(Settings(base_dir=workspace)).problems

    assert [p.file for p in problems] == ["templates/birthday/en/email.txt"]
    assert "secret.txt" in problems[0].message
