"""Checks for Jinja filters whose time grows with the square of one word of their
input, made before the filter runs (see :class:`~rapport.engine.rendering.guards.Guards`):
a single filter call is C code the render's deadline cannot interrupt.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from markupsafe import escape

from rapport.engine.rendering.budget import TemplateTooSlow

__all__ = ["MAX_URLIZE_WORD", "check_urlize"]

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
