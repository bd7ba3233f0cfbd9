"""Templates that went past their budget: refused without rendering, for a while.

A template over its time or memory budget for one message would be for the next
customers too, so after :data:`OVERRUNS_BEFORE_REFUSAL` messages in a row the renderer
refuses it at once, and a plan of a million customers does not spend a second on each.

The refusal is not for the life of the process: the daemon keeps one renderer for
weeks. A message rendered in time forgets the template's overruns (three outliers a
month, a customer with a huge order or a render on a paused machine, do not add up),
and a refused template is tried again :data:`REFUSAL_SECONDS` after its last overrun.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from rapport.engine.core.errors import Problem

__all__ = ["OVERRUNS_BEFORE_REFUSAL", "REFUSAL_SECONDS", "Overruns"]

#: Messages in a row a template may fail by going past its budget before it is refused.
OVERRUNS_BEFORE_REFUSAL = 3
#: Seconds a refused template is not tried: over a long plan, one try a minute costs at
#: most ``template_limits.max_seconds`` a minute.
REFUSAL_SECONDS = 60.0


class Overruns:
    """The overruns of each template (by name) since it last rendered in time."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self._clock = clock  # monotonic seconds
        self._lock = threading.Lock()
        self._seen: dict[str, tuple[int, Problem, float]] = {}

    def refusal(self, name: str) -> Problem | None:
        """The problem to raise without rendering ``name``, or None to render it."""
        seen = self._seen.get(name)
        if seen is None or seen[0] < OVERRUNS_BEFORE_REFUSAL:
            return None
        return seen[1] if self._clock() - seen[2] < REFUSAL_SECONDS else None

    def went_over(self, name: str, problem: Problem) -> None:
        """Count an overrun of ``name``; from the last one allowed, refuse it."""
        with self._lock:
            count = self._seen.get(name, (0, problem, 0.0))[0] + 1
            if count >= OVERRUNS_BEFORE_REFUSAL:
                problem = Problem(
                    problem.file,
                    problem.line,
                    f"{problem.message}; refused without rendering after "
                    f"{count} messages went over",
                )
            self._seen[name] = (count, problem, self._clock())

    def rendered(self, name: str) -> None:
        """``name`` rendered a message in time: its overruns are forgotten."""
        if name in self._seen:
            with self._lock:
                self._seen.pop(name, None)
