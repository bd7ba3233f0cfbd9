"""The plain-data check: a template sees dicts, lists, strings, numbers and dates only.

Callers pass plain data only (dicts, lists, strings, numbers, ``Decimal``, dates),
never ORM objects: a live entity would let a template trigger lazy database loads,
and plain data is what makes a render cheap and side-effect free. The renderer
refuses anything else with :class:`~rapport.engine.rendering.errors.ContextError`,
walking the context first (:func:`check_plain`), unless it is a :class:`PlainContext`:
one whose builder checked the values it took from outside as it built it, as
:func:`~rapport.engine.planning.context.message_context` does (:func:`plain_context`).
Walking every value of every message would cost about a tenth of a render.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from rapport.engine.rendering.errors import ContextError

__all__ = ["PlainContext", "check_plain", "plain_context"]

_PLAIN_SCALARS = (str, int, float, Decimal, date, time, timedelta, type(None))
#: The exact types :func:`_plainly_built` accepts without the full walk: those of
#: ``_PLAIN_SCALARS``, plus the two subclasses contexts hold (bool and datetime).
_PLAIN_EXACT = frozenset(
    {str, int, bool, float, Decimal, date, datetime, time, timedelta, type(None)}
)
#: Containers :func:`_plainly_built` looks into before it leaves the verdict to the
#: full walk: a real context has about ten, and a cycle must not loop forever.
_PLAIN_CONTAINERS = 10_000


def check_plain(value: Any, path: str = "context") -> None:
    """Refuse anything but plain data, so no template can reach a live object.

    Runs before every render, so the common case is one cheap pass over the exact
    types :func:`~rapport.engine.planning.context.message_context` builds (a few microseconds
    a message); only a value outside them (a subclass, another mapping type, or a
    live object) takes the full walk, which accepts or refuses it as before and
    names where the offending value sits.
    """
    if not _plainly_built(value):
        _walk_plain(value, path)


def _plainly_built(value: Any) -> bool:
    """True if ``value`` is dicts with string keys, lists and tuples of exact plain types.

    False means "not proven here", not "refused": :func:`_walk_plain` decides.
    """
    pending = [value]
    budget = _PLAIN_CONTAINERS
    while pending:
        node = pending.pop()
        kind = type(node)
        budget -= 1
        if budget < 0:
            return False
        if kind is dict:
            for key, item in node.items():
                if type(key) is not str:
                    return False
                if type(item) not in _PLAIN_EXACT:
                    pending.append(item)
        elif kind is list or kind is tuple:
            for item in node:
                if type(item) not in _PLAIN_EXACT:
                    pending.append(item)
        elif kind not in _PLAIN_EXACT:
            return False
    return True


def _walk_plain(value: Any, path: str) -> None:
    if isinstance(value, _PLAIN_SCALARS):
        return
    if isinstance(value, Mapping):
        for key, item in value.items():
            if not isinstance(key, str):
                raise ContextError(f"{path}: keys must be strings, not {type(key).__name__}")
            _walk_plain(item, f"{path}.{key}")
        return
    if isinstance(value, list | tuple):
        for index, item in enumerate(value):
            _walk_plain(item, f"{path}[{index}]")
        return
    raise ContextError(f"{path}: {type(value).__name__} is not plain data")


class PlainContext(dict[str, Any]):
    """A template context already checked to be plain data where it was built.

    :meth:`Renderer.render` walks any other mapping with :func:`check_plain` before
    rendering; walking every value of every message costs about a tenth of a render,
    and the builder knows better which values came from outside. Made only by
    :func:`plain_context`; treat it as read-only, since nothing added later is checked.
    """

    __slots__ = ()


def plain_context(context: Mapping[str, Any], parts: Iterable[Any]) -> PlainContext:
    """``context`` as a :class:`PlainContext`, once ``parts`` are found to be plain data.

    ``parts`` must hold every value of ``context`` that its builder did not make itself
    out of plain values: whatever it copied from a profile, a decision, a campaign or
    the settings. A scalar of an exact plain type passes at once and a dict or list is
    walked; anything else sends the whole context through :func:`check_plain`, which
    accepts it (a ``str`` subclass, say) or raises :class:`ContextError` naming the key.
    """
    for part in parts:
        kind = type(part)
        if kind in _PLAIN_EXACT or ((kind is dict or kind is list) and _plainly_built(part)):
            continue
        check_plain(context)
        break
    return PlainContext(context)
