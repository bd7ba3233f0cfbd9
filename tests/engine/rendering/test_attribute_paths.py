"""Filters that look up an attribute path on every item (``sort(attribute=...)``,
``map(attribute=...)``, ``groupby``, ``sum``, ``min``/``max``, ``unique``,
``selectattr``) stay within the render's time limit.

Such a filter is one call that runs the sandbox's lookup once per item and per dot of
the path, with no loop to tick in between: ``range(100000)|sort(attribute='real.' * 50
~ 'real')`` ran for 25 s past a 1 s limit, and a longer path for hours.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from rapport.engine.rendering.errors import TemplateProblemError
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.rendering.sandbox import Sandbox

#: 20,000 items and a path of 21 names: 420,000 lookups for each filter. Both come
#: from the context, so nothing before the filter reads the clock.
CONTEXT = {"items": list(range(20000)), "path": ".".join(["real"] * 21)}
FILTERS = {
    "sort": "items|sort(attribute=path)|length",
    "map": "items|map(attribute=path)|list|length",
    "groupby": "items|groupby(path)|list|length",
    "sum": "items|sum(attribute=path)",
    "max": "items|max(attribute=path)",
    "unique": "items|unique(attribute=path)|list|length",
    "selectattr": "items|selectattr(path)|list|length",
}


class PastDeadline:
    """A clock read once when the budget opens, and past its deadline ever after."""

    def __init__(self) -> None:
        self.readings = 0

    def __call__(self) -> float:
        self.readings += 1
        return 1000.0 if self.readings == 1 else 2000.0


@pytest.mark.parametrize("expression", FILTERS.values(), ids=FILTERS.keys())
def test_an_attribute_path_per_item_stops_at_the_deadline(
    make: Callable[..., Renderer], monkeypatch: pytest.MonkeyPatch, expression: str
) -> None:
    renderer = make({"promo/en/sms.txt": "Hi\n{{ " + expression + " }} STOP"}, clock=PastDeadline())
    lookups = [0]
    getitem = Sandbox.getitem

    def counted(self: Sandbox, obj: Any, argument: Any) -> Any:
        lookups[0] += 1
        return getitem(self, obj, argument)

    monkeypatch.setattr(Sandbox, "getitem", counted)
    with pytest.raises(TemplateProblemError) as caught:
        renderer.render("promo", "sms", "en", CONTEXT)
    problem = caught.value.problem
    assert problem.line == 2, problem
    assert problem.message.startswith("rendering took longer than 1 s"), problem
    # Stopped within a few hundred lookups of the deadline, not after all 420,000.
    assert lookups[0] <= 1024, f"{lookups[0]:,} lookups after the deadline"
