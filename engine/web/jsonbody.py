"""The API's request bodies as JSON, with their nesting bounded.

Python's parser follows nesting until its recursion limit (about a thousand levels),
so a body of brackets would otherwise be refused as "not valid JSON" (or, a little
shallower, be accepted and walked by every check after it). No request of the API
needs more than a few levels: :data:`MAX_DEPTH` is far above that, and a body nested
deeper is refused saying so. Numbers with a fraction are read as :class:`Decimal`, so
an amount keeps its digits.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

#: The deepest nesting of arrays and objects a request body may have.
MAX_DEPTH = 64
TOO_DEEP = f"the body's JSON is nested too deep (at most {MAX_DEPTH} levels of arrays and objects)"


class BadBody(ValueError):
    """A body that is not JSON, or is nested deeper than :data:`MAX_DEPTH`."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def depth(value: Any) -> int:
    """How many arrays and objects deep ``value`` goes (0 for a string or a number)."""
    deepest = 0
    pending: list[tuple[Any, int]] = [(value, 0)]
    while pending:
        item, level = pending.pop()
        if isinstance(item, dict):
            pending.extend((member, level + 1) for member in item.values())
        elif isinstance(item, list):
            pending.extend((member, level + 1) for member in item)
        else:
            continue
        deepest = max(deepest, level + 1)
    return deepest


def parse_body(raw: bytes) -> Any:
    """``raw`` parsed, or :class:`BadBody` saying why it cannot be."""
    try:
        value = json.loads(raw, parse_float=Decimal)
    except RecursionError:
        raise BadBody(TOO_DEEP) from None
    except ValueError:
        raise BadBody("the body is not valid JSON") from None
    if depth(value) > MAX_DEPTH:
        raise BadBody(TOO_DEEP)
    return value
