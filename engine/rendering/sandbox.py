"""The sandbox a marketer's template runs in, and the caps on what it may spend.

Templates are written by marketers, so they are treated as untrusted code: they run
in Jinja's ``ImmutableSandboxedEnvironment``, see only plain data (see
:mod:`rapport.engine.rendering.plain`), and every part's output is capped in size
(:data:`MAX_OUTPUT_CHARS`, ``template_limits.max_output_chars``). What a message may
spend besides its output, time and memory, is its
:class:`~rapport.engine.rendering.budget.Budget`: loops and macros check the deadline
(:mod:`~rapport.engine.rendering.codegen`), and whatever could build a value far
larger than its inputs (repetition, powers, padding, joins) is measured before it
runs (:mod:`~rapport.engine.rendering.guards`).

Only ``.html`` files are auto-escaped; blocks are trimmed
(``trim_blocks``/``lstrip_blocks``) so plain-text templates can use ``{% if %}``
lines without leaving blank lines behind, and ``None`` prints as nothing rather than
as ``None``.

Speed: one environment per template locale (never one per message, never overlays:
an overlay shares its parent's globals, so per-locale data would leak between them),
templates compiled once and never evicted or reloaded (``auto_reload`` is off, so a
changed file is read again only after a restart), dict keys read without a failed
attribute lookup first (:meth:`Sandbox.getattr`), and output joined in batches
rather than chunk by chunk (:func:`render_capped`).
"""

from __future__ import annotations

import os
import types
from collections.abc import Callable, Mapping
from decimal import Decimal
from functools import update_wrapper
from itertools import islice
from typing import Any

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    Template,
    TemplateError,
    nodes,
    pass_eval_context,
    select_autoescape,
)
from jinja2.exceptions import SecurityError, TemplateSyntaxError
from jinja2.filters import do_indent
from jinja2.loaders import split_template_path
from jinja2.nodes import EvalContext
from jinja2.parser import Parser
from jinja2.runtime import Context
from jinja2.sandbox import (
    ImmutableSandboxedEnvironment,
    SandboxedEscapeFormatter,
    SandboxedFormatter,
)
from jinja2.utils import generate_lorem_ipsum
from markupsafe import Markup, escape

from rapport.engine.rendering import budget
from rapport.engine.rendering.budget import DEFAULT_LIMITS, Budget, Limits
from rapport.engine.rendering.codegen import BudgetedCodeGenerator
from rapport.engine.rendering.guards import Guards
from rapport.engine.rendering.undefined import HintedUndefined
from rapport.engine.rendering.zhe import zhe

__all__ = ["MAX_OUTPUT_CHARS", "Sandbox", "new_environment", "render_capped"]

#: Characters one template part may produce. Far above any real message, low enough
#: that a runaway loop cannot fill the outbox or the process's memory.
MAX_OUTPUT_CHARS = 100_000
#: Output chunks taken at a time while a part renders, before its size is checked. The
#: shipped parts yield 2 to 40 chunks, so a message's part is one batch; a runaway
#: loop is stopped at most this many chunks past the cap.
_CHUNKS = 64


#: Bytes a template file may hold. The shipped e-mails are under 5 KB; compiling a
#: 256 KB template of the wrong shape takes seconds and hundreds of megabytes, before
#: any render's budget applies.
MAX_TEMPLATE_BYTES = 32 * 1024


class TemplateRefused(OSError, TemplateError):
    """A template file the loader will not read; the message says why, and ``lineno``
    the line of the file at fault when there is one.

    Not a ``TemplateNotFound``: the file is there, so ``{% include ... ignore missing
    %}`` must not skip it without a word (a footer saved in Latin-1 was dropped from
    every message)."""

    lineno: int | None = None

    def __init__(self, name: str, message: str) -> None:
        super().__init__(message)
        self.name = name


class TemplateOutsideFolder(TemplateRefused):
    """A template file that is not a regular file inside the templates folder."""


class TemplateFileTooLarge(TemplateRefused):
    """A template file larger than :data:`MAX_TEMPLATE_BYTES`."""


class TemplateNotUtf8(TemplateRefused):
    """A template file that is not UTF-8 (saved as Latin-1 or Windows-1252, say)."""

    def __init__(self, template: str, error: UnicodeDecodeError) -> None:
        data = error.object
        self.lineno = data.count(b"\n", 0, error.start) + 1
        byte = data[error.start : error.start + 1].hex()
        super().__init__(
            template,
            f"byte 0x{byte} is not UTF-8: save the file as UTF-8 (templates are read as "
            "UTF-8; an editor's 'Latin-1' or 'Windows-1252' writes accented letters so)",
        )


