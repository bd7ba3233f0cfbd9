"""A rendered subject becomes a mail header: one line of text, whatever a template or a
customer's value puts in it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.engine.rendering.errors import InvalidOutput
from rapport.engine.rendering.renderer import Renderer


def context(**customer: Any) -> dict[str, Any]:
    person = {"first_name": "Alex", "last_name": "Morgan", "full_name": "Alex Morgan"}
    person.update(customer)
    return {"customer": person}


@pytest.mark.parametrize(
    "breaking", ["\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\x01", "\x1b[31m", "\x7f", "\x9b"]
)
def test_a_subject_with_a_line_separator_or_control_character_is_refused(
    make: Callable[..., Renderer], breaking: str
) -> None:
    # U+2028, NEL, vertical tab and form feed end a line for some readers, and escape
    # sequences reach whatever shows the subject: only CR and LF were refused.
    renderer = make(
        {
            "promo/en/email_subject.txt": "Hello {{ customer.first_name }}",
            "promo/en/email.txt": "Body",
        }
    )
    with pytest.raises(InvalidOutput) as caught:
        renderer.render("promo", "email", "en", context(first_name=f"Alex{breaking}Bcc"))
    assert caught.value.problem.file.endswith("email_subject.txt")
    assert "single line" in caught.value.problem.message


def test_a_subject_may_hold_a_tab_and_any_script(make: Callable[..., Renderer]) -> None:
    renderer = make(
        {
            "promo/en/email_subject.txt": "{{ customer.first_name }}",
            "promo/en/email.txt": "Body",
        }
    )
    for name in ("Alex\tSmith", "مریم\u200cجان", "王伟", "Zoë 🎉"):
        assert renderer.render("promo", "email", "en", context(first_name=name)).subject == name
