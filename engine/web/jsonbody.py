"""The API's request bodies as JSON, with their nesting bounded.

Python's parser follows nesting until its recursion limit (about a thousand levels),
so a body of brackets would otherwise be refused as "not valid JSON" (or, a little
shallower, be accepted and walked by every check after it). No request of the API
needs more than a few levels: :data:`MAX_DEPTH` is far above that, and a body nested
deeper is refused saying so. A key repeated in one object is refused too, naming it.
Numbers with a fraction are read as :class:`Decimal`, so an amount keeps its digits.

A body is UTF-8 (RFC 8259 8.1; a leading byte order mark is skipped): Python's parser
guesses UTF-16 or UTF-32 from the first bytes of ``bytes``, so such a body was read.
The provider webhooks (:mod:`~rapport.engine.web.webhook_auth`) read with
``constants=False``: ``NaN`` and ``Infinity`` are not JSON numbers, refused as a 400.
The API reads them here and refuses them as a 422 naming the field.
"""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from rapport.engine.core.jsonkeys import RepeatedKey, unique_keys, unreadable

#: The deepest nesting of arrays and objects a request body may have.
MAX_DEPTH = 64
TOO_DEEP = f"the body's JSON is nested too deep (at most {MAX_DEPTH} levels of arrays and objects)"
NOT_UTF8 = "the body is not UTF-8 (JSON is sent as UTF-8)"


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


class _Constant(Exception):
    """``NaN``, ``Infinity`` or ``-Infinity``, met by a parse that refuses them."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


def _refuse_constant(name: str) -> Any:
    raise _Constant(name)


def utf8_text(raw: bytes) -> str:
    """``raw`` as UTF-8 text, or :class:`BadBody`. JSON text starts with ASCII
    characters, so a NUL byte among the first four is UTF-16 or UTF-32 (RFC 4627 3),
    which is otherwise valid UTF-8 when it holds only ASCII characters and no byte order
    mark."""
    if b"\x00" in raw[:4]:
        raise BadBody(NOT_UTF8)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise BadBody(NOT_UTF8) from None


def parse_body(raw: bytes, *, constants: bool = True) -> Any:
    """``raw`` parsed, or :class:`BadBody` saying why it cannot be; with
    ``constants=False`` a ``NaN`` or ``Infinity`` is refused too."""
    text = utf8_text(raw)
    hooks: dict[str, Any] = {} if constants else {"parse_constant": _refuse_constant}
    try:
        value = json.loads(text, parse_float=Decimal, object_pairs_hook=unique_keys, **hooks)
    except RecursionError:
        raise BadBody(TOO_DEEP) from None
    except RepeatedKey as repeated:
        key = json.dumps(repeated.key, ensure_ascii=False)
        raise BadBody(f"the body's JSON repeats the key {key} in one object") from None
    except _Constant as constant:
        raise BadBody(f"the body's JSON holds {constant.name}, not a JSON number") from None
    except json.JSONDecodeError:
        raise BadBody("the body is not valid JSON") from None
    except ValueError as long:  # valid JSON, but a whole number longer than Python reads
        raise BadBody(f"the body's JSON holds {unreadable(long)}") from None
    if depth(value) > MAX_DEPTH:
        raise BadBody(TOO_DEEP)
    return value
