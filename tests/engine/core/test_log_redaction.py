"""The redaction filter masks a link's token wherever a path or query string shows it,
whatever the token looks like (an operator's report token is any string)."""

from __future__ import annotations

import json
import logging

import pytest

from rapport.engine.core.logs import JSONFormatter, RedactingFilter, redact


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ('"GET /unsubscribe/abc123 HTTP/1.1" 200', "abc123"),
        ("POST /preferences/Zm9v-bar_baz?lang=fa 303", "Zm9v-bar_baz"),
        ("GET /confirm/short 404", "short"),
        ("GET /feedback/anything.at.all 200", "anything.at.all"),
        ("http://x.example/unsubscribe/tok%2Fen/extra", "tok%2Fen"),
        ("GET /admin/report?token=hunter2&from=2025-01-01 200", "hunter2"),
        ("GET /admin/report?from=2025-01-01&TOKEN=hunter2 200", "hunter2"),
        ("GET /x?access_token=hunter2", "hunter2"),
    ],
)
def test_token_paths_and_query_tokens_are_masked(line: str, secret: str) -> None:
    cleaned = redact(line)
    assert secret not in cleaned
    assert "[token]" in cleaned


def test_what_is_not_a_token_is_left_alone() -> None:
    line = "GET /preferences 200; GET /healthz 200; GET /admin/report?lang=fa&tokens=2"
    assert redact(line) == line


def test_string_fields_added_to_a_record_are_redacted_and_uvicorns_colour_copy_dropped() -> None:
    record = logging.LogRecord("uvicorn.error", logging.INFO, "", 0, "%s", ("hi",), None)
    record.path = "/unsubscribe/abc123?token=hunter2"
    record.color_message = "\x1b[36m%s\x1b[0m"
    assert RedactingFilter().filter(record)
    entry = json.loads(JSONFormatter().format(record))
    assert entry["path"] == "/unsubscribe/[token]?token=[token]"
    assert "color_message" not in entry and entry["message"] == "hi"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        ("message sent via email", "message sent via email"),
        ("B0000001", "B0000001"),
        ("C-1234567", "C-1234567"),
        ("call 0912 123 4567", "call [phone]"),
        ("to sara@example.com", "to [email]"),
        ("first_name=Sara", "first_name=[name]"),
    ],
)
def test_text_without_anything_a_mask_needs_is_written_as_it_is(text: str, shown: str) -> None:
    """No "@", "/", "=", ":", "." and fewer than eight digits: nothing to mask (the fast
    path every sent message's log line takes); anything else is still masked."""
    assert redact(text) == shown
