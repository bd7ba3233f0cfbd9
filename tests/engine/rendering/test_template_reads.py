"""What a template set reads follows ``{% extends %}``, ``{% include %}`` and ``{% import %}``.

Planning leaves a signed link or the recommendation out of a message's context when
:meth:`Renderer.reads` says no template of the message reads it. Campaign templates
share their consent footer through ``templates/_partials/<locale>/``, so a link used
only in a partial must count as read, or the footer would fail to render.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rapport.engine.rendering.renderer import Renderer


def renderer_with(tmp_path: Path, files: dict[str, str]) -> Renderer:
    """A renderer over ``files``, named relative to the templates folder."""
    for name, text in files.items():
        path = tmp_path / "templates" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return Renderer(tmp_path / "templates", "en")


LAYOUT = (
    "<html>{% block content %}{% endblock %}"
    "<a href='{{ links.unsubscribe }}'>Unsubscribe</a></html>"
)


def test_a_link_used_only_in_an_extended_partial_is_read(tmp_path: Path) -> None:
    renderer = renderer_with(
        tmp_path,
        {
            "_partials/en/layout.html": LAYOUT,
            "promo/en/email_subject.txt": "Hello",
            "promo/en/email.txt": "Hello {{ customer.first_name }}",
            "promo/en/email.html": (
                '{% extends "_partials/en/layout.html" %}'
                "{% block content %}Hello {{ customer.first_name }}{% endblock %}"
            ),
        },
    )
    assert renderer.reads("promo", "email", "en", "links.unsubscribe")
    assert renderer.reads("promo", "email", "fa_IR", "links.unsubscribe")  # falls back to en/
    assert not renderer.reads("promo", "email", "en", "links.feedback")
    assert not renderer.reads("promo", "email", "en", "recommendation")


def test_included_partials_are_followed_to_what_they_read(tmp_path: Path) -> None:
    renderer = renderer_with(
        tmp_path,
        {
            "_partials/en/footer.txt": '{% include "_partials/en/links.txt" %}',
            "_partials/en/links.txt": "{{ links.preferences }}",
            "_partials/en/macros.txt": "{% macro tip() %}{{ recommendation }}{% endmacro %}",
            "promo/en/sms.txt": 'Hi {% include "_partials/en/footer.txt" %}',
            "gift/en/sms.txt": (
                '{% from "_partials/en/macros.txt" import tip with context %}{{ tip() }}'
            ),
        },
    )
    assert renderer.reads("promo", "sms", "en", "links.preferences")  # two includes deep
    assert not renderer.reads("promo", "sms", "en", "links.feedback")
    assert not renderer.reads("promo", "sms", "en", "recommendation")
    assert renderer.reads("gift", "sms", "en", "recommendation")
    assert not renderer.reads("gift", "sms", "en", "links.preferences")


@pytest.mark.parametrize(
    "body",
    [
        "{% include footer %}",  # a name known only at render time may be any file
        '{% include "_partials/en/missing.txt" %}',
        '{% include "_partials/en/broken.txt" %}',
    ],
)
def test_a_reference_that_cannot_be_followed_reads_everything(tmp_path: Path, body: str) -> None:
    renderer = renderer_with(
        tmp_path, {"_partials/en/broken.txt": "{% if %}", "promo/en/sms.txt": body}
    )
    assert renderer.reads("promo", "sms", "en", "links.feedback")
    assert renderer.reads("promo", "sms", "en", "recommendation")


def test_templates_that_reference_each_other_do_not_loop(tmp_path: Path) -> None:
    renderer = renderer_with(
        tmp_path,
        {
            "_partials/en/a.txt": '{% if false %}{% include "_partials/en/b.txt" %}{% endif %}',
            "_partials/en/b.txt": '{% include "_partials/en/a.txt" %}',
            "promo/en/sms.txt": '{% include "_partials/en/a.txt" %}',
        },
    )
    assert not renderer.reads("promo", "sms", "en", "links.feedback")


def test_each_file_is_parsed_once_for_every_question(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    renderer = renderer_with(
        tmp_path,
        {
            "_partials/en/layout.html": LAYOUT,
            "_partials/en/footer.txt": "{{ links.unsubscribe }}",
            "promo/en/email_subject.txt": "Hello",
            "promo/en/email.txt": 'Hi {% include "_partials/en/footer.txt" %}',
            "promo/en/email.html": '{% extends "_partials/en/layout.html" %}',
            "other/en/email_subject.txt": "Hello",
            "other/en/email.txt": 'Hi {% include "_partials/en/footer.txt" %}',
        },
    )
    env = renderer.environment("en")
    parsed: list[str] = []
    original = env.parse

    def parse(source: str, name: str | None = None, *args: str | None) -> Any:
        parsed.append(str(name))
        return original(source, name, *args)

    monkeypatch.setattr(env, "parse", parse)
    for template_set in ("promo", "other"):
        for name in ("links.feedback", "links.preferences", "recommendation", "offer"):
            assert not renderer.reads(template_set, "email", "en", name)
            assert not renderer.reads(template_set, "email", "en_GB", name)
        assert renderer.reads(template_set, "email", "en", "links.unsubscribe")
    assert sorted(parsed) == sorted(
        [
            "_partials/en/footer.txt",
            "_partials/en/layout.html",
            "other/en/email.txt",
            "other/en/email_subject.txt",
            "promo/en/email.html",
            "promo/en/email.txt",
            "promo/en/email_subject.txt",
        ]
    )
