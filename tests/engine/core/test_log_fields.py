"""Log lines: ids as fields, and redaction that masks names, addresses and numbers only.

Two sets hold the redaction to its rule (docs/operations.md, Logs). The canaries (real
names in Persian, Chinese and English, e-mail addresses IDN ones included, phone
numbers as people write them) must never come out, wherever they go in: the message,
a field, a field's list or mapping, an exception. The date/id set (ISO dates and
date-times, UUIDs, customer ids, message ids, the planning lock's key, counts) must come
out exactly as it went in: the reported "planned [phone]: 3 new" for "planned
2026-11-23: 3 new" stays fixed.

"جان دیر" / "John Deere" come from the shared seed texts; the other names are common
ones in each script.
"""

from __future__ import annotations

import ast
import json
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from factories import REPO

from rapport.channels.base import redact_reply
from rapport.engine.core import logs
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.core.logs import JSONFormatter, PlainFormatter, RedactingFilter, redact

NAMES = ["جان دیر", "John Deere", "محمد رضایی", "مریم", "王小明", "李娜", "Sara O'Brien", "Zoë"]
EMAILS = [
    "sara.ahmadi@example.com",
    "a.b+tag@mail.example.co.uk",
    "josé@exämple.de",
    "ünsal@bücher.de",
    "u.nsal@xn--bcher-kva.de",
    "王小明@例子.中国",
    "bob@localhost",
]
PHONES = [
    "+989121234567",
    "+98 912 123 4567",
    "0098 912 123 4567",
    "09121234567",
    "0912-123-4567",
    "989121234567",
    "9121234567",
    "(212) 555-0187",
    "+1-202-555-0187",
    "+1 (415) 555-2671",
    "415.555.2671",
    "4155552671",
    "13800138000",
    "138 0013 8000",
    "+86 138-0013-8000",
    "020 7946 0958",
    # After a "+", the other separators people write: dots, a slash, no-break and thin
    # spaces (copied from web pages and provider consoles), dashes.
    "+1.415.555.2671",
    "+44.20.7946.0958",
    "+33.1.23.45.67.89",
    "+1 415.555.2671",
    "+1 (415) 555.2671",
    "+49 30/1234567",
    "+1\u00a0415\u00a0555\u00a02671",
    "+33\u202f1\u202f23\u202f45\u202f67\u202f89",
    "+1\u2009415\u20095552671",
    "+1\u2013415\u2013555\u20132671",
]
#: What Rapport writes about its work: each must come out unchanged.
KEPT = [
    "2026-11-23",
    "2026-11-23T10:00:00Z",
    "2026-11-23T10:00:00.123+03:30",
    "2026-11-23 10:00:00.123456+00:00",
    "2026/11/23",
    "23:59:59",
    "550e8400-e29b-41d4-a716-446655440000",
    "123e4567-e89b-12d3-a456-426614174000",
    "C-1234",
    "C-12345678",
    "B0000001",
    "CUST-000123456",
    "12345678",
    "123456789",
    "1380012112",
    "1732365600",
    "12345678901234567890",
    "C-1234:birthday:2026-11-23:email",
    "birthday:2026",
    "127.0.0.1:8000",
    "192.168.100.200",
    "0.125",
    "1601",
]


@pytest.fixture
def written() -> Iterator[Any]:
    """Emit one record through the real filter and formatter; the JSON entry it wrote."""

    def emit(message: str, *args: Any, exc: BaseException | None = None, **extra: Any) -> Any:
        record = logging.LogRecord("rapport.test", logging.INFO, __file__, 1, message, args, None)
        if exc is not None:
            record.exc_info = (type(exc), exc, exc.__traceback__)
        for name, value in extra.items():
            setattr(record, name, value)
        assert RedactingFilter().filter(record)
        return json.loads(JSONFormatter().format(record))

    yield emit


def dump(entry: Any) -> str:
    return json.dumps(entry, ensure_ascii=False)


# --- the canaries never come out ---------------------------------------------------------


