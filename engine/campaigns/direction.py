"""A right-to-left subject or SMS that starts left to right: a warning of validation.

A phone or a mail client lays a plain text out in the direction of its first strong
letter (Unicode's paragraph level), so a Persian or Arabic SMS that starts with the
brand, a Latin name or a code ("Rapport: تولدتان مبارک ...") is shown left to right,
its words in scrambled order (docs/localization.md, "A right-to-left text starts with a
right-to-left letter"). Subjects and SMS are one paragraph each and have no ``dir``
attribute to set, hence the check on those two parts. A subject's bidi marks do not
count: the MIME writer removes every bidi control from headers
(:func:`rapport.channels.mime.strip_bidi_controls`), a leading U+200F included.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from babel import Locale, UnknownLocaleError

from rapport.engine.core.errors import Problem
from rapport.engine.rendering.locales import language
from rapport.engine.rendering.renderer import EMAIL_SUBJECT, SMS_TEXT

__all__ = ["left_to_right_start"]

#: What the MIME writer removes from a header: embeddings, overrides, isolates, marks.
_BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069\u200e\u200f\u061c]")
#: A template line that prints nothing itself: only statements, comments, blanks.
_STATEMENT_ONLY = re.compile(r"^(?:\{%.*?%\}|\{#.*?#\}|\s)*$")
_WHAT = {EMAIL_SUBJECT: ("subject", "a mail client"), SMS_TEXT: ("SMS", "a phone")}


def left_to_right_start(
    part: str, locale: str, output: str, file: str, source: str
) -> Problem | None:
    """A warning when ``output``, the ``part`` of a right-to-left ``locale`` rendered
    for the sample customer, starts with a left-to-right letter; else None."""
    what = _WHAT.get(part)
    if what is None or not _right_to_left(language(locale)):
        return None
    text = _BIDI_CONTROLS.sub("", output) if part == EMAIL_SUBJECT else output
    start = _first_strong(text)
    if start is None or unicodedata.bidirectional(text[start]) != "L":
        return None
    word = re.match(r"[^\s:،,.!؟?]+", text[start:])
    shown = word.group() if word else text[start]
    name, reader = what
    message = (
        f"this {language(locale)} {name} starts with {shown!r}, in left-to-right letters: "
        f"{reader} lays the whole text out left to right and its words read out of order; "
        "start with a word of the language and put the name, brand or code after it "
        "(see docs/localization.md)"
    )
    return Problem(file, _first_printing_line(source), message)


@lru_cache(maxsize=64)
def _right_to_left(lang: str) -> bool:
    """Whether CLDR writes the language right to left (as product pages set ``dir``)."""
    try:
        return Locale.parse(lang).character_order == "right-to-left"
    except (UnknownLocaleError, ValueError):
        return False


def _first_strong(text: str) -> int | None:
    for index, char in enumerate(text):
        if unicodedata.bidirectional(char) in ("L", "R", "AL"):
            return index
    return None


def _first_printing_line(source: str) -> int | None:
    """The first line of the template that prints something of its own."""
    for number, line in enumerate(source.splitlines(), 1):
        if not _STATEMENT_ONLY.match(line):
            return number
    return None
