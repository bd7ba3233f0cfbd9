"""A template that goes past its budget for three messages in a row is refused without
rendering, for a while: not for the life of the process.

The renderer lives as long as the daemon. Overruns used to add up forever: a template
looping over a customer's order lines, over its budget for three customers with huge
orders in a month (or three renders on a machine paused mid-render), was refused for
every customer after, until someone restarted the daemon.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rapport.engine.rendering.budget import Limits
from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.overruns import REFUSAL_SECONDS
from rapport.engine.rendering.renderer import Renderer

#: n * n loop iterations: n = 600 is over a 4 MB budget (16 bytes each), n = 1 is not.
LOOPS = "Hi\n{% for i in range(n) %}{% for j in range(n) %}{% endfor %}{% endfor %}STOP"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def renderer(make: Callable[..., Renderer], clock: Clock) -> Renderer:
    return make({"promo/en/sms.txt": LOOPS}, limits=Limits(max_memory_mb=4), clock=clock)


def over(renderer: Renderer) -> None:
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", {"n": 600})
    assert "refused without rendering" not in str(caught.value)


def test_overruns_between_rendered_messages_do_not_add_up(make: Callable[..., Renderer]) -> None:
    clock = Clock()
    renders = renderer(make, clock)
    for _ in range(5):
        over(renders)
        clock.now += 86400
        assert renders.render("promo", "sms", "en", {"n": 1}).text == "Hi\nSTOP"


def test_a_refused_template_is_tried_again_after_a_while(make: Callable[..., Renderer]) -> None:
    clock = Clock()
    renders = renderer(make, clock)
    for _ in range(3):
        over(renders)
    clock.now += REFUSAL_SECONDS - 1
    with pytest.raises(TemplateProblemError) as caught:
        renders.render("promo", "sms", "en", {"n": 1})  # would fit; not tried yet
    assert "refused without rendering after 3 messages went over" in str(caught.value)
    clock.now += 1
    assert renders.render("promo", "sms", "en", {"n": 1}).text == "Hi\nSTOP"
