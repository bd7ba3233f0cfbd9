"""Logging: JSON lines when not on a terminal, ids as fields, never any personal data.

Code logs ids, not names, addresses or tokens; that is the rule, and ids go in fields
rather than in the message: ``log.info("message sent", extra={"message_id": 7,
"customer_id": "C-1234", "campaign": "birthday"})`` is written as
``{"ts": ..., "level": "info", "logger": ..., "message": "message sent", "message_id":
7, "customer_id": "C-1234", "campaign": "birthday"}``. Every library's records go
through the same handler (uvicorn's, Alembic's, APScheduler's, and Python warnings),
so stderr holds JSON lines only; on a terminal the same records are plain text with
the fields after the message. Alembic says nothing below WARNING unless the level is
DEBUG (it would print every migration context at each start).

Redaction is the second line of defence: whatever reaches the handler, message,
exception text and every field, has masked

- names: the value of any field named like one (``first_name``, ``last_name``,
  ``full_name``, ``customer_name``, ...) and, in text, whatever follows such a label
  (``first_name='Sara'``, ``"last_name": "Li"``, ``name: محمد رضایی``) -> ``[name]``;
  a name written into text without a label cannot be recognised, which is why code
  logs ids only (tests/engine/core/test_log_fields.py checks the call sites);
- e-mail addresses and phone numbers, by the rule provider replies are masked with
  (:mod:`rapport.channels.redaction`), and the whole value of a field named ``email``,
  ``phone``, ``to``, ``address``, ... -> ``[email]`` / ``[phone]``;
- signed tokens, the token segment of a link's path (``/unsubscribe/<token>``,
  ``/preferences/``, ``/confirm/``, ``/feedback/``) and any ``token=`` in a query
  string -> ``[token]``;
- in a logged exception, a database error's text past its primary message
  (PostgreSQL's ``DETAIL`` quotes the failing row): the traceback is written by
  :func:`~rapport.engine.core.tracebacks.safe_traceback` (engines already hide a
  statement's values, see :func:`~rapport.engine.core.db.make_engine`);

and nothing else: dates, date-times, UUIDs, ids (``C-1234``, ``B0000001``, message
ids, the planning lock's key), counts and durations are written as they are.

Each record is one line. Lines logged inside :func:`batched` (the dispatcher's outcome
lines, one per message, a group at a time) are written together, with one write and one
flush when the block ends, raising or not, instead of one for each line.
"""

from __future__ import annotations

import functools
import json
import logging
import math
import re
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any

from rapport.engine.core.tracebacks import safe_traceback

# A signed link's path segment and a token in a query string, whatever they look like
# (an admin's report token is any string the operator chose).
_TOKEN_PATH = re.compile(r"(/(?:unsubscribe|preferences|confirm|feedback)/)[^/\s?#\"']+")
_TOKEN_QUERY = re.compile(r"([?&;](?:token|access_token)=)[^&;\s#\"']+", re.IGNORECASE)
#: Keys that name a person's name: ``name``, ``first_name``, ``lastName``, ``surname``...
_NAME_KEY = r"(?:(?:first|last|full|given|family|middle|display|customer|to|sur)[_ ]?)?name"
_NAME_FIELD = re.compile(_NAME_KEY, re.IGNORECASE)
#: Such a key followed by ``=`` or ``:`` and its value in text: a quoted string, or the
#: words up to a delimiter or the next ``key=`` / ``key:``.
_NAMED = re.compile(
    rf"(?P<label>\b{_NAME_KEY}\b[\"']?\s*[:=]\s*)"
    r"(?:(?P<quote>[\"'])(?:(?!(?P=quote)).)*(?P=quote)"
    r"|[^\s,;)\]}\"<>]+(?:[ ](?![^\s,;]*[:=])[^\s,;)\]}\"<>]+)*)",
    re.IGNORECASE,
)
#: Fields whose whole value is an address or number, whatever it looks like.
_CONTACT_FIELDS = frozenset(
    {"email", "email_address", "phone", "phone_number", "mobile", "to", "recipient", "address"}
)
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
#: Where RedactingFilter keeps a record's redacted fields for the formatter.
_REDACTED = "_rapport_fields"
# Extra fields left out of JSON lines: uvicorn's terminal-coloured copy of each message.
_DROPPED = {"color_message", _REDACTED}
#: Libraries that say nothing below WARNING, whatever the level; and those that do only
#: at DEBUG (Alembic: its migration context at every start).
_QUIET = ("httpx", "httpcore", "apscheduler", "aiosmtplib", "uvicorn.access")
_QUIET_UNLESS_DEBUG = ("alembic",)