class ConfinedLoader(FileSystemLoader):
    """Loads only regular files that really lie inside the templates folder.

    Jinja's loader already refuses ``..`` in a name, but follows symbolic links: a
    link in ``templates/`` to ``/etc/passwd`` or a neighbour's folder would be read and
    rendered into messages. Each file is resolved and checked before it is opened.
    """

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.root = os.path.realpath(root)

    def get_source(
        self, environment: Environment, template: str
    ) -> tuple[str, str, Callable[[], bool]]:
        # Checked before Jinja opens it: a link to /dev/zero must not even be read.
        path = os.path.join(self.root, *split_template_path(template))
        if os.path.lexists(path):
            real = os.path.realpath(path)
            if os.path.commonpath([real, self.root]) != self.root or not os.path.isfile(real):
                raise TemplateOutsideFolder(
                    template,
                    f"{template}: a link leading out of the templates folder (or not a "
                    "regular file); a template must be a regular file inside it",
                )
            budget.tick()  # a template compiled while a message renders counts against it
            size = os.stat(real).st_size
            if size > MAX_TEMPLATE_BYTES:
                raise TemplateFileTooLarge(
                    template,
                    f"{template}: {size:,} bytes; a template file may hold at most "
                    f"{MAX_TEMPLATE_BYTES:,}",
                )
        try:
            source, filename, uptodate = super().get_source(environment, template)
        except UnicodeDecodeError as exc:
            raise TemplateNotUtf8(template, exc) from None
        # An editor's "UTF-8 with BOM" marks the file's encoding; U+FEFF is no part of
        # the message (it made every SMS UCS-2 and opened every subject).
        return source.removeprefix("\ufeff"), filename, uptodate


