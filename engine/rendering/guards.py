"""Size checks made before a template's operation allocates its result.

The sandbox asks :class:`Guards` before it runs anything whose result can be far
larger than its inputs: repetition and powers, padding to a width
(``center``/``ljust``/``zfill``, printf and ``str.format`` widths and precisions),
``replace``, ``join``, ``expandtabs``, ``translate``, ``int.to_bytes``, the
``indent``/``wordwrap``/``batch``/``slice``/``tojson`` filters and ``lipsum``. Each
predicts the result's size from its arguments and refuses with
:class:`~rapport.engine.rendering.budget.TemplateTooLarge` when it would be longer
than one value may be, or when it would take the render past its memory budget, so
``'a'|center(10**9)`` is refused at the cost of reading two numbers, not after a
gigabyte has been allocated. Everything else a template calls is bounded by its
inputs and is charged after the fact (:meth:`Guards.made`).
"""

from __future__ import annotations

import codecs
import inspect
import math
import re
from collections.abc import Callable, KeysView, Mapping, MutableMapping, Sequence, ValuesView
from functools import wraps
from typing import Any

from jinja2.utils import Cycler, Namespace

from rapport.engine.rendering import budget
from rapport.engine.rendering.budget import (
    PER_ITEM,
    WIDE,
    Limits,
    TemplateTooLarge,
    TemplateTooSlow,
)
from rapport.engine.rendering.reach import reach
from rapport.engine.rendering.slow_inputs import WHOLE_NUMBERS, check_urlize, number_bits

__all__ = ["MAX_INT_BITS", "Guards"]

#: A printf conversion: ``%(name)-08.3f``, widths and precisions as digits or ``*``.
_PRINTF = re.compile(
    r"%(?:\([^)]*\))?[-#0 +]*(?P<width>\*|\d+)?(?:\.(?P<precision>\*|\d+))?[hlL]?"
    r"[diouxXeEfFgGcrsa%]"
)
_DIGITS = re.compile(r"\d+")
#: The first parameter of a filter Jinja passes its context or environment to.
_PASSED_NAMES = frozenset({"context", "eval_ctx", "environment"})
#: Padding methods of str and bytes: the result is as long as the width asked for.
_PADDING = frozenset({"center", "ljust", "rjust", "zfill"})
#: Bits an integer a template makes may have: more than any real figure, and more
#: than Python would ever print (it refuses to print over 4,300 digits).
MAX_INT_BITS = 1 << 16
#: Strings shorter than this are not charged where they are made (see Guards.made).
_SHORT = 4096
#: Codecs written in Python whose time grows with the square of the text (idna runs
#: punycode on each label), and the characters (or bytes) they may take: a domain
#: name's 253 fit, and no deadline can stop one call once it has started.
_QUADRATIC_CODECS = frozenset({"punycode", "idna"})
MAX_QUADRATIC_CODEC_CHARS = 256
#: Characters squared over the width that one wordwrap may take: textwrap copies the
#: rest of a word (or of a run of spaces) longer than the width for every piece it
#: breaks off, so 131,072 spaces at width 1 took 3.5 s; this bound is about 0.2 s.
MAX_WORDWRAP_STEPS = 1 << 30
#: Values a literal may hold that reach no further than themselves.
_SCALARS = frozenset({int, float, bool, type(None)})
#: What :func:`~rapport.engine.rendering.reach.reach` measures item by item.
_CONTAINERS = (list, tuple, dict, set, frozenset, Namespace, Cycler, KeysView, ValuesView)


