"""What ``--json`` promises on every command that has it.

Exactly one JSON document on stdout, with the same keys whatever happened, and the
exit code the command has without ``--json``. A problem is an object with ``file``,
``line`` (the row, for imports), ``field`` and ``message`` (null where not known).
When the command fails with a mistake of the user's (exit 1: a file that cannot be
read, an invalid configuration, an unknown customer), the document is still printed,
with ``"ok": false`` and the problems. A usage error (exit 2) or a runtime failure
(exit 3) prints no document, only its line on stderr.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from rapport.engine.cli.app import echo_json
from rapport.engine.core.errors import Problem, UserError

if TYPE_CHECKING:
    from rapport.engine.delivery.outcomes import DispatchReport

#: The exit code of a user's mistake (rapport.engine.cli.main.EXIT_INVALID).
EXIT_INVALID = 1


def problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "file": problem.file,
        "line": problem.line,
        "field": problem.field,
        "message": problem.message,
    }


def problems_json(problems: Iterable[Problem]) -> list[dict[str, Any]]:
    return [problem_json(problem) for problem in problems]


def error_problems(exc: UserError) -> list[dict[str, Any]]:
    """The problems an error carries, or its message as one problem without a place."""
    if exc.problems:
        return problems_json(exc.problems)
    return [{"file": None, "line": None, "field": None, "message": str(exc)}]


@contextmanager
def user_errors_as_json(as_json: bool, failed: dict[str, Any]) -> Iterator[None]:
    """With ``--json``, a :class:`UserError` raised inside prints ``failed`` (the
    command's document with its keys at their empty values) with ``"ok": false`` and
    the error's problems, and exits 1 as the error would; without, it passes."""
    try:
        yield
    except UserError as exc:
        if not as_json:
            raise
        echo_json({**failed, "ok": False, "problems": error_problems(exc)})
        sys.exit(EXIT_INVALID)


def dispatch_json(report: DispatchReport | None) -> dict[str, Any]:
    """The ``--json`` document of ``rapport dispatch --once`` (None: nothing ran)."""
    if report is None:
        from rapport.engine.delivery import outcomes

        report = outcomes.DispatchReport()
    return {
        "ok": report.clean,
        "outcomes": [
            {"channel": channel, "status": status, "count": n}
            for (channel, status), n in sorted(report.outcomes.items())
        ],
        "reasons": [
            {"channel": channel, "status": status, "reason": reason or None, "count": n}
            for (channel, status, reason), n in report.reasons.most_common()
        ],
        "released": report.released,
        "lost_leases": report.lost_leases,
        "abandoned": sorted(report.abandoned),
        "unwritten": sorted(report.unwritten),
        "database_error": report.database_error,
        "waiting": [
            {"channel": channel, "count": n} for channel, n in sorted(report.waiting.items())
        ],
        "problems": [],
    }
