"""How much of a value Python walks when it prints, compares or serialises it.

A list may hold the same list many times: ``[a] * 1000`` costs a thousand references,
but printing it, comparing it (``x in b``), summing or serialising it walks ``a`` a
thousand times, inside one C call that no deadline can interrupt. So a template's
values are measured by their *reach*: the size of the value as a tree, each shared
part counted every time it appears. Strings count their characters, containers one
plus what each item reaches (a namespace its attributes, a cycler its items, a dict
view the dict's keys or values), anything else one. The guards keep every value a
template makes within :attr:`~rapport.engine.rendering.budget.Limits.max_value_chars`
of reach, and so every walk of it within that many steps.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from jinja2.utils import Cycler, Namespace

__all__ = ["reach"]

#: Nesting deeper than this counts as past any limit (Python's own printing and
#: comparison would fail on it with a RecursionError anyway).
MAX_DEPTH = 200


def reach(value: Any, limit: int) -> int:
    """``value``'s size as a tree, or ``limit + 1`` as soon as it is known to pass
    ``limit`` (a value that contains itself, or nests past :data:`MAX_DEPTH`, too).

    Each distinct container is measured once, so a list of a million references to
    one list costs a million steps, not a million times that list.
    """
    known: dict[int, int] = {}
    walking: set[int] = set()
    over = limit + 1

    def walk(item: Any, depth: int) -> int:
        if isinstance(item, str | bytes):
            return len(item) or 1
        if isinstance(item, Namespace):
            item = getattr(item, "_Namespace__attrs", {})
        elif isinstance(item, Cycler):
            item = item.items
        if isinstance(item, range):
            return len(item) or 1
        if not isinstance(item, Collection):  # dict views and the like are walked too
            return 1
        key = id(item)
        if key in known:
            return known[key]
        if key in walking or depth > MAX_DEPTH:
            return over
        walking.add(key)
        total = 1
        pieces = (
            (piece for pair in item.items() for piece in pair)
            if isinstance(item, Mapping)
            else item
        )
        for piece in pieces:
            total += walk(piece, depth + 1)
            if total > limit:
                total = over
                break
        walking.discard(key)
        known[key] = total
        return total

    return walk(value, 0)
