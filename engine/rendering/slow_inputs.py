"""Inputs that would hold one call for minutes, in C code the render's deadline cannot
interrupt (see :class:`~rapport.engine.rendering.guards.Guards`): a long word given to
``urlize``, whose time grows with the square of the word, and a ``Decimal`` with a huge
exponent (an amount's ``scaleb(999990)``, ``v ** 400000``), whose conversion to a whole
number (``|int``, ``'%d'``, ``format_timedelta``) took 35 s.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from decimal import Decimal
from typing import Any

from markupsafe import escape

from rapport.engine.rendering.budget import TemplateTooSlow

__all__ = ["MAX_URLIZE_WORD", "WHOLE_NUMBERS", "check_urlize", "number_bits"]

#: Characters (once HTML-escaped) of the longest word ``urlize`` may be given. Its
#: search for trailing punctuation (``([)>.,\n]|&gt;)+$``) is tried from every
#: position of a word: 5,000 dots took 0.7 s, 20,000 took 18 s. A link or an address
#: is far shorter; 2,000 characters take about 0.1 s.
MAX_URLIZE_WORD = 2000


def check_urlize(guards: object, arguments: MutableMapping[str, Any]) -> None:
    """Refuse ``urlize`` on a text with a word longer than :data:`MAX_URLIZE_WORD`."""
    longest = max(map(len, str(escape(arguments["value"])).split()), default=0)
    if longest > MAX_URLIZE_WORD:
        raise TemplateTooSlow(
            f"the urlize filter on a word of {longest:,} characters could take minutes "
            "(its time grows with the square of a word's length); a word, a run of "
            f"characters without spaces, may have at most {MAX_URLIZE_WORD:,} characters "
            "for urlize"
        )


#: What :func:`number_bits` measures: what Python converts to a whole number exactly.
WHOLE_NUMBERS = (int, Decimal)


def number_bits(value: int | Decimal) -> int:
    """The bits of an integer, or of the whole number as large as a finite Decimal (by
    its exponent, either way: 1E-999990 prints as many digits), measured without
    converting it."""
    if isinstance(value, int):
        return value.bit_length()
    if not value.is_finite():
        return 0
    return (abs(value.adjusted()) + 1) * 3322 // 1000  # log2(10) bits a digit
