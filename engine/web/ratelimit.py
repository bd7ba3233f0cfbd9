"""A small sliding-window rate limiter, per key, in bounded process memory.

Enough for the "send me my link" form on one node (the risk is e-mail bombing one
address or probing many); several nodes each keep their own window, which at worst
multiplies the allowance by the node count.

Memory is bounded whatever clients send: a key is stored as a 16-byte keyed BLAKE2b
digest of at most its first :data:`MAX_KEY_CHARS` characters (a 900 KB "e-mail" costs
what a short one does, and the keys kept say nothing about who asked), each key keeps
at most ``limit`` timestamps, and at most ``max_keys`` keys are kept. Keys are held
in least-recently-seen order (a refused attempt counts as seen, so the key being
hammered is the one kept); expired keys are dropped as they reach the front, and past
``max_keys`` the least recently seen key is forgotten. An attacker who makes more than
``max_keys`` distinct keys within the window can thereby reset someone's count, but
each client address only adds keys until it is itself over its limit.
"""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from datetime import datetime, timedelta

from rapport.engine.core.timeutil import Clock, utcnow

#: Characters of a key that count; longer keys (no valid address or e-mail is this
#: long) are cut before hashing, so hashing costs the same whatever was sent.
MAX_KEY_CHARS = 512
DIGEST_BYTES = 16


class RateLimiter:
    def __init__(
        self,
        limit: int,
        window: timedelta,
        clock: Clock = utcnow,
        *,
        max_keys: int = 10_000,
    ) -> None:
        if limit < 1 or max_keys < 1:
            raise ValueError("limit and max_keys must be positive")
        self.limit = limit
        self.window = window
        self.clock = clock
        self.max_keys = max_keys
        #: How many live keys were forgotten to stay within max_keys.
        self.evicted = 0
        self._salt = os.urandom(16)
        self._hits: OrderedDict[bytes, list[datetime]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        """How many keys are held now."""
        return len(self._hits)

    def digest(self, key: str) -> bytes:
        text = key[:MAX_KEY_CHARS].encode("utf-8", "replace")
        return hashlib.blake2b(text, digest_size=DIGEST_BYTES, key=self._salt).digest()

    def allow(self, *keys: str) -> bool:
        """Count one hit against every key; False (and nothing counted) if any key is
        over its limit."""
        now = self.clock()
        digests = [self.digest(key) for key in keys]
        with self._lock:
            self._drop_expired(now)
            over = False
            for digest in digests:
                hits = self._hits.get(digest)
                if hits is None:
                    continue
                self._hits.move_to_end(digest)
                while hits and now - hits[0] >= self.window:
                    del hits[0]
                over = over or len(hits) >= self.limit
            if over:
                return False
            for digest in digests:
                self._hits.setdefault(digest, []).append(now)
                self._hits.move_to_end(digest)
            while len(self._hits) > self.max_keys:
                self._hits.popitem(last=False)
                self.evicted += 1
            return True

    def _drop_expired(self, now: datetime) -> None:
        """Forget keys at the front whose last hit has left the window."""
        while self._hits:
            digest, hits = next(iter(self._hits.items()))
            if hits and now - hits[-1] < self.window:
                return
            del self._hits[digest]
