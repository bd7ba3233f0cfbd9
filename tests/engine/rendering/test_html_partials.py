"""An HTML template escapes all it prints, partials included: it may include, extend
or import only HTML templates.

Jinja decides escaping per file, by its name, so a ``.txt`` partial included in (or
extended by) an ``email.html`` printed a customer's name unescaped into the HTML
e-mail: a name ``<script>...`` or ``<a href=...>`` became markup. The reverse, an
``.html`` partial in a plain-text part, printed ``&lt;`` and ``&#39;`` to the reader.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.renderer import Renderer

NAME = "<script>alert(1)</script>"
PARTIALS = {
    "_partials/en/bit.txt": "Hello {{ customer.first_name }}",
    "_partials/en/frame.txt": "<p>{{ customer.first_name }}</p>{% block b %}{% endblock %}",
    "_partials/en/bit.html": "<b>{{ customer.first_name }}</b>",
    "promo/en/email_subject.txt": "Hello",
    "promo/en/email.txt": "Hi\nSee the offer",
}
MIXED = {
    "a text partial included": '<p>\n{% include "_partials/en/bit.txt" %}</p>',
    "a text layout extended": '<p>\n{% extends "_partials/en/frame.txt" %}'
    "{% block b %}x{% endblock %}",
    "a text partial named at run time": '{% set n = "_partials/en/bit.txt" %}\n{% include n %}',
}


@pytest.mark.parametrize("html", MIXED.values(), ids=MIXED.keys())
def test_an_html_template_may_not_print_a_text_template(
    make: Callable[..., Renderer], html: str
) -> None:
    renderer = make({**PARTIALS, "promo/en/email.html": html})
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", {"customer": {"first_name": NAME}})
    problem = caught.value.problem
    assert problem.file.endswith("promo/en/email.html"), problem
    assert problem.line == 2, problem
    assert "only .html templates" in problem.message, problem


def test_a_text_template_may_not_print_an_html_template(make: Callable[..., Renderer]) -> None:
    renderer = make({**PARTIALS, "promo/en/email.txt": 'Hi\n{% include "_partials/en/bit.html" %}'})
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "email", "en", {"customer": {"first_name": "O'Brien"}})
    problem = caught.value.problem
    assert problem.file.endswith("promo/en/email.txt") and problem.line == 2, problem
    assert "only .txt templates" in problem.message, problem


def test_an_html_template_includes_an_html_partial_escaped(make: Callable[..., Renderer]) -> None:
    renderer = make(
        {**PARTIALS, "promo/en/email.html": '<p>{% include "_partials/en/bit.html" %}</p>'}
    )
    html = renderer.render("promo", "email", "en", {"customer": {"first_name": NAME}}).html
    assert html == "<p><b>&lt;script&gt;alert(1)&lt;/script&gt;</b></p>"
