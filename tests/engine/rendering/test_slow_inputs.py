"""Filters whose time grows with the square of a word are refused before they run.

``urlize`` looks for trailing punctuation with a regular expression that is tried
from every position of a word: a word of dots (or ``>``, escaped to ``&gt;``) ending
in another character and a dot took 0.7 s at 5,000 characters, 18 s at 20,000, and
at the 262,144 characters a value may have, most of an hour, in one call no deadline
can stop.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

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


#: A Decimal the context holds (an amount) grown to a huge exponent, then made a whole
#: number: Python's Decimal-to-int conversion took 35 s for an exponent of 999,990
#: (scaleb), 9.5 s for v ** 400000, 4 s for '%d'.
DECIMALS = {
    "scaleb then int": "v.scaleb(999990)|int > 0",
    "power then int": "(v ** 400000)|int > 0",
    "printf %d": "('%d' % v.scaleb(300000))|length",
    "format_timedelta": "v.scaleb(999990)|format_timedelta",
}


@pytest.mark.parametrize("expression", DECIMALS.values(), ids=DECIMALS.keys())
def test_a_decimal_past_what_a_number_may_hold_is_refused_where_it_is_made(
    make: Callable[..., Renderer], expression: str
) -> None:
    renderer = make({"promo/en/sms.txt": "Hi\n{{ " + expression + " }} STOP"})
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {"v": Decimal("12.50")})
    problem = caught.value.problem
    assert problem.line == 2, problem
    assert "would make a number of" in problem.message, problem


def test_everyday_decimals_are_untouched(make: Callable[..., Renderer]) -> None:
    body = "{{ (v * 3)|round(1) }} {{ (v ** 2)|int }} {{ '%d' % v }} {{ v.scaleb(2)|int }} STOP"
    renderer = make({"promo/en/sms.txt": body})
    text = renderer.render("promo", "sms", "en", {"v": Decimal("12.50")}).text
    assert text == "37.5 156 12 1250 STOP"
