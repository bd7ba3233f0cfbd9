"""Rate limits are exact for fractional rates over any window, on a fake clock: 0.2 a
second is one message every 5 s, never 1 a second (issue 16, point 3)."""

from __future__ import annotations

import asyncio
import itertools
import math
from pathlib import Path

import pytest

from rapport.channels.base import OutgoingMessage, SendResult
from rapport.channels.recording import RecordingChannel
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.delivery.lanes import ChannelLane, SlidingWindowLimiter, build_channels


class FakeClock:
    """Monotonic seconds that move only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.now += seconds
        await asyncio.sleep(0)  # let the other senders run, as a real sleep would


def message(n: int) -> OutgoingMessage:
    return OutgoingMessage(idempotency_key=f"K{n}", kind="sms", to="+15550100", text=f"m{n}")


async def send_times(rate: float, count: int, *, instances: int = 1) -> list[float]:
    """When each of ``count`` messages reached the adapter through a lane at ``rate``,
    sent all at once by ``instances`` concurrent senders."""
    clock = FakeClock()
    stamps: list[float] = []

    def record(outgoing: OutgoingMessage) -> SendResult:
        stamps.append(clock())
        return SendResult.accepted()

    lane = ChannelLane(
        "sms",
        [("p", [RecordingChannel(handler=record) for _ in range(instances)])],
        rate_per_second=rate,
        clock=clock,
        sleep=clock.sleep,
    )
    await asyncio.gather(*(lane.send(message(n)) for n in range(count)))
    assert len(stamps) == count
    return sorted(stamps)


def most_in_any_window(stamps: list[float], seconds: float) -> int:
    """The most sends in any half-open window [t, t + seconds) (1e-9 s of float slack)."""
    return max(
        sum(1 for t in stamps[i:] if t - first < seconds - 1e-9) for i, first in enumerate(stamps)
    )


async def test_a_fifth_of_a_message_a_second_is_one_every_five_seconds() -> None:
    stamps = await send_times(0.2, 100, instances=4)
    assert stamps[0] == 0.0
    assert 495 <= stamps[-1] <= 500
    assert all(abs(b - a - 5.0) < 1e-6 for a, b in itertools.pairwise(stamps))
    assert most_in_any_window(stamps, 5.0) == 1
    assert most_in_any_window(stamps, 60.0) == 12


async def test_two_and_a_half_a_second_is_exact_over_any_window() -> None:
    stamps = await send_times(2.5, 100, instances=3)
    assert abs(stamps[-1] - 99 / 2.5) < 1e-6  # 100 messages in 39.6 s: 2.5 a second
    assert all(abs(b - a - 0.4) < 1e-6 for a, b in itertools.pairwise(stamps))
    for seconds in (0.4, 1.0, 2.0, 4.0, 10.0):
        assert most_in_any_window(stamps, seconds) == math.ceil(2.5 * seconds - 1e-9)


@pytest.mark.parametrize("rate", [0.1, 0.3, 0.7, 1.5, 3.25, 12.5])
async def test_any_fractional_rate_holds_over_short_and_long_windows(rate: float) -> None:
    stamps = await send_times(rate, 60, instances=2)
    assert abs(stamps[-1] - 59 / rate) < 1e-6
    for seconds in (1.0, 5.0, 30.0, 60.0):
        assert most_in_any_window(stamps, seconds) <= math.ceil(rate * seconds - 1e-9)


async def test_whole_rates_keep_their_sliding_one_second_window() -> None:
    stamps = await send_times(3, 10, instances=3)
    assert stamps == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 3.0]
    stamps = await send_times(25, 90, instances=4)
    assert most_in_any_window(stamps, 1.0) == 25
    assert stamps[-1] == 3.0  # 90 at 25 a second: bursts at 0, 1, 2 and 3 s


async def test_the_limiter_sleeps_exactly_the_time_left() -> None:
    clock = FakeClock()
    waits: list[float] = []

    async def sleep(seconds: float) -> None:
        waits.append(seconds)
        await clock.sleep(seconds)

    limiter = SlidingWindowLimiter(0.2, clock=clock, sleep=sleep)
    await limiter.acquire()
    clock.now += 1.5
    await limiter.acquire()
    assert waits == [3.5] and clock.now == 5.0
    with pytest.raises(ValueError, match="positive rate"):
        SlidingWindowLimiter(0)


def test_configured_rates_reach_the_lane_untruncated(tmp_path: Path) -> None:
    settings = Settings(
        base_dir=tmp_path,
        channels={
            "email": ChannelConfig(adapter="file", kind="email", path="o", rate_per_second=2.5),
            "sms": ChannelConfig(adapter="file", kind="sms", path="o", rate_per_second=0.2),
        },
    )
    lanes = build_channels(settings)
    windows = {name: lane.limiter and lane.limiter.window for name, lane in lanes.items()}
    assert windows == {"email": 0.4, "sms": 5.0}


def test_an_adapter_default_rate_applies_when_none_is_configured(tmp_path: Path) -> None:
    twilio = ChannelConfig(
        adapter="twilio",
        kind="sms",
        account_sid="AC0123456789abcdef0123456789abcdef",
        auth_token="t0ken-value",
        from_number="+15550100",
    )
    lanes = build_channels(Settings(base_dir=tmp_path, channels={"sms": twilio}))
    assert lanes["sms"].limiter is not None and lanes["sms"].limiter.rate == 1.0
    faster = twilio.model_copy(update={"rate_per_second": 0.5})
    lanes = build_channels(Settings(base_dir=tmp_path, channels={"sms": faster}))
    assert lanes["sms"].limiter is not None and lanes["sms"].limiter.rate == 0.5
    files = build_channels(Settings(base_dir=tmp_path))
    assert all(lane.limiter is None for lane in files.values())
