"""The API's request bodies as JSON, with their nesting bounded.

Python's parser follows nesting until its recursion limit (about a thousand levels),
so a body of brackets would otherwise be refused as "not valid JSON" (or, a little
shallower, be accepted and walked by every check after it). No request of the API
needs more than a few levels: :data:`MAX_DEPTH` is far above that, and a body nested
deeper is refused saying so. A key repeated in one object is refused too, naming it.
Numbers with a fraction are read as :class:`Decimal`, so an amount keeps its digits.
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


class _RepeatedKey(Exception):
    """Raised from inside the parser, which would take a ValueError for bad syntax."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """An object whose keys are all different: which of two values a parser keeps is
    the parser's choice (Python's the last, others the first), so a body repeating a
    key (``{"id": "C1", "id": "C2"}``) means nothing certain and is refused."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise _RepeatedKey(key)
            seen.add(key)
    return value


def parse_body(raw: bytes) -> Any:
    """``raw`` parsed, or :class:`BadBody` saying why it cannot be."""
    try:
        value = json.loads(raw, parse_float=Decimal, object_pairs_hook=_object)
    except RecursionError:
        raise BadBody(TOO_DEEP) from None
    except _RepeatedKey as repeated:
        key = json.dumps(repeated.key, ensure_ascii=False)
        raise BadBody(f"the body's JSON repeats the key {key} in one object") from None
    except ValueError:
        raise BadBody("the body is not valid JSON") from None
    if depth(value) > MAX_DEPTH:
        raise BadBody(TOO_DEEP)
    return value