def _unname(match: re.Match[str]) -> str:
    quote = match.group("quote") or ""
    return f"{match.group('label')}{quote}[name]{quote}"


#: What every mask below needs somewhere in the text: "@" (an address), "/" (a link's
#: token), "=" or ":" (a query token, a labelled name), "." (a signed token) or eight
#: digits (a phone number). Short text without any is returned as it is: most log
#: fields (ids, campaign names, statuses) and messages, one per sent message.
_MAYBE_PERSONAL = re.compile(r"[@/=:.]|\d(?:\D*\d){7}")


def redact(text: str) -> str:
    """``text`` with names after a label, e-mail addresses, phone numbers and tokens
    masked; dates, ids and counts left as they are."""
    if len(text) <= 200 and not _MAYBE_PERSONAL.search(text):
        return text
    text = _TOKEN_PATH.sub(r"\1[token]", text)
    text = _TOKEN_QUERY.sub(r"\1[token]", text)
    text = _NAMED.sub(_unname, text)
    # Imported here, not at the top: importing it imports the channels package, and
    # every command configures logging at start, `rapport --help` too.
    from rapport.channels.redaction import mask_personal

    return mask_personal(text)


def redact_field(name: str, value: Any) -> Any:
    """A field's value safe to write: masked whole when the field's name says it holds
    a name, an address or a number; otherwise its text redacted (in lists and
    mappings too), numbers, booleans and None as they are."""
    if value is None or value == "":
        return value
    kind = _field_kind(name)
    if kind == "name":
        return "[name]"
    if kind == "contact":
        return "[email]" if "@" in str(value) else "[phone]"
    if type(value) is str:  # most fields: ids, campaign names, statuses
        return value if len(value) <= 200 and not _MAYBE_PERSONAL.search(value) else redact(value)
    if isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, Mapping):
        return {str(k): redact_field(str(k), v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_field(name, item) for item in value]
    return redact(str(value))


@functools.lru_cache(maxsize=512)
def _field_kind(name: str) -> str:
    """Whether a field's name says it holds a person's ``name``, a ``contact`` (address
    or number) or anything else (``value``): the few field names are looked at once."""
    if _NAME_FIELD.fullmatch(name):
        return "name"
    return "contact" if name.lower() in _CONTACT_FIELDS else "value"


def message_fields(message: Any) -> dict[str, Any]:
    """The ids of an outbox message (anything with ``id``, ``customer_id``, ``campaign``
    and ``channel``) as a record's fields: ``extra=message_fields(message)``."""
    return {
        "message_id": message.id,
        "customer_id": message.customer_id,
        "campaign": message.campaign,
        "channel": message.channel,
    }


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """The fields a record carries beyond the standard ones (``extra=...``)."""
    cached: dict[str, Any] | None = vars(record).get(_REDACTED)
    if cached is not None:
        return cached
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and k not in _DROPPED}


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        record.msg, record.args = redact(message), None
        redacted = {name: redact_field(name, value) for name, value in fields(record).items()}
        vars(record).update(redacted)
        # The formatter reads them from here, not by sorting the record's attributes again.
        vars(record)[_REDACTED] = redacted
        if record.exc_info and not record.exc_text:
            error = record.exc_info[1]
            record.exc_text = redact(
                safe_traceback(error)
                if error is not None
                else logging.Formatter().formatException(record.exc_info)
            )
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


#: One encoder for every line (json.dumps would build one for each).
_ENCODER = json.JSONEncoder(ensure_ascii=False, default=str)
#: The last second a line was written in, and its ISO 8601 text up to the seconds.
_second: tuple[int, str] = (0, "1970-01-01T00:00:00")


