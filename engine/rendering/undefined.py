"""Strict undefined values whose error names the field a typo most likely meant.

Templates see plain data, so ``{{ customer.frist_name }}`` looks a key up in a dict;
Jinja says ``'dict object' has no attribute 'frist_name'``, and a marketer is left to
guess the right name. Where the object has a key close to the one written, the message
adds ``; did you mean 'first_name'?``; otherwise it stays as Jinja words it.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping

from jinja2 import StrictUndefined


class HintedUndefined(StrictUndefined):
    """:class:`~jinja2.StrictUndefined`, its message ending in a guess when there is one."""

    __slots__ = ()

    @property
    def _undefined_message(self) -> str:
        message: str = super()._undefined_message
        owner, name = self._undefined_obj, self._undefined_name
        if self._undefined_hint is None and isinstance(owner, Mapping) and isinstance(name, str):
            keys = [key for key in owner if isinstance(key, str)]
            close = difflib.get_close_matches(name, keys, n=1, cutoff=0.75)
            if close:
                message += f"; did you mean {close[0]!r}?"
        return message
