"""How the daemon's dispatching has been going, as ``/readyz`` reports it."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field


@dataclass
class DispatchTicks:
    """How the daemon's dispatch ticks end, for ``/readyz``: a tick that raised or met
    database errors is a failing one until a tick succeeds."""

    failing_since: float | None = None
    failures: int = 0
    last_error: str = ""
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def succeeded(self) -> None:
        with self._lock:
            self.failing_since, self.failures, self.last_error = None, 0, ""

    def failed(self, error: str) -> None:
        with self._lock:
            if self.failing_since is None:
                self.failing_since = time.monotonic()
            self.failures += 1
            self.last_error = error

    def problem(self) -> str | None:
        with self._lock:
            if self.failing_since is None:
                return None
            seconds = time.monotonic() - self.failing_since
            return (
                f"dispatch ticks failing for {seconds:.0f} s "
                f"({self.failures} in a row, last: {self.last_error})"
            )
