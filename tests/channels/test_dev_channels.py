"""Console and recording adapters: what the contract does not cover."""

from __future__ import annotations

import io

import pytest

from rapport.channels import (
    ConsoleChannel,
    Outcome,
    OutgoingMessage,
    RecordingChannel,
    SendResult,
)

SMS = OutgoingMessage(idempotency_key="k:1", kind="sms", to="+15550100", text="hi")


async def test_console_escapes_terminal_control_characters() -> None:
    stream = io.StringIO()
    await ConsoleChannel(stream).send(
        OutgoingMessage(idempotency_key="k", kind="sms", to="+1", text="a\x1b[2Jb\tc\nd")
    )

    out = stream.getvalue()
    assert "\x1b" not in out
    assert "a\\x1b[2Jb\tc\nd" in out


async def test_console_writes_to_stdout_by_default(capsys: pytest.CaptureFixture[str]) -> None:
    await ConsoleChannel().send(SMS)

    assert "hi" in capsys.readouterr().out


async def test_recording_accepts_async_handlers_and_remembers_results() -> None:
    async def handler(message: OutgoingMessage) -> SendResult:
        return SendResult.transient("later")

    channel = RecordingChannel(handler)
    result = await channel.send(SMS)

    assert result.outcome is Outcome.TRANSIENT
    assert channel.sent == [SMS]
    assert channel.results == [result]
    channel.clear()
    assert channel.sent == channel.results == []


async def test_recording_kinds_can_be_narrowed_per_instance() -> None:
    email_only = RecordingChannel(kinds=["email"])
    result = await email_only.send(SMS)

    assert email_only.kinds == frozenset({"email"})
    assert RecordingChannel.kinds == frozenset({"email", "sms"})
    assert result.outcome is Outcome.PERMANENT
    assert email_only.sent == []


async def test_recording_context_manager_closes() -> None:
    async with RecordingChannel() as channel:
        await channel.send(SMS)
    assert channel.closed
