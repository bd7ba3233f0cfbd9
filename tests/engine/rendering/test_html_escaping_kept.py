"""An .html template may not turn escaping off: ``{{ customer.first_name|safe }}`` or an
``{% autoescape false %}`` block printed a customer named ``<a href="...">`` as markup in
the HTML e-mail (raised by the template tester). Both are problems at their FILE:LINE;
in a text template, where nothing is escaped, ``|safe`` changes nothing and stays."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.renderer import Renderer

HOSTILE = {"customer": {"first_name": '<a href="https://evil.example">claim</a>'}}
SUBJECT = "Hello\n"


def email(html: str, text: str = "Hi\n") -> dict[str, str]:
    return {
        "promo/en/email_subject.txt": SUBJECT,
        "promo/en/email.txt": text,
        "promo/en/email.html": html,
    }


@pytest.mark.parametrize(
    "html",
    [
        "<p>Hi</p>\n<p>{{ customer.first_name|safe }}</p>",
        "<p>Hi</p>\n<p>{{ customer.first_name | safe }}</p>",
        "<p>Hi</p>\n{% autoescape false %}<p>{{ customer.first_name }}</p>{% endautoescape %}",
        "<p>Hi</p>\n{% autoescape customer.first_name %}{{ 1 }}{% endautoescape %}",
    ],
    ids=["safe", "safe spaced", "autoescape false", "autoescape expression"],
)
def test_an_html_template_that_turns_escaping_off_is_a_problem_at_its_line(
    make: Callable[..., Renderer], html: str
) -> None:
    renderer = make(email(html))
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", HOSTILE)
    problem = caught.value.problem
    assert problem.file.endswith("promo/en/email.html") and problem.line == 2, problem
    assert "escape" in problem.message or "safe" in problem.message, problem


def test_autoescape_true_in_an_html_template_is_allowed(make: Callable[..., Renderer]) -> None:
    html = "<p>{% autoescape true %}{{ customer.first_name }}{% endautoescape %}</p>"
    rendered = make(email(html)).render("promo", "email", "en", HOSTILE)
    assert "&lt;a href=" in (rendered.html or "")


def test_safe_in_a_text_template_changes_nothing_and_stays(
    make: Callable[..., Renderer],
) -> None:
    rendered = make(email("<p>Hi</p>", "Hi {{ customer.first_name|safe }}\n")).render(
        "promo", "email", "en", HOSTILE
    )
    assert '<a href="https://evil.example">' in rendered.text


@pytest.mark.parametrize(
    "html",
    [
        "<p>Hi</p>\n<p>{{ [customer.first_name]|map('safe')|first }}</p>",
        "<p>Hi</p>\n{% set f = 'sa' ~ 'fe' %}<p>{{ [customer.first_name]|map(f)|join }}</p>",
    ],
    ids=["map safe", "map by a name made at run time"],
)
def test_an_html_template_cannot_reach_the_safe_filter_through_map(
    make: Callable[..., Renderer], html: str
) -> None:
    renderer = make(email(html))
    try:
        rendered = renderer.render("promo", "email", "en", HOSTILE)
    except TemplateProblemError as caught:
        assert "safe" in caught.problem.message, caught.problem
    else:
        assert '<a href="https://evil.example">' not in (rendered.html or ""), rendered.html


def test_a_customer_s_name_as_the_indent_string_is_escaped_in_an_html_template(
    make: Callable[..., Renderer],
) -> None:
    html = "<p>Hi</p>\n<pre>{{ 'a\\nb'|e|indent(customer.first_name) }}</pre>"
    rendered = make(email(html)).render("promo", "email", "en", HOSTILE)
    assert '<a href="https://evil.example">' not in (rendered.html or ""), rendered.html
    assert "&lt;a href=" in (rendered.html or "")
