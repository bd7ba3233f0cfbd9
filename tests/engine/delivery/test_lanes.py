"""Channel lanes: rate limits, failover between providers, concurrency."""

from __future__ import annotations

import asyncio
import time

from rapport.channels.base import OutgoingMessage, SendResult
from rapport.channels.http_sms import HTTPSMSChannel
from rapport.channels.recording import RecordingChannel
from rapport.engine.delivery.lanes import ChannelLane, SlidingWindowLimiter


def message(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=f"K{n}",
        kind="sms",
        to="+989121234567",
        text=f"پیام {n}",
        customer_id=f"C{n}",
        campaign="test",
    )


async def test_a_rate_limit_is_never_exceeded_in_any_one_second_window() -> None:
    stamps: list[float] = []

    def record(outgoing: OutgoingMessage) -> SendResult:
        stamps.append(time.monotonic())
        return SendResult.accepted()

    lane = ChannelLane(
        "sms", [("recording", [RecordingChannel(handler=record)] * 4)], rate_per_second=25
    )
    started = time.monotonic()
    await asyncio.gather(*(lane.send(message(n)) for n in range(90)))
    assert len(stamps) == 90
    assert time.monotonic() - started >= 3.0  # 90 at 25/s cannot finish sooner
    stamps.sort()
    for i, first in enumerate(stamps):
        in_window = [t for t in stamps[i:] if t - first < 1.0]
        assert len(in_window) <= 25


async def test_limiter_waits_for_the_oldest_send_to_leave_the_window() -> None:
    now = [0.0]
    waits: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    limiter = SlidingWindowLimiter(2, clock=lambda: now[0], sleep=fake_sleep)
    for _ in range(3):
        await limiter.acquire()
        now[0] += 0.1
    assert waits == [0.8]


async def test_with_the_first_provider_down_messages_go_through_the_second(sms_sink) -> None:
    down = HTTPSMSChannel(url="http://127.0.0.1:9/sms", timeout=1)  # nothing listens there
    up = HTTPSMSChannel(url=sms_sink.url)
    lane = ChannelLane(
        "sms", [("first", [down]), ("second", [up])], failover_after=2, cooldown_seconds=60
    )
    results = [await lane.send(message(n)) for n in range(6)]
    assert all(r.outcome.value == "accepted" for r in results)
    assert sorted(sms_sink.delivered) == [f"K{n}" for n in range(6)]
    assert lane.providers[0].resting_until > 0  # skipped after two failures in a row
    await lane.aclose()


async def test_a_permanent_refusal_is_not_tried_on_the_next_provider() -> None:
    refusing = RecordingChannel(handler=lambda m: SendResult.permanent("invalid number"))
    spare = RecordingChannel()
    lane = ChannelLane("sms", [("first", [refusing]), ("second", [spare])])
    result = await lane.send(message(1))
    assert result.outcome.value == "permanent" and spare.sent == []