class Guards:
    """The checks for one environment; the per-value size comes from its limits."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.max_chars = limits.max_value_chars

    # ------------------------------------------------------------- the checks

    def size(self, count: int, what: str, *, wide: bool = True, items: bool = False) -> None:
        """Refuse ``what`` if it would be ``count`` characters (or list ``items``) long;
        otherwise charge for it."""
        if count > self.max_chars:
            unit = "items" if items else "characters"
            raise TemplateTooLarge(
                f"{what} would make {count:,} {unit}; a value in a template may have at "
                f"most {self.max_chars:,} (template_limits.max_memory_mb x 4096)"
            )
        each = PER_ITEM if items else WIDE if wide else 1
        budget.charge(count * each, what)

    def made(self, value: Any, what: str) -> Any:
        """Charge for a value already made, by an operation bounded by its inputs.

        A short string (nearly every filter's result) is let through uncharged: it is
        freed as soon as it is printed, and where it is kept, in a block's output or
        grown into a longer value by ``+`` or ``~``, it is charged there.
        """
        budget.in_time()  # one expression may call many filters: the deadline holds there too
        if type(value) is str and len(value) < _SHORT:
            return value
        if len_of(value) > _SHORT:  # a big value: has the process grown past the budget?
            budget.grown()
        if isinstance(value, _CONTAINERS):
            self.reaching(value, what)
        elif isinstance(value, str | bytes) and len(value) > self.max_chars:
            self.size(len(value), what)
        elif isinstance(value, WHOLE_NUMBERS) and (bits := number_bits(value)) > MAX_INT_BITS:
            self.integer_bits(bits, what)
        budget.charge(budget.size_of(value), what)
        return value

    def kept(self, value: Any) -> Any:
        """A value set on a namespace (``{% set ns.x = ... %}``): measured like a
        literal, since a namespace can hold the same parts many times over."""
        if isinstance(value, _CONTAINERS):
            self.reaching(value, "this namespace attribute")
        return value

    def reaching(self, value: Any, what: str) -> int:
        """Refuse a container that reaches more than a value may (see reach.py)."""
        size = reach(value, self.max_chars)
        if size > self.max_chars:
            raise TemplateTooLarge(
                f"{what} would make a value of more than {self.max_chars:,} characters "
                "and items, counting each repeated part every time it appears "
                "(template_limits.max_memory_mb x 4096)"
            )
        return size

    def literal(self, value: Any) -> Any:
        """A list, tuple or dict literal: ``[b, b, b]`` reaches three times ``b``.

        Nearly every literal in a real template holds only strings and numbers (``x in
        ('a', 'b')``): their reach is counted here directly, without the walk."""
        if len(value) > 1:
            total = len(value)
            items = (*value.keys(), *value.values()) if type(value) is dict else value
            for item in items:
                kind = type(item)
                if kind is str:
                    total += len(item)
                elif kind not in _SCALARS:
                    self.reaching(value, "this literal")
                    return value
            if total > self.max_chars:
                self.reaching(value, "this literal")
        return value

    def integer_bits(self, bits: int, what: str) -> None:
        if bits > MAX_INT_BITS:
            raise TemplateTooLarge(f"{what} would make a number of {bits:,} bits")

    def printf(self, template: str, args: Any) -> None:
        """``template % args`` (and the ``format`` filter): widths are counted first."""
        values = list(args.values()) if isinstance(args, Mapping) else args
        longest = (
            max(map(_length_of, values), default=0)
            if isinstance(values, tuple | list)
            else _length_of(values)
        )
        total = len(template)
        for match in _PRINTF.finditer(_without_keys(template)):
            total += longest
            for number in (match["width"], match["precision"]):
                if number == "*":
                    raise TemplateTooLarge(
                        "a width or precision taken from the arguments (*) is not "
                        "allowed in a template; write the number in the format"
                    )
                if number:
                    total += (len(number) > 9 and self.max_chars + 1) or int(number)
        self.size(total, "this % format", wide=_wide(template, args))

    def binop(self, operator: str, left: Any, right: Any) -> None:
        """``*``, ``**``, ``+`` and ``%``, checked before Python evaluates them."""
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple | bytes) and isinstance(count, int):
                    items = isinstance(seq, list | tuple)
                    each = self.reaching(seq, "this repetition") - 1 if items else len(seq)
                    made = each * max(count, 0) + int(items)  # a list reaches itself too
                    self.size(made, "this repetition", wide=_wide(seq), items=items)
                    return
            if isinstance(left, int) and isinstance(right, int):
                self.integer_bits(left.bit_length() + right.bit_length(), "this product")
        elif operator == "**":
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                self.integer_bits(left.bit_length() * right, "this power")
        elif operator == "+":
            if isinstance(left, str | list | tuple | bytes) and isinstance(right, type(left)):
                items = isinstance(left, list | tuple)
                made = (
                    self.reaching(left, "this sum") + self.reaching(right, "this sum")
                    if items
                    else len(left) + len(right)
                )
                self.size(made, "this sum", wide=_wide(left, right), items=items)
        elif operator == "%" and isinstance(left, str):
            self.printf(left, right)

    def concat(self, parts: Sequence[Any]) -> Sequence[Any]:
        """The parts of a ``~`` chain, measured before they are joined."""
        total = 0
        for part in parts:
            total += len(part) if isinstance(part, str) else len(str(part))
        if total > 4096:  # short joins (nearly all of them) are not worth charging
            self.size(total, "this ~ concatenation", wide=not all(map(_ascii, parts)))
        return parts

    def format_field(self, spec: str, value: Any, total: list[int]) -> None:
        """A ``str.format`` field's width, precision and value, before it is padded;
        ``total`` is what the format's earlier fields came to."""
        total[0] += _length_of(value)
        for number in _DIGITS.findall(spec):
            total[0] += self.max_chars + 1 if len(number) > 9 else int(number)
        self.size(total[0], "this str.format", wide=True)

    def method(self, obj: Any, args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> bool:
        """Check a call of a str, bytes or int method before it runs; True if checked
        (the result need not be charged again)."""
        owner = getattr(obj, "__self__", None)
        name = getattr(obj, "__name__", "")
        if isinstance(owner, str | bytes):
            what = f"{name}()"
            wide = _wide(owner)
            if name in _PADDING:
                width = _argument(args, kwargs, 0, "width", 0)
                fill = _argument(args, kwargs, 1, "fillchar", " ")
                self.size(max(len(owner), _int(width)), what, wide=wide or _wide(fill))
            elif name == "expandtabs":
                tabsize = _int(_argument(args, kwargs, 0, "tabsize", 8))
                tabs = owner.count("\t") if isinstance(owner, str) else owner.count(b"\t")
                self.size(len(owner) + tabs * max(tabsize, 0), what, wide=wide)
            elif name == "replace":
                self._replace(owner, args, kwargs)
            elif name == "join":
                self.join(owner, args[0] if args else (), what)
            elif name in ("encode", "decode"):
                self._codec(owner, args, kwargs, what)
                return False  # the result is charged as it is made
            elif name == "translate":
                table = _argument(args, kwargs, 0, "table", None)
                values = (
                    table.values()
                    if isinstance(table, Mapping)
                    else table
                    if isinstance(table, list | tuple)
                    else ()
                )
                if not isinstance(table, Mapping | list | tuple | str | bytes):
                    raise TemplateTooLarge("translate() takes a dict, list or string table")
                longest = max((len(v) for v in values if isinstance(v, str | bytes)), default=1)
                self.size(len(owner) * max(longest, 1), what)
            else:
                return False
            return True
        if isinstance(owner, int) and name == "to_bytes":
            self.size(_int(_argument(args, kwargs, 0, "length", 1)), "to_bytes()", wide=False)
            return True
        return False

    def join(self, separator: Any, items: Any, what: str) -> None:
        """A join of sized items (a list or tuple; the caller makes one of an iterator)."""
        if isinstance(items, list | tuple) and isinstance(separator, str | bytes):
            total = sum(len(i) if isinstance(i, str | bytes) else 16 for i in items)
            self.size(total + len(separator) * max(len(items) - 1, 0), what, wide=True)

    def _codec(
        self, owner: str | bytes, args: tuple[Any, ...], kwargs: Mapping[str, Any], what: str
    ) -> None:
        """``encode``/``decode`` with a quadratic codec, checked on the text's length."""
        encoding = _argument(args, kwargs, 0, "encoding", "utf-8")
        if not isinstance(encoding, str):
            return  # the call refuses it itself
        try:
            codec = codecs.lookup(encoding).name
        except LookupError:
            return  # likewise
        if codec in _QUADRATIC_CODECS and len(owner) > MAX_QUADRATIC_CODEC_CHARS:
            raise TemplateTooSlow(
                f"{what} with {codec} may take at most {MAX_QUADRATIC_CODEC_CHARS} "
                f"characters, this text has {len(owner):,} (its time grows with the "
                "square of the text's length)"
            )

    def _replace(
        self, owner: str | bytes, args: tuple[Any, ...], kwargs: Mapping[str, Any]
    ) -> None:
        old = _argument(args, kwargs, 0, "old", "")
        new = _argument(args, kwargs, 1, "new", "")
        count = _int(_argument(args, kwargs, 2, "count", -1))
        if not isinstance(old, str | bytes) or not isinstance(new, str | bytes):
            return  # str.replace refuses it itself
        found = len(owner) + 1 if not old else owner.count(old)  # type: ignore[arg-type]
        if count >= 0:
            found = min(found, count)
        grown = len(owner) + found * max(len(new) - len(old), 0)
        self.size(grown, "replace()", wide=_wide(owner, new))

    # --------------------------------------------------------- filters, globals

    def filters(self, filters: Mapping[str, Callable[..., Any]]) -> dict[str, Callable[..., Any]]:
        """Every filter, wrapped: the multiplying ones checked first, all charged after."""
        return {name: self._filter(name, fn) for name, fn in filters.items()}

    def _filter(self, name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        check = _FILTER_CHECKS.get(name)
        what = f"the {name} filter"
        made = self.made
        if check is None:

            @wraps(fn)
            def charged(*args: Any, **kwargs: Any) -> Any:
                return made(fn(*args, **kwargs), what)

            return charged
        signature = inspect.signature(fn)  # of the function Jinja's wrappers wrap
        # A filter Jinja passes a context or environment to gets it first; the
        # async-capable ones take it in their wrapper but not in the signature shown.
        passed = getattr(fn, "jinja_pass_arg", None) is not None
        skip = int(passed and next(iter(signature.parameters)) not in _PASSED_NAMES)

        @wraps(fn)
        def checked(*args: Any, **kwargs: Any) -> Any:
            bound = signature.bind(*args[skip:], **kwargs)
            bound.apply_defaults()
            check(self, bound.arguments)
            return made(fn(*args[:skip], *bound.args, **bound.kwargs), what)

        return checked

    def tests(self, tests: Mapping[str, Any]) -> dict[str, Any]:
        """Every test, checking the deadline first: ``select``, ``reject`` and their
        ``attr`` forms call a test per item inside one expression, where no loop ticks
        (``range(100000)|select('in', a_long_list)`` ran for 40 s)."""
        return {name: _timed(fn) for name, fn in tests.items()}

    def lipsum(self, fn: Callable[..., str]) -> Callable[..., str]:
        """``lipsum(n, html, min, max)``: at most n * max words of about 12 characters."""

        @wraps(fn)
        def bounded(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
            self.size(_int(n) * _int(max) * 12, "lipsum()", wide=False)
            return fn(n, html, min, max)

        return bounded


def _timed(fn: Callable[..., Any]) -> Callable[..., Any]:
    in_time = budget.in_time

    @wraps(fn)  # keeps jinja_pass_arg: a test Jinja passes its context to still gets it
    def timed(*args: Any, **kwargs: Any) -> Any:
        in_time()
        return fn(*args, **kwargs)

    return timed


def _filter_indent(guards: Guards, a: MutableMapping[str, Any]) -> None:
    text, width = str(a["s"]), a["width"]
    prefix = len(width) if isinstance(width, str) else _int(width)
    guards.size(len(text) + (text.count("\n") + 1) * prefix, "the indent filter")


def _filter_wordwrap(guards: Guards, a: MutableMapping[str, Any]) -> None:
    text, wrap = str(a["s"]), a["wrapstring"] or "\n"
    width = max(_int(a["width"]), 1)
    if len(text) ** 2 > width * MAX_WORDWRAP_STEPS:
        raise TemplateTooSlow(
            f"the wordwrap filter on {len(text):,} characters at width {width} could take "
            "seconds (its time grows with the square of the text over the width); a text "
            f"may have at most {math.isqrt(width * MAX_WORDWRAP_STEPS):,} characters at "
            "this width"
        )
    guards.size(len(text) * (1 + len(str(wrap))), "the wordwrap filter")


def _filter_center(guards: Guards, a: MutableMapping[str, Any]) -> None:
    guards.size(max(len(str(a["value"])), _int(a["width"])), "the center filter")


def _filter_format(guards: Guards, a: MutableMapping[str, Any]) -> None:
    guards.printf(str(a["value"]), a["kwargs"] or a["args"])


def _filter_replace(guards: Guards, a: MutableMapping[str, Any]) -> None:
    count = a["count"]
    guards._replace(str(a["s"]), (a["old"], a["new"], -1 if count is None else count), {})


def _filter_join(guards: Guards, a: MutableMapping[str, Any]) -> None:
    if not isinstance(a["value"], list | tuple):
        a["value"] = list(a["value"])  # consumed once, by the check and then the join
    if a["attribute"] is None:
        guards.join(str(a["d"]), a["value"], "the join filter")


def _filter_pieces(guards: Guards, a: MutableMapping[str, Any]) -> None:
    pieces = a.get("linecount", a.get("slices"))
    if _int(pieces) > guards.max_chars:
        guards.size(_int(pieces), "a batch or slice filter", items=True)


def _filter_tojson(guards: Guards, a: MutableMapping[str, Any]) -> None:
    indent = a["indent"]
    if indent is not None and (len(indent) if isinstance(indent, str) else _int(indent)) > 16:
        raise TemplateTooLarge("tojson's indent may be at most 16")


def _filter_sum(guards: Guards, a: MutableMapping[str, Any]) -> None:
    if not isinstance(a["start"], int | float):  # a list start is a quadratic C loop
        raise TemplateTooLarge("sum's start must be a number; join lists with + instead")


def _filter_round(guards: Guards, a: MutableMapping[str, Any]) -> None:
    if abs(_int(a["precision"])) > 400:  # 10**precision is computed
        raise TemplateTooLarge("round's precision may be at most 400 digits either way")


_FILTER_CHECKS: dict[str, Callable[[Guards, MutableMapping[str, Any]], None]] = {
    "indent": _filter_indent,
    "wordwrap": _filter_wordwrap,
    "center": _filter_center,
    "format": _filter_format,
    "replace": _filter_replace,
    "batch": _filter_pieces,
    "slice": _filter_pieces,
    "tojson": _filter_tojson,
    "join": _filter_join,
    "round": _filter_round,
    "sum": _filter_sum,
    "urlize": check_urlize,
}


def _without_keys(template: str) -> str:
    """A %-format with each ``%(key)`` written ``%``: Python ends a key at the
    parenthesis that balances its opening one, so a key may hold parentheses."""
    if "%(" not in template:
        return template
    out, index = [], 0
    while (start := template.find("%(", index)) >= 0:
        out.append(template[index : start + 1])
        depth, at = 1, start + 2
        while at < len(template) and depth:
            depth += {"(": 1, ")": -1}.get(template[at], 0)
            at += 1
        index = at
    out.append(template[index:])
    return "".join(out)


def len_of(value: Any) -> int:
    try:
        return len(value)
    except TypeError:
        return 0


def _argument(
    args: tuple[Any, ...], kwargs: Mapping[str, Any], index: int, name: str, default: Any
) -> Any:
    if len(args) > index:
        return args[index]
    return kwargs.get(name, default)


def _int(value: Any) -> int:
    """A size argument as the number Python would use (a float as its whole part, an
    infinite one as past any limit); anything else counts as 0 (the call itself then
    refuses it)."""
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value) if math.isfinite(value) else 1 << 62
    return 0


def _ascii(value: Any) -> bool:
    return value.isascii() if isinstance(value, str | bytes) else True


def _wide(*values: Any) -> bool:
    return not all(_ascii(v) for v in values)


def _length_of(value: Any) -> int:
    """About how long ``value`` prints, without printing it: a string its length, a
    number its digits, a container eight characters for each thing it reaches."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 2
    if isinstance(value, float):
        return 24
    if isinstance(value, _CONTAINERS):
        return 8 * reach(value, 1 << 30)
    return 64
