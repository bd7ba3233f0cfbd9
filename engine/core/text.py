"""Text a database can store, checked before it is written; text a terminal can show.

PostgreSQL's ``text`` cannot hold a NUL character (``DataError``, which failed a whole
batch), and neither database can hold a lone surrogate (``"\\ud800"`` in JSON), which
is not UTF-8 at all. SQLite keeps a NUL, but it cuts C strings and mail headers short.
Input is refused with a pointer to the value (never the value itself: it may be
personal data), so both databases accept the same data; and text made from stored
data (a rendered message) is checked again before it is written, so a value stored
before this check existed fails one customer's message, never a whole batch.

What was typed by customers or imported is shown on an operator's terminal through
:func:`printable` (and JSON through :func:`json_for_terminal`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: How deep :func:`find_unstorable` looks into nested JSON (the parsers bound depth too).
MAX_DEPTH = 64


def unstorable(text: str) -> str | None:
    """Why ``text`` cannot be stored (a short reason without the text), or None."""
    if "\x00" in text:
        return "contains a NUL character"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "contains a lone surrogate (not a Unicode character)"
    return None


def find_unstorable(value: Any, path: tuple[str, ...] = ()) -> tuple[tuple[str, ...], str] | None:
    """The first string in a JSON value (objects, arrays, strings, numbers) that cannot
    be stored, as (path of keys and indexes, reason); None when all can be. A bad key
    is reported at the object holding it."""
    if isinstance(value, str):
        reason = unstorable(value)
        return None if reason is None else (path, reason)
    if len(path) > MAX_DEPTH:
        return None
    if isinstance(value, dict):
        for key, item in value.items():
            if isinstance(key, str) and (reason := unstorable(key)) is not None:
                return path, f"has a key that {reason}"
            found = find_unstorable(item, (*path, str(key)))
            if found is not None:
                return found
    elif isinstance(value, list | tuple):
        for index, item in enumerate(value):
            found = find_unstorable(item, (*path, str(index)))
            if found is not None:
                return found
    return None


#: C0 controls but tab and newline, DEL and C1 controls: a terminal acts on them.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
#: Bidi embeddings, overrides, isolates and marks: they reorder what a terminal shows.
_BIDI = re.compile(r"[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")
#: What json.dumps(ensure_ascii=False) writes raw that a terminal would act on, and lone
#: UTF-16 surrogates (a JSON source's "\ud800"), which no UTF-8 output can write.
_JSON_RAW = re.compile(r"[\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def clipped(text: str, limit: int = 64) -> str:
    """``text`` cut to its first ``limit`` characters, marked with '...' when it was
    longer: a name taken from a file (a column, a JSON key) shown in a message."""
    return text if len(text) <= limit else text[:limit] + "..."


def printable(text: str) -> str:
    """``text`` safe to print on a terminal: a control character (C0 but tab and
    newline, DEL, C1) is shown as its escape, ``\\x1b``; a bidi control as ``<U+202E>``.
    For what was typed by customers or imported (comments, ids, consent sources), so
    it cannot move the cursor, recolour or clear the operator's terminal, nor reorder
    what is shown around it.

    >>> printable("ok\\x1b[2J \\u202egnp.exe")
    'ok\\\\x1b[2J <U+202E>gnp.exe'
    """
    text = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


_SURROGATE = re.compile(r"[\ud800-\udfff]")


def escaped_surrogates(text: str) -> str:
    """``text`` with each lone UTF-16 surrogate (a key a JSON body wrote as ``"\\ud800"``,
    which no UTF-8 text can hold) written as that escape, six characters: a message
    quoting it can then be sent."""
    return _SURROGATE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_for_terminal(text: str) -> str:
    """JSON text (from ``json.dumps(ensure_ascii=False)``) with DEL, C1 and bidi
    controls and lone surrogates, which JSON leaves raw, written as ``\\u`` escapes: the
    same document (outside strings JSON holds only ASCII), safe on a terminal."""
    return _JSON_RAW.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def json_pointer(parts: Iterable[str]) -> str:
    """RFC 6901: ``/a~1b/0`` for the keys ``a/b`` then ``0``."""
    return "".join("/" + part.replace("~", "~0").replace("/", "~1") for part in parts)


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun`` as English says them on a terminal: ``1 message``,
    ``0 messages``, ``2 entries`` (``plural`` when adding an s is wrong). The command
    line speaks English only; customers' messages are localized by their catalogs."""
    return f"{count} {noun if count == 1 else (plural or noun + 's')}"


#: The opt-out keyword an SMS must name: STOP in capitals, as a word of its own. Not
#: inside a longer Latin word ("NONSTOP", "STOPPED" name no keyword), while any other
#: script may touch it ("回复STOP退订", "لغو: STOP").
_STOP_WORD = re.compile(r"(?<![A-Za-z])STOP(?![A-Za-z])")


def names_stop(text: str) -> bool:
    """Whether ``text`` names the opt-out keyword STOP (see :data:`_STOP_WORD`)."""
    return _STOP_WORD.search(text) is not None
