"""Filters whose time grows with the square of a word are refused before they run.

``urlize`` looks for trailing punctuation with a regular expression that is tried
from every position of a word: a word of dots (or ``>``, escaped to ``&gt;``) ending
in another character and a dot took 0.7 s at 5,000 characters, 18 s at 20,000, and
at the 262,144 characters a value may have, most of an hour, in one call no deadline
can stop.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.renderer import Renderer

WORDS = {
    "dots": "'.' * 12000 ~ 'x.'",
    "closing brackets, escaped": "'>' * 3000 ~ 'x>'",
}


@pytest.mark.parametrize("word", WORDS.values(), ids=WORDS.keys())
def test_urlize_of_a_long_word_is_refused_before_it_runs(
    make: Callable[..., Renderer], word: str
) -> None:
    renderer = make({"promo/en/sms.txt": "Hi\n{{ (" + word + ")|urlize|length }} STOP"})
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {})
    problem = caught.value.problem
    assert problem.line == 2, problem
    assert "urlize" in problem.message and "2,000" in problem.message, problem


def test_urlize_of_ordinary_text_still_links(make: Callable[..., Renderer]) -> None:
    words = "See https://shop.example/offers or write to help@shop.example. " * 400
    renderer = make({"promo/en/sms.txt": "{{ text|urlize|length > 0 }} STOP"})
    assert renderer.render("promo", "sms", "en", {"text": words}).text == "True STOP"
