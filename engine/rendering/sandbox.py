"""The sandbox a marketer's template runs in, and the cap on what it may print.

Templates are written by marketers, so they are treated as untrusted code: they run
in Jinja's ``ImmutableSandboxedEnvironment``, see only plain data (see
:mod:`rapport.engine.rendering.plain`), and every part's output is capped in size
(:data:`MAX_OUTPUT_CHARS`). The cap bounds memory, not time: nested loops that print
nothing are limited only by the sandbox's ``range`` cap, so ``rapport campaigns
validate`` (which renders everything) is where a slow template shows. Repetition and
powers (``'x' * 10**10``) are refused before they allocate, since the cap only sees
what is printed.

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
from collections.abc import Callable, Mapping
from itertools import islice
from typing import Any

from jinja2 import (
    BaseLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    select_autoescape,
)
from jinja2.exceptions import SecurityError
from jinja2.loaders import split_template_path
from jinja2.runtime import Context
from jinja2.sandbox import ImmutableSandboxedEnvironment

__all__ = ["MAX_OUTPUT_CHARS", "Sandbox", "new_environment", "render_capped"]

#: Characters one template part may produce. Far above any real message, low enough
#: that a runaway loop cannot fill the outbox or the process's memory.
MAX_OUTPUT_CHARS = 100_000
#: Output chunks taken at a time while a part renders, before its size is checked. The
#: shipped parts yield 2 to 40 chunks, so a message's part is one batch; a runaway
#: loop is stopped at most this many chunks past the cap.
_CHUNKS = 64


class TemplateOutsideFolder(TemplateNotFound):
    """A template file that is not a regular file inside the templates folder."""


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
        return super().get_source(environment, template)


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, plus a guard on ``*`` and ``**``.

    The output cap only sees what a template prints; ``'x' * 10**10`` would allocate
    gigabytes before printing anything, so repetition and powers are checked first.
    """

    intercepted_binops = frozenset({"*", "**"})

    def __init__(self, max_chars: int, **options: Any) -> None:
        super().__init__(**options)
        self.max_chars = max_chars

    def getattr(self, obj: Any, attribute: str) -> Any:
        """``customer.first_name`` on a plain dict: the key, without the failed lookup first.

        The sandbox tries ``getattr(obj, name)`` and falls back to ``obj[name]`` only
        after an ``AttributeError``, so every dotted name in a template (nearly all of
        them read the context's dicts) paid for raising and catching an exception. A
        plain ``dict`` has no attribute beyond ``dir(dict)``, so for any other name the
        sandbox's answer is the key or undefined, exactly as returned here; the names
        of dict's own attributes (``items``, ``__class__``) still take the sandbox's
        path with its safety checks.
        """
        if type(obj) is dict and attribute not in _DICT_ATTRIBUTES:
            try:
                return obj[attribute]
            except LookupError:
                return self.undefined(obj=obj, name=attribute)
        return super().getattr(obj, attribute)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "*":
            for seq, count in ((left, right), (right, left)):
                if (
                    isinstance(seq, str | list | tuple)
                    and isinstance(count, int)
                    and len(seq) * count > self.max_chars
                ):
                    raise SecurityError("repetition would exceed the output size limit")
        elif (
            isinstance(left, int)
            and isinstance(right, int)
            and right > 0
            and left.bit_length() * right > 4 * self.max_chars
        ):
            raise SecurityError("power is too large")
        return super().call_binop(context, operator, left, right)


#: What ``getattr`` can find on a plain dict: its own and ``object``'s attributes.
_DICT_ATTRIBUTES = frozenset(dir(dict))


def _finalize(value: Any) -> Any:
    return "" if value is None else value


def new_environment(
    loader: BaseLoader, max_chars: int, filters: Mapping[str, Callable[..., str]]
) -> Sandbox:
    """The sandboxed environment for one template folder, with that folder's filters."""
    env = Sandbox(
        max_chars,
        loader=loader,
        undefined=StrictUndefined,
        autoescape=select_autoescape(
            enabled_extensions=("html",), default_for_string=False, default=False
        ),
        auto_reload=False,
        cache_size=-1,  # never evict: an evicted template would be compiled again
        trim_blocks=True,
        lstrip_blocks=True,
        finalize=_finalize,
    )
    env.filters.update(filters)
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