@pytest.mark.parametrize("name", NAMES)
def test_a_name_in_a_name_field_or_after_a_label_never_comes_out(name: str, written: Any) -> None:
    entry = written(
        "import row: first_name=%s, city=Tehran; {'last_name': %r, 'id': 'C-1'}",
        name,
        name,
        first_name=name,
        full_name=name,
        customer_name=name,
        row={"id": "C-1", "lastName": name, "given_name": name},
    )
    assert name not in dump(entry), entry
    assert entry["first_name"] == entry["full_name"] == entry["customer_name"] == "[name]"
    assert entry["row"] == {"id": "C-1", "lastName": "[name]", "given_name": "[name]"}
    assert "city=Tehran" in entry["message"] and "'id': 'C-1'" in entry["message"]


@pytest.mark.parametrize(
    "line",
    [
        "name: {}",
        'full_name="{}" status=sent',
        "{{'first_name': '{}', 'last_name': '{}'}}",
        '{{"display_name": "{}"}}',
        "surname={}; id=C-9",
    ],
)
def test_labelled_names_in_text_are_masked_in_every_script(line: str) -> None:
    for name in NAMES:
        text = line.format(name, name)
        cleaned = redact(text)
        assert name not in cleaned, (text, cleaned)
        assert "[name]" in cleaned


@pytest.mark.parametrize("address", EMAILS)
def test_an_email_address_never_comes_out(address: str, written: Any) -> None:
    try:
        raise ValueError(f"550 5.1.1 <{address}>: unknown user")
    except ValueError as exc:
        entry = written(
            "bounce for %s on 2026-11-23",
            address,
            exc=exc,
            reason=f"refused {address}",
            email=address,
            recipients=[address, {"to": address}],
        )
    assert address not in dump(entry), entry
    assert entry["message"] == "bounce for [email] on 2026-11-23"
    assert entry["email"] == "[email]" and entry["reason"] == "refused [email]"
    assert entry["recipients"] == ["[email]", {"to": "[email]"}]
    assert "<[email]>" in entry["exception"]


@pytest.mark.parametrize("phone", PHONES)
def test_a_phone_number_never_comes_out_in_any_usual_format(phone: str, written: Any) -> None:
    entry = written(
        "sms to %s failed (%s); retry at 2026-11-23T10:00:00Z",
        phone,
        f"provider said: {phone} unreachable",
        phone=phone,
        detail={"number": phone, "attempts": 3},
    )
    digits = "".join(c for c in phone if c.isdigit())
    assert phone not in dump(entry) and digits[-7:] not in dump(entry), entry
    assert entry["message"] == (
        "sms to [phone] failed (provider said: [phone] unreachable); retry at 2026-11-23T10:00:00Z"
    )
    assert entry["phone"] == "[phone]" and entry["detail"] == {"number": "[phone]", "attempts": 3}
    # Provider replies are masked by the same rule.
    assert redact_reply(f"no such number {phone}.") == "no such number [phone]."


# --- dates, ids and counts survive ---------------------------------------------------------


@pytest.mark.parametrize("kept", KEPT)
def test_dates_ids_and_counts_come_out_as_they_went_in(kept: str, written: Any) -> None:
    entry = written(
        "planned %s: 3 new, 0 already planned", kept, day=kept, ids=[kept, 7], counts={"n": 3}
    )
    assert entry["message"] == f"planned {kept}: 3 new, 0 already planned"
    assert entry["day"] == kept and entry["ids"] == [kept, 7] and entry["counts"] == {"n": 3}
    assert redact_reply(f"451 try again ({kept})") == f"451 try again ({kept})"


def test_the_reported_lines_are_whole_again() -> None:
    assert redact("planned 2026-11-23: 3 new") == "planned 2026-11-23: 3 new"
    assert redact("this daemon now plans (advisory lock 1380012112 held)").endswith("12 held)")
    line = "message C-1234:birthday:2026-11-23:email requeued at 2026-11-23T10:05:00+00:00"
    assert redact(line) == line


def test_numbers_are_fields_of_their_own_type(written: Any) -> None:
    entry = written(
        "dispatched",
        message_id=4211,
        customer_id="C-1234",
        campaign="birthday",
        outcomes={"email/sent": 12, "sms/queued": 1},
        lock_key=1380012112,
        took=0.25,
        clean=True,
        nothing=None,
    )
    assert {k: entry[k] for k in entry if k not in ("ts", "logger")} == {
        "level": "info",
        "message": "dispatched",
        "message_id": 4211,
        "customer_id": "C-1234",
        "campaign": "birthday",
        "outcomes": {"email/sent": 12, "sms/queued": 1},
        "lock_key": 1380012112,
        "took": 0.25,
        "clean": True,
        "nothing": None,
    }