class MixedEscaping(SecurityError):
    """An HTML template naming a text template to include, extend or import, or the
    reverse: Jinja escapes by each file's own name, so the text one's output would
    enter the HTML unescaped (or the HTML one's escaped output the text)."""


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus the render's budget (see
    :mod:`~rapport.engine.rendering.budget`).

    The output cap only sees what a template prints, and nothing else in Jinja's
    sandbox bounds time or memory: operators that can multiply a value (``*``,
    ``**``, ``+``, ``%``), calls of str and bytes methods, every filter and ``lipsum``
    are checked by :class:`~rapport.engine.rendering.guards.Guards` before they run,
    and loops and macros tick (:mod:`~rapport.engine.rendering.codegen`).
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})
    code_generator_class = BudgetedCodeGenerator

    def __init__(self, max_chars: int, limits: Limits = DEFAULT_LIMITS, **options: Any) -> None:
        super().__init__(**options)
        self.max_chars = max_chars
        self.limits = limits
        self.guards = Guards(limits)
        self._lookups = 0  # see getitem
        self.globals["lipsum"] = self.guards.lipsum(generate_lorem_ipsum)

    # Hooks the compiled templates call (see codegen.py).
    tick = staticmethod(budget.tick)
    ticking = staticmethod(budget.ticking)
    output_buffer = budget.OutputBuffer

    def kept(self, value: Any) -> Any:
        return self.guards.kept(value)

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        """Jinja's parse, with a number too long for Python a syntax error at its line:
        the lexer's ``int()`` of 4,301 digits or more raised a bare ValueError, which
        left validate and plan as an unexpected error."""
        parser = Parser(self, source, name, filename)
        try:
            tree = parser.parse()
        except ValueError as exc:
            reason = str(exc).split(";", 1)[0]  # not Python's advice to raise the limit
            raise TemplateSyntaxError(
                f"this number is too long to read ({reason}); write a shorter one",
                parser.stream.current.lineno,
                name,
                filename,
            ) from None
        if callable(self.autoescape) and self.autoescape(name):
            _keeps_escaping(tree, name, filename)
        return tree

    def join_path(self, template: str, parent: str) -> str:
        """The name an ``{% include %}``, ``{% extends %}`` or ``{% import %}`` in
        ``parent`` loads, refused when one of the two escapes its output and the other
        does not (see :class:`MixedEscaping`): a ``.txt`` partial in an ``email.html``
        printed a customer's name into the HTML as markup."""
        escapes = self.autoescape
        if (
            callable(escapes)
            and isinstance(template, str)
            and bool(escapes(template)) != bool(escapes(parent))
        ):
            if escapes(parent):
                raise MixedEscaping(
                    f"{template!r} is not an .html template: an .html template may "
                    "include, extend or import only .html templates (a text template's "
                    "output is not escaped, so a customer's name in it would be HTML)"
                )
            raise MixedEscaping(
                f"{template!r} is an .html template: a text template may include, extend "
                "or import only .txt templates (an .html template's output is escaped: "
                "& would read &amp; in plain text)"
            )
        return template

    def getitem(self, obj: Any, argument: Any) -> Any:
        """``s[i:]`` makes a new string or list: charged like any other value.

        Filters given an attribute path (``sort(attribute='a.b')``, ``map``,
        ``groupby``, ``sum``, ``min``/``max``, ``unique``, ``selectattr``) look up
        each of its names on each item here, inside one call no loop ticks: so every
        :data:`_LOOKUPS_PER_CHECK` lookups the deadline is checked too
        (``range(100000)|sort(attribute='real.' * 50 ~ 'real')`` ran 25 s past 1 s).
        The count is shared by the environment's threads; a lost increment only
        delays a check.
        """
        self._lookups = lookups = self._lookups + 1
        if not lookups % _LOOKUPS_PER_CHECK:
            budget.in_time()
        value = super().getitem(obj, argument)
        return self.guards.made(value, "this slice") if type(argument) is slice else value

    def literal(self, value: Any) -> Any:
        """A list, tuple or dict written in the template, measured as it is made."""
        return self.guards.literal(value)

    def concat_parts(self, parts: tuple[Any, ...]) -> tuple[Any, ...]:
        self.guards.concat(parts)
        return parts

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``customer.first_name`` on a plain dict: the key, without the failed lookup first.

        The sandbox tries ``getattr(obj, name)`` and falls back to ``obj[name]`` only
        after an ``AttributeError``, so every dotted name in a template (nearly all of
        them read the context's dicts) paid for raising and catching an exception. A
        plain ``dict`` has no attribute beyond ``dir(dict)``, so for any other name the
        sandbox's answer is the key or undefined, exactly as returned here; the names
        of dict's own attributes (``items``, ``__class__``) still take the sandbox's
        path with its safety checks.

        A key named like one of dict's methods is the key: the context documents
        ``last_order.items`` (the order's lines), which the sandbox's attribute-first
        lookup gave as ``dict.items``, so a loop over it failed for every customer.
        ``offer.items()`` still calls the method where no key has that name.
        """
        if type(obj) is dict:
            if attribute in obj:
                return obj[attribute]
            if attribute not in _DICT_ATTRIBUTES:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        self.guards.binop(operator, left, right)
        result = super().call_binop(context, operator, left, right)
        if operator == "**" and not isinstance(result, Decimal):  # an int's bits were checked
            return result
        return self.guards.made(result, f"this {operator}")

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        guards = __self.guards
        if (
            getattr(__obj, "__name__", None) == "join"
            and args
            and not isinstance(args[0], list | tuple)
        ):
            args = (list(budget.ticking(args[0])), *args[1:])
        checked = guards.method(__obj, args, kwargs)
        result = super().call(__context, __obj, *args, **kwargs)
        return result if checked else guards.made(result, "this call")

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        """Jinja's sandboxed ``str.format``, with each field measured before it is
        padded (see :class:`_MeasuredFormatter`)."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or (
            value.__name__ not in ("format", "format_map")
        ):
            return None
        template = value.__self__
        if not isinstance(template, str):
            return None
        is_format_map = value.__name__ == "format_map"
        str_type: type[str] = type(template)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            formatter: SandboxedFormatter = (
                _MeasuredEscapeFormatter(self, template, escape=template.escape)
                if isinstance(template, Markup)
                else _MeasuredFormatter(self, template)
            )
            if is_format_map:
                if kwargs or len(args) != 1:
                    raise TypeError("format_map() takes exactly one argument, no keywords")
                kwargs, args = args[0], ()
            return str_type(formatter.vformat(template, args, kwargs))

        return update_wrapper(wrapper, value)


class _MeasuredFormatter(SandboxedFormatter):
    """Jinja's sandboxed formatter, counting what each field will print before it is
    formatted, so ``'{:>1000000000}'.format(x)`` is refused before it pads."""

    _env: Sandbox

    def __init__(self, env: Sandbox, template: str, **kwargs: Any) -> None:
        super().__init__(env, **kwargs)
        self.total = [len(template)]

    def format_field(self, value: Any, format_spec: str) -> Any:
        self._env.guards.format_field(format_spec, value, self.total)
        return super().format_field(value, format_spec)


class _MeasuredEscapeFormatter(_MeasuredFormatter, SandboxedEscapeFormatter):
    pass


#: Lookups by :meth:`Sandbox.getitem` between two readings of the render's deadline:
#: a lookup that fails over to an attribute takes about 10 us, so 256 of them 3 ms.
_LOOKUPS_PER_CHECK = 256

#: What ``getattr`` can find on a plain dict: its own and ``object``'s attributes.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def _keeps_escaping(tree: nodes.Template, name: str | None, filename: str | None) -> None:
    """Refuse what turns escaping off in an HTML template: ``|safe`` prints its value as
    markup and ``{% autoescape false %}`` a whole block, so a customer named
    ``<a href=...>`` (or any value that reaches them) would be HTML in the e-mail."""
    for node in tree.find_all(nodes.Filter):
        if node.name == "safe":
            raise TemplateSyntaxError(
                "the safe filter is not allowed in an .html template: it prints its value "
                "as HTML, so a customer's name or any value reaching it would be markup; "
                "write the markup in the template itself",
                node.lineno,
                name,
                filename,
            )
    for modifier in tree.find_all(nodes.EvalContextModifier):
        for keyword in modifier.options:
            value = keyword.value
            if keyword.key == "autoescape" and not (
                isinstance(value, nodes.Const) and value.value is True
            ):
                raise TemplateSyntaxError(
                    "autoescape may not be turned off in an .html template: every value "
                    "it prints is escaped, so a customer's name is never markup",
                    modifier.lineno,
                    name,
                    filename,
                )


@pass_eval_context
def _safe_outside_html(eval_ctx: EvalContext, value: Any) -> Markup:
    """Jinja's ``safe``, refused where output is escaped: :func:`_keeps_escaping` finds
    ``|safe`` written in an .html template, but ``map('safe')`` (its name a string,
    made at run time too) reached it all the same and printed a customer's name as
    markup."""
    if eval_ctx.autoescape:
        raise SecurityError(
            "the safe filter is not allowed in an .html template: it prints its value as "
            "HTML, so a customer's name or any value reaching it would be markup"
        )
    return Markup(value)


@pass_eval_context
def _indent(
    eval_ctx: EvalContext, s: str, width: int | str = 4, first: bool = False, blank: bool = False
) -> str:
    """Jinja's ``indent``, with a string ``width`` escaped where output is: Jinja
    makes it markup when ``s`` is, so ``x|e|indent(customer.first_name)`` printed the
    name as HTML."""
    if eval_ctx.autoescape and isinstance(width, str):
        width = escape(width)
    return do_indent(s, width, first, blank)


def new_environment(
    loader: BaseLoader,
    max_chars: int,
    filters: Mapping[str, Callable[..., str]],
    limits: Limits = DEFAULT_LIMITS,
) -> Sandbox:
    """The sandboxed environment for one template folder, with that folder's filters
    (Jinja's and ours, each checked and charged by the environment's guards)."""
    env = Sandbox(
        max_chars,
        limits,
        loader=loader,
        undefined=HintedUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        auto_reload=False,
        optimized=False,  # no filter runs at compile time, outside the budget
        cache_size=-1,  # never evict: an evicted template would be compiled again
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(filters)
    env.filters["safe"] = _safe_outside_html
    env.filters["indent"] = _indent
    env.filters["zhe"] = zhe
    env.filters = env.guards.filters(env.filters)
    env.tests = env.guards.tests(env.tests)
    return env


def render_capped(template: Template, context: Mapping[str, Any], cap: int) -> str | None:
    """The template's output, or None as soon as it passes ``cap`` characters.

    What ``Template.render`` does (a new context, the compiled root function, the
    traceback rewritten to point at template lines), except that the output is
    taken :data:`_CHUNKS` chunks at a time and measured after each batch, so a
    runaway loop is stopped a batch past the cap rather than filling memory. The
    cap is a memory guard, so it must hold while the output is produced, not only
    once it is complete; batches keep that guard out of Python's per-chunk loop.
    """
    env = template.environment
    limits = env.limits if isinstance(env, Sandbox) else Limits()
    with budget.spending(limits) as spent:
        return _render_batches(template, context, cap, spent)


def _render_batches(
    template: Template, context: Mapping[str, Any], cap: int, spent: Budget
) -> str | None:
    try:
        # new_context merges the mapping into a fresh dict, as Template.render's copy did.
        jinja_context = template.new_context(context)  # type: ignore[arg-type]
        chunks = template.root_render_func(jinja_context)
        batch = list(islice(chunks, _CHUNKS))
        if len(batch) < _CHUNKS:  # the whole output in one batch: measure it joined
            text = "".join(batch)
            if len(text) <= cap:
                return text
        else:
            size = sum(map(len, batch))
            parts = batch
            while size <= cap:
                spent.tick()
                batch = list(islice(chunks, _CHUNKS))
                size += sum(map(len, batch))
                parts += batch
                if len(batch) < _CHUNKS:
                    if size <= cap:
                        return "".join(parts)
                    break
    except Exception:
        template.environment.handle_exception()
    return None
