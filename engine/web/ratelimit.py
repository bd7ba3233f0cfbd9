"""A small sliding-window rate limiter, per key, in process memory.

Enough for the "send me my link" form on one node (the risk is e-mail bombing one
address or probing many); several nodes each keep their own window, which at worst
multiplies the allowance by the node count.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from datetime import datetime, timedelta

from rapport.engine.core.timeutil import Clock, utcnow


class RateLimiter:
    def __init__(self, limit: int, window: timedelta, clock: Clock = utcnow) -> None:
        self.limit = limit
        self.window = window
        self.clock = clock
        self._hits: dict[str, deque[datetime]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, *keys: str) -> bool:
        """Count one hit against every key; False if any key is over its limit."""
        now = self.clock()
        with self._lock:
            for key in keys:
                hits = self._hits[key]
                while hits and now - hits[0] >= self.window:
                    hits.popleft()
            if any(len(self._hits[key]) >= self.limit for key in keys):
                return False
            for key in keys:
                self._hits[key].append(now)
            return True
