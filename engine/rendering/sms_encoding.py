"""How many SMS segments a text costs: GSM-7 versus UCS-2, and concatenation.

Carriers bill and deliver text messages by the segment, and the encoding decides the
size of a segment. A text made only of characters of the GSM 03.38 default alphabet
travels as 7-bit GSM: 160 septets in a single message. One character outside that
alphabet (a curly quote from a word processor, an emoji, any Persian or Chinese
letter) switches the *whole* message to UCS-2: 70 UTF-16 code units. A longer text
is split into concatenated segments, each losing room to the 6-byte header that
puts them back together: 153 septets or 67 code units per segment.

Two details make a naive ``ceil(len / 153)`` wrong, and both are what providers do:

- the characters of the GSM extension table (``^ { } \\ [ ~ ] | €`` and form feed)
  are an escape septet plus one, so they count two, and the pair is never split
  across two segments;
- UCS-2 counts UTF-16 code units, so a character outside the Basic Multilingual
  Plane (an emoji, a rare CJK ideograph) counts two, and its surrogate pair is never
  split across two segments either.

So segments are counted by packing characters into segments the way a sender
splits the text, not by dividing a length.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

__all__ = [
    "GSM7_BASIC",
    "GSM7_EXTENSION",
    "Encoding",
    "SMSCount",
    "count_sms",
    "non_gsm_characters",
    "sms_encoding",
]

Encoding = Literal["GSM-7", "UCS-2"]

#: The GSM 03.38 default alphabet (one septet each), including LF and CR.
#: (The 128th code, 0x1B, is the escape to the extension table, not a character.)
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
#: The GSM 03.38 extension table: each is sent as escape + septet, so it counts two.
GSM7_EXTENSION = frozenset("^{}\\[~]|€\f")

#: (single-message capacity, capacity of each concatenated segment), in units.
_CAPACITY: dict[Encoding, tuple[int, int]] = {"GSM-7": (160, 153), "UCS-2": (70, 67)}


class SMSCount(NamedTuple):
    """What a text costs: its encoding, its length in units, its segment count.

    ``units`` are septets for GSM-7 (extension characters count two) and UTF-16 code
    units for UCS-2 (characters outside the BMP count two).
    """

    encoding: Encoding
    units: int
    segments: int


def non_gsm_characters(text: str) -> list[str]:
    """The distinct characters that force ``text`` into UCS-2, in order of appearance."""
    return list(dict.fromkeys(c for c in text if c not in GSM7_BASIC and c not in GSM7_EXTENSION))


def sms_encoding(text: str) -> Encoding:
    """GSM-7 when every character is in the GSM alphabet (basic or extension), else UCS-2."""
    for char in text:
        if char not in GSM7_BASIC and char not in GSM7_EXTENSION:
            return "UCS-2"
    return "GSM-7"


def _unit_sizes(text: str, encoding: Encoding) -> list[int]:
    if encoding == "GSM-7":
        return [2 if c in GSM7_EXTENSION else 1 for c in text]
    return [2 if ord(c) > 0xFFFF else 1 for c in text]


def count_sms(text: str) -> SMSCount:
    """Encoding, units and segments of ``text`` as one SMS (split when it is too long).

    >>> count_sms("Hello")
    SMSCount(encoding='GSM-7', units=5, segments=1)
    >>> count_sms("سلام")
    SMSCount(encoding='UCS-2', units=4, segments=1)

    An empty text still costs one segment: the carrier sends a message all the same.
    """
    encoding = sms_encoding(text)
    sizes = _unit_sizes(text, encoding)
    units = sum(sizes)
    single, per_segment = _CAPACITY[encoding]
    if units <= single:
        return SMSCount(encoding, units, 1)
    segments, used = 1, 0
    for size in sizes:
        if used + size > per_segment:  # never split an escape pair or a surrogate pair
            segments, used = segments + 1, 0
        used += size
    return SMSCount(encoding, units, segments)
