"""Rendering of marketer-written templates: sandboxed, localized, compiled once.

:class:`Renderer` turns a template folder and one customer's context into a
:class:`RenderedMessage`. The rest of the package holds what it is made of:
:mod:`~rapport.engine.rendering.sandbox` (templates are untrusted code; output is
capped), :mod:`~rapport.engine.rendering.plain` (a template sees plain data only),
:mod:`~rapport.engine.rendering.locales` (which folder a customer gets),
:mod:`~rapport.engine.rendering.formats` and :mod:`~rapport.engine.rendering.filters`
(numbers and dates for the customer), :mod:`~rapport.engine.rendering.reads` (what a
template set reads) and :mod:`~rapport.engine.rendering.errors` (a mistake in a
template is reported as FILE:LINE, the same way a mistake in a campaign's YAML file
is).

Layout
------
::

    templates/<template_set>/<locale>/email_subject.txt   e-mail subject, one line (e-mail)
    templates/<template_set>/<locale>/email.txt           plain-text body (e-mail)
    templates/<template_set>/<locale>/email.html          HTML body, optional (e-mail)
    templates/<template_set>/<locale>/sms.txt             the text message (SMS)

``<template_set>`` is the campaign's ``templates`` key, or its id when that is not
given. ``<locale>`` is a folder per language (``en``, ``fa``, ``zh``) or per regional
variant (``fa_IR``, ``zh_TW``). A message comes from the first folder, in the order
exact locale -> language -> configured default locale, that holds *every* required
part of the channel (see :func:`~rapport.engine.rendering.locales.locale_chain`).
Template names in ``{% extends %}``, ``{% include %}`` and ``{% import %}`` are
relative to ``templates/``, e.g. ``_partials/<locale>/layout.html`` and
``_partials/<locale>/footer.txt``.

Context
-------
What a template may use (plain data only) is the contract of
:mod:`rapport.engine.planning.context`, which builds it; filters format numbers and dates
for the customer in the template folder's language (docs/campaigns.md, "Filters").

Speed
-----
A message costs no compile, file-system access or locale parsing (cached for the
:class:`Renderer`'s life), and little beyond Jinja's render: no walk of a ``PlainContext``,
output joined in batches, formatted values remembered per locale, each template's
globals flattened from Jinja's ``ChainMap`` once (:meth:`Renderer.template`).
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeGuard

from jinja2 import Template, TemplateNotFound
from jinja2.exceptions import TemplateSyntaxError
from jinja2.loaders import split_template_path
from jinja2.sandbox import ImmutableSandboxedEnvironment

from rapport.engine.core.errors import CampaignError, Problem
from rapport.engine.core.text import unstorable
from rapport.engine.rendering import budget
from rapport.engine.rendering.budget import DEFAULT_LIMITS, BudgetExceeded, Limits
from rapport.engine.rendering.errors import (
    InvalidOutput,
    OutputTooLarge,
    ProblemLocator,
    TemplateMissing,
    TemplateProblemError,
)
from rapport.engine.rendering.filters import CUSTOMER_LOCALE, Formatting
from rapport.engine.rendering.formats import LocaleFormats
from rapport.engine.rendering.locales import locale_chain
from rapport.engine.rendering.overruns import Overruns
from rapport.engine.rendering.plain import PlainContext, check_plain
from rapport.engine.rendering.reads import TemplateReads
from rapport.engine.rendering.sandbox import (
    MAX_OUTPUT_CHARS,
    ConfinedLoader,
    Sandbox,
    TemplateRefused,
    new_environment,
    render_capped,
)

if TYPE_CHECKING:
    from rapport.engine.core.config import Settings

__all__ = [
    "CHANNEL_PARTS",
    "EMAIL_HTML",
    "EMAIL_SUBJECT",
    "EMAIL_TEXT",
    "SMS_TEXT",
    "ChannelKind",
    "ChannelParts",
    "RenderedMessage",
    "Renderer",
    "channel_kind",
    "is_channel_kind",
]

ChannelKind = Literal["email", "sms"]

EMAIL_SUBJECT = "email_subject.txt"
EMAIL_TEXT = "email.txt"
EMAIL_HTML = "email.html"
SMS_TEXT = "sms.txt"


@dataclass(frozen=True, slots=True)
class ChannelParts:
    """The template files a channel needs, and those it uses when present."""

    required: tuple[str, ...]
    optional: tuple[str, ...] = ()

    @property
    def all(self) -> tuple[str, ...]:
        return self.required + self.optional


CHANNEL_PARTS: dict[str, ChannelParts] = {
    "email": ChannelParts(required=(EMAIL_SUBJECT, EMAIL_TEXT), optional=(EMAIL_HTML,)),
    "sms": ChannelParts(required=(SMS_TEXT,)),
}


def is_channel_kind(kind: str) -> TypeGuard[ChannelKind]:
    """Whether messages of ``kind`` (a channel's configured kind, else its name) have
    templates."""
    return kind in CHANNEL_PARTS


def channel_kind(kind: str) -> ChannelKind:
    """``kind`` as a kind of message with templates; for any other, the ValueError the
    renderer's methods raise."""
    if is_channel_kind(kind):
        return kind
    raise ValueError(f"no templates for channel kind {kind!r}")


@dataclass(frozen=True, slots=True)
class RenderedMessage:
    """One rendered message, ready for a channel adapter.

    ``locale`` is the template folder actually used, which may be a fallback of the
    customer's locale; it is recorded so a report can show who got a fallback.
    """

    subject: str | None
    text: str
    html: str | None
    locale: str


_Resolved = tuple[str, dict[str, Template]]


class Renderer:
    """Renders campaign templates; one per process, shared by every message.

    Environments, compiled templates (and compile errors) and fallback decisions are
    cached for the life of the renderer, so a message costs no compile, no file-system
    access and no locale parsing, only the render itself. Safe to share between
    threads: the caches only ever gain equivalent entries.
    """

    def __init__(
        self,
        templates_dir: Path,
        default_locale: str,
        *,
        max_output_chars: int = MAX_OUTPUT_CHARS,
        limits: Limits = DEFAULT_LIMITS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.templates_dir = Path(templates_dir).resolve()
        self.default_locale = default_locale
        self.max_output_chars = max_output_chars
        self.limits = limits
        self._clock = clock  # monotonic seconds, for the time limit; tests move their own
        self._root = str(self.templates_dir) + os.sep
        self._loader = ConfinedLoader(str(self.templates_dir))
        self._lock = threading.Lock()
        self._environments: dict[str, Sandbox] = {}
        self._templates: dict[tuple[str, str, str], Template] = {}
        self._broken: dict[tuple[str, str, str], Problem] = {}
        self._exists: dict[str, bool] = {}
        self._resolved: dict[tuple[str, str, str], _Resolved] = {}
        self._formatting = Formatting(default_locale)
        self._reads: dict[tuple[str, str, str, str], bool] = {}
        self._analysis = TemplateReads(self._loader)
        self._locate = ProblemLocator(self.templates_dir)
        self._overruns = Overruns(clock)

    @classmethod
    def from_settings(cls, settings: Settings) -> Renderer:
        """The configured renderer; entry points get it through
        :func:`rapport.engine.runtime.services.renderer`."""
        limits = settings.template_limits
        return cls(
            settings.templates_path,
            settings.locales.default,
            max_output_chars=limits.max_output_chars,
            limits=Limits(limits.max_seconds, limits.max_memory_mb),
        )

    def __reduce__(self) -> tuple[Callable[..., Renderer], tuple[Path, str, int, Limits]]:
        """Pickled as its recipe, not its caches: a planning worker process
        (:mod:`rapport.engine.planning.shards`) gets a fresh renderer of the same
        templates, default locale and limits, and compiles what it renders."""
        return (
            _rebuilt,
            (self.templates_dir, self.default_locale, self.max_output_chars, self.limits),
        )

    # ----------------------------------------------------------------- public API

    def render(
        self,
        template_set: str,
        channel: ChannelKind,
        locale: str,
        context: Mapping[str, Any],
    ) -> RenderedMessage:
        """Render one message for a customer whose locale is ``locale``.

        Raises :class:`TemplateMissing` when no folder in the fallback chain has the
        channel's required parts, :class:`TemplateProblemError` (or a subclass) for
        anything wrong inside a template, ``ContextError`` for non-plain data (a
        :class:`PlainContext` was checked where it was built, so it is not walked).
        """
        if type(context) is not PlainContext:
            check_plain(context)
        key = (template_set, channel, locale)
        resolved = self._resolved.get(key)
        if resolved is None:
            resolved = self._resolve(template_set, channel, locale)
            self._resolved[key] = resolved
        used, templates = resolved
        token = CUSTOMER_LOCALE.set(locale)
        try:
            with budget.spending(self.limits, self._clock):  # one for all of a message's parts
                out = {
                    part: self._render_template(part, tpl, context)
                    for part, tpl in templates.items()
                }
        finally:
            CUSTOMER_LOCALE.reset(token)
        if channel == "sms":
            return RenderedMessage(subject=None, text=out[SMS_TEXT], html=None, locale=used)
        return RenderedMessage(
            subject=out[EMAIL_SUBJECT], text=out[EMAIL_TEXT], html=out.get(EMAIL_HTML), locale=used
        )

    def reads(self, template_set: str, channel: ChannelKind, locale: str, name: str) -> bool:
        """Whether the message ``render`` would produce could read the variable ``name``
        (``"recommendation"``), or one key of it (``"links.feedback"``).

        Lets the caller skip building costly context values no template asks for (the
        run's co-purchase index, a signed link). The templates a part extends,
        includes or imports are read too (see :mod:`~rapport.engine.rendering.reads`).
        Errs towards yes: a template that uses the variable other than by a literal
        key, that names another template only at run time, or that cannot be resolved
        or parsed, reads it.
        """
        key = (template_set, channel, locale, name)
        known = self._reads.get(key)
        if known is None:
            try:
                used = self.locale_for(template_set, channel, locale)
                files = [
                    _name(template_set, used, part)
                    for part in self.parts_present(template_set, channel, used)
                ]
                known = self._analysis.reads(self.environment(used), files, name)
            except (CampaignError, TemplateSyntaxError, OSError, RecursionError, SyntaxError):
                # OSError: TemplateNotFound; the others: rendering reports them properly
                known = True
            self._reads[key] = known
        return known

    def locale_for(self, template_set: str, channel: ChannelKind, locale: str) -> str:
        """The template folder a customer with ``locale`` gets, by file presence alone."""
        parts = _parts(channel)
        chain = locale_chain(locale, self.default_locale)
        for candidate in chain:
            if all(self._has(_name(template_set, candidate, p)) for p in parts.required):
                return candidate
        raise TemplateMissing(self._missing_problem(template_set, channel, locale, chain))

    def reading_locale(self, template_set: str, channel: ChannelKind, locale: str) -> str:
        """The locale a customer with ``locale`` reads this set's messages in: their
        template folder's language, in the customer's region where it is that language
        (the locale the folder's filters format in). An Arabic reader of English
        templates reads English, so the salutation and the holiday's name must be too.
        The customer's own locale when no folder has the channel's templates (rendering
        says so)."""
        try:
            folder = self.locale_for(template_set, channel, locale)
        except TemplateMissing:
            return locale
        return str(self.formats_for(folder, locale).locale)

    def parts_present(
        self, template_set: str, channel: ChannelKind, template_locale: str
    ) -> list[str]:
        """The channel's parts that exist in one template folder (required first)."""
        return [
            p for p in _parts(channel).all if self._has(_name(template_set, template_locale, p))
        ]

    def render_part(
        self,
        template_set: str,
        part: str,
        template_locale: str,
        context: Mapping[str, Any],
        *,
        customer_locale: str | None = None,
    ) -> str:
        """Render one part of one folder, with the same checks :meth:`render` applies.

        Validation uses this to report a broken subject *and* a broken body in one pass.
        ``customer_locale`` formats as for that customer (default: as the folder's).
        """
        if type(context) is not PlainContext:
            check_plain(context)
        template = self.template(template_set, part, template_locale)
        token = CUSTOMER_LOCALE.set(customer_locale)
        try:
            with budget.spending(self.limits, self._clock):
                return self._render_template(part, template, context)
        finally:
            CUSTOMER_LOCALE.reset(token)

    def formats_for(self, template_locale: str, customer_locale: str | None) -> LocaleFormats:
        """The formatting a customer gets from a template folder (see
        :meth:`rapport.engine.rendering.filters.Formatting.formats_for`)."""
        return self._formatting.formats_for(template_locale, customer_locale)

    def template(self, template_set: str, part: str, template_locale: str) -> Template:
        """The compiled template, compiled on first use and the same object afterwards."""
        key = (template_set, part, template_locale)
        compiled = self._templates.get(key)
        if compiled is not None:
            return compiled
        if key in self._broken:
            # A broken file stays broken until restart (no auto-reload): fail fast,
            # rather than compiling it again for each of a million customers.
            raise TemplateProblemError(self._broken[key])
        name = _name(template_set, template_locale, part)
        try:
            compiled = self.environment(template_locale).get_template(name)
        except TemplateSyntaxError as exc:
            problem = Problem(self._locate.file(exc.filename, name), exc.lineno, exc.message or "")
            self._broken[key] = problem
            raise TemplateProblemError(problem) from exc
        except TemplateRefused as exc:
            problem = Problem(self._locate.file(None, name), exc.lineno, str(exc.message))
            self._broken[key] = problem
            raise TemplateProblemError(problem) from exc
        except (RecursionError, SyntaxError, MemoryError) as exc:
            # Jinja's parser and Python's compiler have their own depth limits.
            problem = Problem(
                self._locate.file(None, name),
                None,
                f"the template nests too deeply or is too large to compile "
                f"({type(exc).__name__}: {getattr(exc, 'msg', None) or exc})",
            )
            self._broken[key] = problem
            raise TemplateProblemError(problem) from exc
        except TemplateNotFound as exc:
            raise TemplateMissing(
                Problem(self._locate.file(None, name), None, "template not found")
            ) from exc
        # Jinja keeps a template's globals as a ChainMap over the environment's, and
        # copies them into every render's context through Python-level ChainMap code.
        # No global changes once the environment exists, so a flat copy reads the same.
        compiled.globals = dict(compiled.globals)
        self._templates[key] = compiled
        return compiled

    def file_of(self, template_set: str, part: str, template_locale: str) -> str:
        """The file a part lives in, as shown in problems (relative to the working folder)."""
        return self._locate.file(None, _name(template_set, template_locale, part))

    def folder_of(self, template_set: str, template_locale: str | None = None) -> str:
        """A template set's folder, or one locale's in it, as shown in problems."""
        name = f"{template_set}/{template_locale}" if template_locale else template_set
        return self._locate.file(None, name)

    def source_of(self, template_set: str, part: str, template_locale: str) -> str:
        """The text of a template file, to point a problem at a line of it."""
        path = self.templates_dir / template_set / template_locale / part
        return path.read_text(encoding="utf-8-sig")  # without a byte order mark, as loaded

    def environment(self, template_locale: str) -> ImmutableSandboxedEnvironment:
        """The one sandboxed environment for a template folder's locale."""
        env = self._environments.get(template_locale)
        if env is None:
            with self._lock:
                env = self._environments.get(template_locale)
                if env is None:
                    filters = self._formatting.filters(template_locale)
                    env = new_environment(self._loader, self.max_output_chars, filters, self.limits)
                    self._environments[template_locale] = env
        return env

    # ----------------------------------------------------------------- internals

    def _resolve(self, template_set: str, channel: ChannelKind, locale: str) -> _Resolved:
        used = self.locale_for(template_set, channel, locale)
        templates = {
            part: self.template(template_set, part, used)
            for part in self.parts_present(template_set, channel, used)
        }
        return used, templates

    def _has(self, name: str) -> bool:
        known = self._exists.get(name)
        if known is None:
            try:
                pieces = split_template_path(name)  # refuses '..', as the loader does
            except TemplateNotFound:
                pieces = None
            known = pieces is not None and os.path.isfile(os.path.join(self._root, *pieces))
            self._exists[name] = known
        return known

    def _render_template(self, part: str, template: Template, context: Mapping[str, Any]) -> str:
        cap = self.max_output_chars
        name = template.name or ""
        refused = self._overruns.refusal(name)
        if refused is not None:
            raise TemplateProblemError(refused)
        try:
            text = render_capped(template, context, cap)
        except TemplateProblemError:
            raise
        except Exception as exc:
            # Anything a template raises is the template's fault: the context is plain data.
            problem = self._locate.runtime_problem(exc, template)
            if isinstance(exc, BudgetExceeded):
                self._overruns.went_over(name, problem)
            raise TemplateProblemError(problem) from exc
        self._overruns.rendered(name)
        if text is None:
            raise OutputTooLarge(self._locate.problem(template, f"output exceeds {cap} characters"))
        if part == EMAIL_SUBJECT:
            text = text.strip()
            if _NOT_ONE_LINE.search(text):
                raise InvalidOutput(self._locate.problem(template, _ONE_LINE))
        if not text or text.isspace():  # what ``not text.strip()`` says, without a copy
            raise InvalidOutput(self._locate.problem(template, "renders to an empty text"))
        if (reason := unstorable(text)) is not None:  # from data: fail this message, not a batch
            raise InvalidOutput(self._locate.problem(template, f"the output {reason}"))
        return text

    def _missing_problem(
        self, template_set: str, channel: ChannelKind, locale: str, chain: list[str]
    ) -> Problem:
        default = self.default_locale
        missing = [
            p for p in _parts(channel).required if not self._has(_name(template_set, default, p))
        ]
        file = self._locate.file(None, _name(template_set, default, missing[0]))
        return Problem(
            file,
            None,
            f"no {channel} templates for locale {locale!r} (tried {', '.join(chain)});"
            f" {default!r} lacks {', '.join(missing)}",
        )


#: Ends a subject's line for some reader, or acts on what shows it: C0 and C1 controls
#: (not a tab), DEL, the Unicode line and paragraph separators.
_NOT_ONE_LINE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
_ONE_LINE = "the subject must be a single line without control characters (a mail header)"


def _name(template_set: str, template_locale: str, part: str) -> str:
    return f"{template_set}/{template_locale}/{part}"


def _parts(channel: str) -> ChannelParts:
    try:
        return CHANNEL_PARTS[channel]
    except KeyError:
        raise ValueError(f"no templates for channel kind {channel!r}") from None


def _rebuilt(
    templates_dir: Path, default_locale: str, max_output_chars: int, limits: Limits
) -> Renderer:
    return Renderer(templates_dir, default_locale, max_output_chars=max_output_chars, limits=limits)