def _timestamp(created: float) -> str:
    """``created`` in UTC to the millisecond, as ``datetime.isoformat`` writes it (its
    text up to the seconds made once a second, not once a line)."""
    global _second
    fraction, whole = math.modf(created)  # rounded as datetime.fromtimestamp rounds
    second, microsecond = int(whole), round(fraction * 1_000_000)
    if microsecond >= 1_000_000:
        second, microsecond = second + 1, microsecond - 1_000_000
    cached = _second  # read once: another thread may replace it
    if cached[0] != second:
        text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
        cached = _second = (second, text)
    return f"{cached[1]}.{microsecond // 1000:03d}+00:00"


class JSONFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": _timestamp(record.created),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        entry.update(fields(record))
        if record.exc_text:
            entry["exception"] = record.exc_text
        return _ENCODER.encode(entry)


class PlainFormatter(logging.Formatter):
    """For a terminal: ``LEVEL logger: message key=value ...``, then any traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{record.levelname} {record.name}: {record.getMessage()}"
        for name, value in fields(record).items():
            shown = value if isinstance(value, str) else json.dumps(value, default=str)
            line += f" {name}={shown}"
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        return f"{line}\n{record.exc_text}" if record.exc_text else line


class BatchingHandler(logging.StreamHandler):
    """A stream handler that, inside :func:`batched`, keeps the lines of the thread that
    opened the batch and writes them at its end, all at once."""

    def __init__(self, stream: Any = None) -> None:
        super().__init__(stream)
        self.lines: list[str] | None = None
        self.thread = 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.lines is None or threading.get_ident() != self.thread:
            super().emit(record)
            return
        try:
            self.lines.append(self.format(record) + self.terminator)
        except Exception:
            self.handleError(record)

    @contextmanager
    def batch(self) -> Iterator[None]:
        # Checked and set under the lock: two threads opening a batch at once would
        # otherwise both find none open, and the second would drop the first's lines.
        self.acquire()
        try:
            opened = self.lines is None  # else already batching, here or elsewhere
            if opened:
                self.lines, self.thread = [], threading.get_ident()
        finally:
            self.release()
        if not opened:
            yield
            return
        try:
            yield
        finally:
            self.acquire()
            lines, self.lines = self.lines, None
            try:
                if lines:
                    self.stream.write("".join(lines))
                    self.flush()
            except Exception:
                self.handleError(logging.makeLogRecord({"msg": "batched log lines"}))
            finally:
                self.release()


#: The handler configure() installed, if it did.
_handler: BatchingHandler | None = None


@contextmanager
def batched() -> Iterator[None]:
    """Write the lines this thread logs in the block with one write and one flush when
    it ends (raising or not): one line per record still, in their order. Lines other
    threads log meanwhile are written at once, as always."""
    handler = _handler
    if handler is None or handler not in logging.getLogger().handlers:
        yield
        return
    with handler.batch():
        yield


def configure(level: str = "INFO", *, json_lines: bool | None = None) -> None:
    """Log to stderr: JSON lines unless stderr is a terminal, always redacted.

    Python warnings become log records too, so nothing but log lines reaches stderr.
    """
    global _handler
    handler = _handler = BatchingHandler(sys.stderr)
    if json_lines is None:
        json_lines = not sys.stderr.isatty()
    handler.setFormatter(JSONFormatter() if json_lines else PlainFormatter())
    handler.addFilter(RedactingFilter())
    # Neither format writes where a call was made, nor the thread or process: the
    # logging module's own advice is to switch their lookup off then (a few
    # microseconds a record; the dispatcher writes one record per message sent).
    logging._srcfile = None
    logging.logThreads = logging.logProcesses = logging.logMultiprocessing = False
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in _QUIET:
        logging.getLogger(noisy).setLevel(logging.WARNING)
    verbose = root.level <= logging.DEBUG
    for chatty in _QUIET_UNLESS_DEBUG:
        logging.getLogger(chatty).setLevel(logging.NOTSET if verbose else logging.WARNING)
    logging.captureWarnings(True)


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
