"""Dangling separators: what an empty value leaves of a sentence built around it.

A template that writes ``Happy birthday, {{ customer.first_name }}!`` reads
"Happy birthday, !" to a customer without a first name, and
``{{ customer.full_name }}，生日快乐！`` starts with a comma ("，生日快乐！"). The fix is
in the template (the name and its comma inside ``{% if customer.first_name %}``), so
``rapport campaigns validate`` looks for the marks such a gap leaves in what it
renders for a synthetic customer without names (and the other optional values
absent) and warns at the template's line.

Only the shapes an emptied value leaves are looked for, and only in the lines of
output that the typical sample (every value present) does not produce as they are, so
a marketer's own punctuation is never blamed:

- a comma (``,`` ``，`` ``、`` ``،``) right before a closing mark or the end of a
  subject, SMS, title or heading: ``birthday, !``, ``together, : thank you``,
  ``We miss you, </title>``, ``恭喜您，！`` (unless the typical sample's title or
  heading in that place ends with a comma too: ``<h1>Hello,</h1>`` for
  ``<h1>Hi Alex,</h1>`` is a greeting);
- a comma that starts a line or follows the ``【signature】`` of a Chinese SMS:
  ``，生日快乐``, ``【Rapport】，生日快乐``;
- a space before a comma (``Hi , welcome``) or two commas in a row (``Alex, , hi``);
- "dear" with nothing after it: ``亲爱的，``, ``親愛的，``, ``尊敬的，``.

HTML is read as its text: styles, scripts and comments dropped, inline tags (``<bdi>``,
``<b>``, ``<a>`` ...) removed, other tags ending a line, so CSS such as
``h1, .title`` is never read as a sentence.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

__all__ = ["Dangling", "dangling_lines", "template_line"]

#: The comma of each shipped script: Latin, full-width Chinese, enumeration, Arabic.
_SEP = "[,\uff0c\u3001\u060c]"
#: What closes a clause or sentence, in the same scripts.
_CLOSE = "[!?.:;\uff01\uff1f\u3002\uff1a\uff1b\u061f\u061b]"
#: Spaces within a line (not line breaks).
_SPACE = "[ \t\u00a0\u3000]"
#: Stands for the end of a subject, an SMS, a ``<title>`` or a heading (a private-use
#: character: no message has it, and ``str.strip`` keeps it).
_UNIT_END = "\ue000"

_DANGLING = re.compile(
    "|".join(
        (
            rf"{_SEP}{_SPACE}*(?:{_CLOSE}(?![0-9])|{_UNIT_END})",
            rf"(?:^|\u3011){_SPACE}*{_SEP}",
            rf"(?<=\S){_SPACE}+{_SEP}",
            rf"{_SEP}{_SPACE}*{_SEP}",
            rf"(?:\u4eb2\u7231\u7684|\u89aa\u611b\u7684|\u5c0a\u656c\u7684){_SPACE}*{_SEP}",
        )
    ),
    re.MULTILINE,
)

_INVISIBLE = re.compile(r"<(style|script)\b.*?</\1\s*>|<!--.*?-->", re.DOTALL | re.IGNORECASE)
_UNIT_CLOSE = re.compile(r"</(?:title|h[1-6])\s*>", re.IGNORECASE)
_INLINE = re.compile(
    r"</?(?:a|abbr|b|bdi|bdo|code|em|font|i|small|span|strong|sub|sup|u)\b[^>]*>",
    re.IGNORECASE,
)
_TAG = re.compile(r"<[^>]*>")
_OPEN_END = re.compile(rf"{_SEP}{_SPACE}*{_UNIT_END}$")
#: Template syntax, to find a template line's own text.
_SYNTAX = re.compile(r"\{\{.*?\}\}|\{%.*?%\}|\{#.*?#\}")
#: A template line that puts a value (or a statement) beside a comma.
_BESIDE = re.compile(rf"{_SEP}{_SPACE}*\{{[{{%]|[}}%]\}}{_SPACE}*{_SEP}")


@dataclass(frozen=True, slots=True)
class Dangling:
    """A line of output with a dangling separator, as text and the raw line it is in."""

    text: str
    raw: str


def dangling_lines(output: str, *, markup: bool, whole: bool, typical: str) -> list[Dangling]:
    """The lines of ``output`` with a dangling separator that ``typical`` lacks.

    ``markup``: the output is HTML (read as its text). ``whole``: the output is one
    unit (a subject, an SMS), so a comma at its very end dangles too. ``typical`` is
    the same part rendered for the typical sample: a line it has as well was written
    that way, not left so by an empty value, and a title or heading it ends with a
    comma too ("Hi Alex," and "Hello,") is a greeting.
    """
    before = _lines(typical, markup=markup, whole=whole)
    seen = {text for text, _ in before}
    greetings = {i for i, text in enumerate(_units(before)) if _OPEN_END.search(text)}
    same_units = len(_units(before)) == len(_units(_lines(output, markup=markup, whole=whole)))
    found: list[Dangling] = []
    unit = -1
    for text, raw in _lines(output, markup=markup, whole=whole):
        if text.endswith(_UNIT_END):
            unit += 1
            if unit in greetings or not same_units:
                text = text.removesuffix(_UNIT_END)
        shown = text.removesuffix(_UNIT_END).strip()
        if text in seen or not _DANGLING.search(text) or any(shown == d.text for d in found):
            continue
        found.append(Dangling(shown, raw))
    return found


def template_line(source: str, dangling: Dangling) -> int | None:
    """The line of ``source`` most likely to have printed ``dangling``: one that puts a
    value beside a comma and shares the most text with the output line (tags and
    words). None when no line does, as when the text comes from a partial."""
    best, score = None, 0
    for number, text in enumerate(source.splitlines(), 1):
        if not _BESIDE.search(text):
            continue
        pieces = (piece.strip() for piece in _SYNTAX.split(text))
        shared = sum(len(piece) for piece in pieces if piece and piece in dangling.raw)
        if shared > score:
            best, score = number, shared
    return best


def _units(lines: list[tuple[str, str]]) -> list[str]:
    return [text for text, _ in lines if text.endswith(_UNIT_END)]


def _lines(output: str, *, markup: bool, whole: bool) -> list[tuple[str, str]]:
    """Each line of text (a subject, title or heading ending with the unit mark) and
    the line of raw output it is in."""
    if whole:
        output = output.rstrip() + _UNIT_END
    if markup:  # invisible parts blanked, their line breaks kept: raw lines stay raw
        output = _INVISIBLE.sub(lambda m: "\n" * m.group().count("\n"), output)
    found: list[tuple[str, str]] = []
    for raw in output.splitlines():
        text = raw
        if markup:
            text = _UNIT_CLOSE.sub(_UNIT_END + "\n", text)
            text = html.unescape(_TAG.sub("\n", _INLINE.sub("", text)))
        found.extend((line.strip(), raw) for line in text.splitlines() if line.strip())
    return found