def test_on_a_terminal_the_fields_follow_the_message() -> None:
    record = logging.LogRecord("rapport.x", logging.WARNING, "", 0, "lease lost", None, None)
    record.message_id, record.customer_id = 7, "C-1"
    record.outcomes = {"email/sent": 2}
    assert RedactingFilter().filter(record)
    assert PlainFormatter().format(record) == (
        'WARNING rapport.x: lease lost message_id=7 customer_id=C-1 outcomes={"email/sent": 2}'
    )


# --- the call sites: ids as fields, nothing personal passed ----------------------------------

LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical"}
#: Attributes and names that hold ids: they belong in extra=..., not in the message.
ID_NAMES = {"id", "customer_id", "message_id", "idempotency_key", "customer_ids", "message_ids"}
#: Attributes and names that hold a person's name, address or number: never logged.
PERSONAL = {
    "first_name",
    "last_name",
    "full_name",
    "to_name",
    "email",
    "phone",
    "to",
    "address",
    "sender",
}


def _log_calls() -> Iterator[tuple[str, ast.Call]]:
    for folder in ("engine", "consent", "channels"):
        for path in sorted((REPO / folder).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if (
                    isinstance(node, ast.Call)
                    and isinstance(node.func, ast.Attribute)
                    and node.func.attr in LOG_METHODS
                    and isinstance(node.func.value, ast.Name)
                    and node.func.value.id in ("log", "logger")
                ):
                    yield f"{path.relative_to(REPO)}:{node.lineno}", node


def _names(node: ast.AST) -> set[str]:
    found = set()
    for child in ast.walk(node):
        if isinstance(child, ast.Attribute):
            found.add(child.attr)
        elif isinstance(child, ast.Name):
            found.add(child.id)
    return found


def test_log_calls_pass_ids_as_fields_and_nothing_personal_at_all() -> None:
    calls = list(_log_calls())
    assert len(calls) > 40  # the walk found the call sites
    in_text, personal = [], []
    for where, call in calls:
        texts = [*call.args, *(k.value for k in call.keywords if k.arg != "extra")]
        if any(_names(arg) & ID_NAMES for arg in texts):
            in_text.append(where)
        if any(_names(arg) & PERSONAL for arg in [*call.args, *(k.value for k in call.keywords)]):
            personal.append(where)
    assert in_text == [], "ids interpolated into the message: pass them in extra=..."
    assert personal == [], "a name, address or number is logged"


# --- every library through the handler; Alembic quiet ----------------------------------------


@pytest.fixture
def root_logging() -> Iterator[None]:
    root = logging.getLogger()
    saved = (root.handlers[:], root.level)
    levels = {name: logging.getLogger(name).level for name in ("alembic", "httpx")}
    try:
        yield
    finally:
        root.handlers[:], root.level = saved[0], saved[1]
        for name, level in levels.items():
            logging.getLogger(name).setLevel(level)
        logging.captureWarnings(False)


@pytest.mark.parametrize(("level", "alembic_lines"), [("INFO", False), ("DEBUG", True)])
def test_alembic_is_quiet_below_warning_unless_the_level_is_debug(
    level: str,
    alembic_lines: bool,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    root_logging: None,
) -> None:
    logs.configure(level, json_lines=True)
    engine = make_engine(f"sqlite:///{tmp_path / 'fresh.db'}")
    try:
        upgrade(engine)
    finally:
        engine.dispose()
    entries = [json.loads(line) for line in capsys.readouterr().err.splitlines()]
    alembic = [e for e in entries if e["logger"].startswith("alembic")]
    assert bool(alembic) is alembic_lines, entries
    assert logging.getLogger("httpx").level == logging.WARNING


def test_python_warnings_are_json_lines_too(tmp_path: Path) -> None:
    script = (
        "import warnings\n"
        "from rapport.engine.core import logs\n"
        "logs.configure('INFO', json_lines=True)\n"
        "warnings.warn('mail for sara@example.com on 2026-11-23', UserWarning)\n"
    )
    ran = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=tmp_path
    )
    lines = ran.stderr.splitlines()
    assert lines and all(line.startswith("{") for line in lines), ran.stderr
    entry = json.loads(lines[-1])
    assert entry["logger"] == "py.warnings" and entry["level"] == "warning"
    assert "mail for [email] on 2026-11-23" in entry["message"]
