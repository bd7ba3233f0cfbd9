"""JSON objects whose keys all differ, for every JSON a user or a provider sends.

Which of two values a parser keeps for a key written twice is the parser's choice
(Python's the last, others the first), so ``{"text": "HELLO", "text": "STOP"}`` or an
import row ``{"id": "X1", "id": "X2"}`` means nothing certain: the API, the webhooks and
JSON Lines imports refuse it, each in its own words (naming :attr:`RepeatedKey.key`).
"""

from __future__ import annotations

import sys
from typing import Any


class RepeatedKey(Exception):
    """A key written twice in one object; raised from inside the parser, which would
    take a ValueError for bad syntax."""

    def __init__(self, key: str) -> None:
        super().__init__(key)
        self.key = key


def unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """The ``object_pairs_hook`` of :func:`json.loads` that raises :class:`RepeatedKey`."""
    value = dict(pairs)
    if len(value) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise RepeatedKey(key)
            seen.add(key)
    return value


def unreadable(error: ValueError | RecursionError) -> str:
    """What valid JSON Python's parser refused to read is: a whole number longer than it
    reads (``sys.get_int_max_str_digits``, 4300 digits; the one ValueError it raises
    that is not a :class:`json.JSONDecodeError`), or nesting past the recursion limit."""
    if isinstance(error, RecursionError):
        return "value too large"
    return f"a number of more than {sys.get_int_max_str_digits()} digits"
