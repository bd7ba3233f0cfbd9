"""Logging: JSON lines when not on a terminal, and never any personal data.

Code logs ids, not names, addresses or tokens; that is the rule. The redaction filter
here is the second line of defence: whatever reaches a handler has anything shaped
like an e-mail address, a phone number or a signed token masked before it is
written, so a mistake in one log call cannot leak what the rule protects.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import Any

_EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_PHONE = re.compile(r"\+?\d[\d ()-]{7,}\d")
# itsdangerous tokens: base64url payload "." timestamp "." signature
_TOKEN = re.compile(r"[\w-]{10,}\.[\w-]{4,}\.[\w-]{20,}")
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def redact(text: str) -> str:
    text = _TOKEN.sub("[token]", text)
    text = _EMAIL.sub("[email]", text)
    return _PHONE.sub("[phone]", text)


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
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
        entry.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
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
