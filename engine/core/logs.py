"""Logging: JSON lines when not on a terminal, and never any personal data.

Code logs ids, not names, addresses or tokens; that is the rule. The redaction filter
here is the second line of defence: whatever reaches a handler has anything shaped
like an e-mail address, a phone number or a signed token masked before it is
written, as is the token segment of a link's path (``/unsubscribe/<token>``,
``/preferences/``, ``/confirm/``, ``/feedback/``) and any ``token=`` in a query
string, so a mistake in one log call cannot leak what the rule protects. The web
server's loggers go through the same handler (see :mod:`rapport.engine.web.server`).
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
# itsdangerous tokens: base64url payload "." timestamp "." signature
_TOKEN = re.compile(r"[\w-]{10,}\.[\w-]{4,}\.[\w-]{20,}")
# A signed link's path segment and a token in a query string, whatever they look like
# (an admin's report token is any string the operator chose).
_TOKEN_PATH = re.compile(r"(/(?:unsubscribe|preferences|confirm|feedback)/)[^/\s?#\"']+")
_TOKEN_QUERY = re.compile(r"([?&;](?:token|access_token)=)[^&;\s#\"']+", re.IGNORECASE)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
# Extra fields left out of JSON lines: uvicorn's terminal-coloured copy of each message.
_DROPPED = {"color_message"}


def redact(text: str) -> str:
    text = _TOKEN_PATH.sub(r"\1[token]", text)
    text = _TOKEN_QUERY.sub(r"\1[token]", text)
    text = _TOKEN.sub("[token]", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[phone]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        for name, value in list(vars(record).items()):
            if name not in _STANDARD and isinstance(value, str):
                setattr(record, name, redact(value))
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(
            {k: v for k, v in vars(record).items() if k not in _STANDARD and k not in _DROPPED}
        )
        if record.exc_text:
            entry["exception"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Log to stderr: JSON lines unless stderr is a terminal, always redacted."""
    handler = logging.StreamHandler(sys.stderr)
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler.setFormatter(
        JSONFormatter() if json_lines else logging.Formatter("%(levelname)s %(name)s: %(message)s")
    )
    handler.addFilter(RedactingFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("httpx", "httpcore", "apscheduler", "aiosmtplib", "uvicorn.access"):
        logging.getLogger(noisy).setLevel(logging.WARNING)


class Throttle:
    """Lets the same log message through at most once per ``seconds``, per key.

    A failing provider or database can repeat one message thousands of times a
    minute; the first one says everything, later ones only add how many were held
    back (:meth:`held_back`). Keys are bounded: the oldest are forgotten past
    ``max_keys``.
    """

    def __init__(self, seconds: float, *, max_keys: int = 1024) -> None:
        self.seconds = seconds
        self.max_keys = max_keys
        self._last: dict[str, float] = {}
        self._held: dict[str, int] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """True when a message under ``key`` may be logged now (and starts a new period)."""
        moment = time.monotonic() if now is None else now
        last = self._last.get(key)
        if last is not None and moment - last < self.seconds:
            self._held[key] = self._held.get(key, 0) + 1
            return False
        if key not in self._last and len(self._last) >= self.max_keys:
            oldest = next(iter(self._last))
            del self._last[oldest]
            self._held.pop(oldest, None)
        self._last.pop(key, None)
        self._last[key] = moment
        return True

    def held_back(self, key: str) -> int:
        """How many messages under ``key`` were held back since it was last allowed
        (and forget them)."""
        return self._held.pop(key, 0)
