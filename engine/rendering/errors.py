"""What can go wrong in a render, split by whose fault it is.

A template is written by a marketer, so anything wrong inside one (a syntax error,
an undefined variable, a sandbox violation, an empty or oversized output) is a
:class:`TemplateProblemError` carrying a :class:`~rapport.engine.core.errors.Problem`:
FILE:LINE and a message, reported the same way as a mistake in a campaign's YAML
file, so the caller can skip the message and tell the marketer where to look instead
of crashing on a traceback. Data that is not plain is Rapport's own bug, not the
template's, and is a :class:`ContextError` instead. :class:`ProblemLocator` finds the
file and line: Jinja gives a syntax error's, and a render-time error's is the
innermost template frame of its traceback.
"""

from __future__ import annotations

import os
import traceback
from pathlib import Path

from jinja2 import Template
from jinja2.exceptions import SecurityError, TemplateNotFound, TemplateSyntaxError

from rapport.engine.core.errors import CampaignError, Problem, RapportError
from rapport.engine.rendering.budget import BudgetExceeded
from rapport.engine.rendering.sandbox import TemplateRefused

__all__ = [
    "ContextError",
    "InvalidOutput",
    "OutputTooLarge",
    "ProblemLocator",
    "TemplateMissing",
    "TemplateProblemError",
]


class TemplateProblemError(CampaignError):
    """A template cannot produce a message; ``problem`` says which file and line.

    Raised for syntax errors, undefined variables, sandbox violations and any other
    error inside a template, so the caller can skip the message and tell the marketer
    where to look, instead of crashing on a traceback.
    """

    def __init__(self, problem: Problem) -> None:
        super().__init__([problem])
        self.problem = problem


class TemplateMissing(TemplateProblemError):
    """No folder in the locale fallback chain holds the channel's required parts."""


class OutputTooLarge(TemplateProblemError):
    """A part rendered more than the renderer's cap (see
    :data:`rapport.engine.rendering.sandbox.MAX_OUTPUT_CHARS`)."""


class InvalidOutput(TemplateProblemError):
    """A part rendered something unusable: an empty message or a multi-line subject."""


class ContextError(RapportError, TypeError):
    """The caller passed something other than plain data: a bug in Rapport, not the template."""


class ProblemLocator:
    """Where a template problem is shown: its file, relative to the working folder as
    the marketer typed it, and the line a render-time error came from."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._root = str(templates_dir) + os.sep

    def file(self, filename: str | None, name: str | None) -> str:
        """A template's path as shown in problems: ``filename``, else ``name`` under the
        templates folder, relative to the working folder when it is inside it."""
        path = Path(filename) if filename else self.templates_dir / (name or "")
        try:
            return str(path.relative_to(Path.cwd()))
        except ValueError:
            return str(path)

    def problem(self, template: Template, message: str) -> Problem:
        """A problem with a template's whole output (no line to point at)."""
        return Problem(self.file(template.filename, template.name), None, message)

    def runtime_problem(self, exc: Exception, template: Template) -> Problem:
        """Locate a render-time error in the innermost template frame of its traceback.

        Jinja rewrites tracebacks so that a template's frames carry the template's
        file name and line, which is exactly what the marketer needs.
        """
        filename, line = template.filename, None
        if isinstance(exc, TemplateSyntaxError) and exc.filename:
            # A syntax error in an included template surfaces only at render time.
            return Problem(self.file(exc.filename, exc.name), exc.lineno, exc.message or "")
        if isinstance(exc, TemplateRefused) and exc.lineno is not None:
            # A partial the loader refused at one of its own lines (not UTF-8).
            return Problem(self.file(None, str(exc.name)), exc.lineno, str(exc.message))
        for frame, lineno in traceback.walk_tb(exc.__traceback__):
            if frame.f_code.co_filename.startswith(self._root):
                filename, line = frame.f_code.co_filename, lineno
        message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
        if isinstance(exc, BudgetExceeded):
            pass  # says what was too much, and which setting bounds it
        elif isinstance(exc, TemplateRefused):
            message = str(exc.message)  # the file is there, but it says why it is not read
        elif isinstance(exc, TemplateNotFound):
            message = _not_found(exc)
        elif isinstance(exc, SecurityError):
            message = f"not allowed in a template: {message}"
        elif not hasattr(exc, "message"):
            message = f"{type(exc).__name__}: {message}"
        return Problem(self.file(filename, template.name), line, message)


def _not_found(exc: TemplateNotFound) -> str:
    """What an ``{% include %}``, ``{% extends %}`` or ``{% import %}`` of no template
    means: Jinja's message is the bare name for one that leaves the folder
    (``'../../config.yaml'``), and names the folder's absolute path otherwise."""
    name = str(exc.name)
    example = "name one under the templates folder, such as '_partials/en/footer.txt'"
    if ".." in name.replace("\\", "/").split("/"):
        return f"{name!r} may not leave the templates folder: {example}"
    return f"no template {name!r} under the templates folder: {example}"
