"""The exception tree, so callers can decide what to do by class.

    RapportError
     +-- UserError             the user's input is wrong: exit 1, message names the place
     |    +-- ConfigError      config.yaml or an environment override
     |    +-- CampaignError    a campaign YAML file or one of its templates
     |    +-- ImportFileError  an import file that cannot be read at all
     |    +-- NotFound         an id the user named does not exist
     +-- UsageError            a command used wrongly: exit 2
          +-- MissingExtra     the configuration needs an optional part that is not installed

Row-level import problems are not exceptions: a bad row is reported and skipped so
that the good rows are kept (see :mod:`rapport.engine.customers.importer`).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with a user's file, located as precisely as we know."""

    file: str
    line: int | None
    message: str
    field: str | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        what = f"{self.field}: {self.message}" if self.field else self.message
        return f"{where}: {what}"


class RapportError(Exception):
    """Root of every error Rapport raises on purpose."""


class UserError(RapportError):
    """Something the user wrote is wrong; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem] | str) -> None:
        if isinstance(problems, str):
            self.problems: list[Problem] = []
            text = problems
        else:
            self.problems = list(problems)
            text = "\n".join(str(p) for p in self.problems)
        super().__init__(text)


class ConfigError(UserError):
    """config.yaml or a RAPPORT_* override is invalid."""


class CampaignError(UserError):
    """A campaign file or template is invalid."""


class ImportFileError(UserError):
    """An import file cannot be read at all (missing, unknown format, no header)."""


class NotFound(UserError):
    """A customer, campaign or channel named by the user does not exist."""


class UsageError(RapportError):
    """A command was called with arguments that do not fit together."""


class MissingExtra(UsageError):
    """The configuration asks for an optional part of Rapport that is not installed
    (PostgreSQL support, the ``postgresql`` extra); the message says how to install it.

    Exit 2 like any usage error: nothing ran, and the fix is on the operator's side."""
