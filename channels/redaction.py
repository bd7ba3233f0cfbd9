"""What personal data looks like in free text: the one rule for provider replies and logs.

Provider replies (:func:`rapport.channels.base.redact_reply`) and every log line
(:mod:`rapport.engine.core.logs`) are masked with the same recognizers, defined here
once, so a number masked in one is masked in the other and a date left alone in one is
left alone in the other:

- a signed link token (itsdangerous: payload "." timestamp "." signature) -> ``[token]``;
- an e-mail address, IDN and dot-less hosts included (servers echo ``<bob@localhost>``)
  -> ``[email]``;
- a phone number -> ``[phone]``: 8 to 15 digits, written as people write them (see
  :func:`is_phone`), after a ``+`` with dots, slashes, no-break spaces or dashes
  between the groups too;

and nothing else. What Rapport itself writes in a log line survives: ISO dates and
date-times (``2026-11-23``, ``2026-11-23T10:00:00+03:30``), times, UUIDs, IPv4
addresses, customer ids (``C-1234``, ``B0000001``), message ids, counts, durations, the
planning lock's key, Unix timestamps.

>>> mask_personal("550 +98 912 123 4567 <sara@exämple.com>: no such number (2026-11-23)")
'550 [phone] <[email]>: no such number (2026-11-23)'
>>> mask_personal("lock 1380012112 held by C-1234 since 2026-11-23T10:00:00Z: 3 new")
'lock 1380012112 held by C-1234 since 2026-11-23T10:00:00Z: 3 new'
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["ADDRESS", "TOKEN", "is_phone", "mask_personal", "mask_phones"]

#: Signed link tokens (itsdangerous: payload "." timestamp "." signature).
TOKEN: Final = re.compile(r"[\w-]{10,}\.[\w-]{4,}\.[\w-]{20,}")
#: Anything shaped like an e-mail address, a host without a dot or with non-ASCII
#: letters included.
ADDRESS: Final = re.compile(r"[^\s<>()\[\]\"'`,;:@]+@[^\s<>()\[\]\"'`,;:@]+")

#: Number-like text that is never a phone number, tried first at each position so that
#: a phone candidate cannot start inside it.
_KEEP = (
    # UUIDs
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![\w-])"
    # ISO dates and date-times (also 2026.11.23, 2026/11/23), with time and offset
    r"|\d{4}[-./]\d\d[-./]\d\d(?:[T ]\d\d:\d\d(?::\d\d(?:[.,]\d+)?)?(?:Z|[+-]\d\d(?::?\d\d)?)?)?"
    r"(?!\d)"
    # IPv4 addresses
    r"|(?:\d{1,3}\.){3}\d{1,3}(?![\d.])"
)
#: Separators between the digit groups of a number written with a "+": a space, a
#: hyphen, brackets, and also dots, a slash, no-break and thin spaces and dashes
#: ("+33.1.23.45.67.89", "+49 30/1234567", text copied from a web page). The "+" says
#: it is a number, so what would be a decimal or a path without it is a number here.
_PLUS_SEPARATOR = r"[ ()./\-\u00a0\u2007\u2009\u202f\u2010-\u2015]"
#: A phone number candidate: a "+" then 8 to 15 digits with any of the separators
#: above; or 8 to 15 digits with the separators people put between them (a space, a
#: hyphen, brackets); or digit groups separated by dots ("415.555.2671"). Never inside
#: a word, a decimal or after a hyphen (the tail of an id such as ``C-12345678``),
#: never starting at a date. At most 15 digits are taken, so a number written just
#: before other digits is still masked (in part too much).
_CANDIDATE = (
    rf"(?<![\w.+-])\+\(?(?!{_KEEP})\d(?:{_PLUS_SEPARATOR}{{0,2}}\d){{7,14}}"
    rf"|(?<![\w.+-])\+?\(?(?!{_KEEP})\d(?:[ ()-]{{0,2}}\d){{7,14}}"
    r"|(?<![\w.+-])\d{2,4}(?:\.\d{2,4}){2,3}"
)
_NUMBERS: Final = re.compile(rf"(?P<keep>{_KEEP})|(?P<phone>{_CANDIDATE})(?!\w|\.\d)")


def is_phone(candidate: str) -> bool:
    """Whether number-like text reads as a phone number.

    It must have 8 to 15 digits, and one of: an international prefix (``+98 912 ...``,
    ``0098912...``), a national trunk prefix (``09121234567``, ``(212) 555-0187``),
    separators between digit groups (``415-555-2671``, ``138 0013 8000``,
    ``415.555.2671``), or, written as bare digits, the length of a number with its
    country code (11 to 15 digits: ``13800138000``, ``989121234567``) or of a national
    number without its trunk prefix (10 digits, the first 2-9: ``4155552671``,
    ``9121234567``). Bare runs of 8 or 9 digits, of 10 starting with 1 (Unix times,
    the planning lock's key) and of 16 or more are ids and counts.
    """
    digits = sum(c.isdigit() for c in candidate)
    if not 8 <= digits <= 15:
        return False
    if candidate.startswith("+"):
        return True
    if candidate.startswith("00"):
        return candidate[2:3] not in ("", "0")  # 00 then a country code, not zero padding
    if candidate.startswith("(") and ")" in candidate:
        return True  # (212) 555-0187
    if candidate.startswith("0"):
        return candidate[1:2] not in ("", "0")
    if not candidate.isdigit():
        return True  # grouped as people write numbers
    return digits >= 11 or (digits == 10 and candidate[0] != "1")


def _mask(match: re.Match[str]) -> str:
    found = match.group(0)
    if match.group("phone") is None:
        return found
    if found.startswith("(") and ")" not in found:  # an opening bracket, not an area code's
        return "(" + _mask_bare(found[1:])
    return _mask_bare(found)


def _mask_bare(found: str) -> str:
    return "[phone]" if is_phone(found) else found


def mask_phones(text: str) -> str:
    """``text`` with each phone number (see :func:`is_phone`) shown as ``[phone]``."""
    return _NUMBERS.sub(_mask, text)


def mask_personal(text: str) -> str:
    """``text`` with signed tokens, e-mail addresses and phone numbers masked."""
    text = TOKEN.sub("[token]", text)
    text = ADDRESS.sub("[email]", text)
    return mask_phones(text)
