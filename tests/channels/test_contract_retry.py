"""The channel contract, continued: what a transient result says about the next try.

Every adapter whose far side can ask us to wait (``Retry-After`` on 429 and 503) puts
that wait in ``retry_after``; every adapter that talks to a server says
``reached=False`` when it could not connect (the try is then not an attempt) and
``reached=True`` when the server answered. Same harnesses as ``test_contract.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from channel_harness import (
    ALL_ADAPTERS,
    CAPABILITIES,
    REFUSES,
    UNREACHABLE,
    WAITS,
    Harness,
    Refusal,
    adapters_with,
)

from rapport.channels import Outcome, OutgoingMessage


def message_for(harness: Harness) -> OutgoingMessage:
    """A message of a kind the adapter carries (e-mail when it carries both)."""
    if "email" in harness.channel.kinds:
        return OutgoingMessage("k:1", "email", "maryam@example.com", "سلام", subject="تولدت مبارک")
    return OutgoingMessage("k:1", "sms", "+989121234567", "تولدت مبارک")


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
def test_the_capability_table_says_which_far_sides_can_wait_or_go_down(harness: Harness) -> None:
    has = CAPABILITIES[harness.name]
    assert (WAITS in has) == (type(harness).ask_to_wait is not Harness.ask_to_wait)
    assert (UNREACHABLE in has) == (type(harness).unreachable is not Harness.unreachable)


@pytest.mark.parametrize("harness", ALL_ADAPTERS, indirect=True)
async def test_an_accepted_message_carries_no_wait_and_reached(harness: Harness) -> None:
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.ACCEPTED, result.reason
    assert (result.retry_after, result.reached) == (None, True)


@pytest.mark.parametrize("status", [429, 503])
@pytest.mark.parametrize("harness", adapters_with(WAITS), indirect=True)
async def test_retry_after_in_seconds_is_read(harness: Harness, status: int) -> None:
    harness.ask_to_wait(status, "120")
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.TRANSIENT
    assert result.retry_after == 120.0
    assert result.reached
    assert str(status) in (result.reason or "") and "120" in (result.reason or "")
    assert harness.delivered() == []


@pytest.mark.parametrize("harness", adapters_with(WAITS), indirect=True)
async def test_retry_after_as_an_http_date_is_read(harness: Harness) -> None:
    harness.ask_to_wait(429, format_datetime(datetime.now(UTC) + timedelta(seconds=90), True))
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.TRANSIENT
    assert result.retry_after is not None and 85 <= result.retry_after <= 90


@pytest.mark.parametrize(
    ("header", "expected"),
    [("Thu, 01 Jan 2015 00:00:00 GMT", 0.0), ("9999999", 86_400.0), ("later, please", None)],
    ids=["past-date", "absurd", "garbage"],
)
@pytest.mark.parametrize("harness", adapters_with(WAITS), indirect=True)
async def test_an_odd_retry_after_is_bounded_or_ignored(
    harness: Harness, header: str, expected: float | None
) -> None:
    harness.ask_to_wait(503, header)
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.TRANSIENT
    assert result.retry_after == expected


@pytest.mark.parametrize("harness", adapters_with(REFUSES), indirect=True)
async def test_a_transient_refusal_reached_the_far_side(harness: Harness) -> None:
    harness.refuse_next(Refusal.TRANSIENT)
    result = await harness.channel.send(message_for(harness))

    assert result.outcome is Outcome.TRANSIENT
    assert result.reached
    if WAITS not in CAPABILITIES[harness.name]:
        assert result.retry_after is None


@pytest.mark.parametrize("harness", adapters_with(UNREACHABLE), indirect=True)
async def test_a_far_side_that_is_down_is_transient_and_not_reached(harness: Harness) -> None:
    async with harness.unreachable() as down:
        result = await down.send(message_for(harness))

    assert result.outcome is Outcome.TRANSIENT
    assert not result.reached
    assert result.retry_after is None
    assert result.reason
