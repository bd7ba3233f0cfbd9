"""Channel lanes: rate limits, failover between providers, concurrency."""

from __future__ import annotations

import asyncio
import logging
import math
import threading
import time
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from channel_servers import Reply, SMSProviderServer, free_port

from rapport.channels.base import Outcome, OutgoingMessage, SendResult
from rapport.channels.http_sms import HTTPSMSChannel
from rapport.channels.recording import RecordingChannel
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.core.errors import ConfigError
from rapport.engine.delivery.lanes import ChannelLane, SlidingWindowLimiter, build_channels


def message(n: int) -> OutgoingMessage:
    return OutgoingMessage(
        idempotency_key=f"K{n}",
        kind="sms",
        to="+989121234567",
        text=f"پیام {n}",
        customer_id=f"C{n}",
        campaign="test",
    )


class _Granted(deque[float]):
    """The limiter's window, keeping every time it granted (what is appended to it)."""

    def __init__(self) -> None:
        super().__init__()
        self.all: list[float] = []

    def append(self, value: float) -> None:
        self.all.append(value)
        super().append(value)


async def test_a_rate_limit_is_never_exceeded_in_any_one_second_window() -> None:
    sent: list[OutgoingMessage] = []

    def record(outgoing: OutgoingMessage) -> SendResult:
        sent.append(outgoing)
        return SendResult.accepted()

    lane = ChannelLane(
        "sms", [("recording", [RecordingChannel(handler=record)] * 4)], rate_per_second=25
    )
    assert lane.limiter is not None
    granted = lane.limiter._times = _Granted()
    started = time.monotonic()
    await asyncio.gather(*(lane.send(message(n)) for n in range(90)))
    assert len(sent) == 90 and len(granted.all) == 90  # one turn a send
    assert time.monotonic() - started >= 3.0  # 90 at 25/s cannot finish sooner
    # The times the lane let sends go, on its own clock: the moment a handler runs
    # afterwards also carries the event loop's scheduling delay, which a loaded machine
    # makes uneven (a send let go at 0.000 s but run at 0.050 s, the 26th let go at
    # 1.000 s and run at once, looked like 26 in one second).
    for i, first in enumerate(granted.all):
        in_window = [t for t in granted.all[i:] if t - first < 1.0 - 1e-9]
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


# --- resting, pausing and what is logged ----------------------------------------------------


class FakeClock:
    """The lane's monotonic clock, moved by the test."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def _serve() -> Iterator[SMSProviderServer]:
    server = SMSProviderServer()
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@pytest.fixture
def provider() -> Iterator[SMSProviderServer]:
    """A generic SMS provider on loopback, answering from a script (see channel_servers)."""
    yield from _serve()


@pytest.fixture
def spare() -> Iterator[SMSProviderServer]:
    yield from _serve()


def scripted(*answers: SendResult) -> RecordingChannel:
    """A provider answering ``answers`` in turn, then accepting everything."""
    queue = deque(answers)
    return RecordingChannel(handler=lambda m: queue.popleft() if queue else SendResult.accepted())


def failing(message: OutgoingMessage) -> SendResult:
    return SendResult.transient("HTTP 500")


def lane_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [
        r.getMessage()
        for r in caplog.records
        if r.name == "rapport.engine.delivery.lanes" and r.levelno >= logging.WARNING
    ]


async def test_retry_after_pauses_the_provider_and_a_paused_lane_calls_no_provider(
    provider: SMSProviderServer, clock: FakeClock
) -> None:
    provider.replies.append(Reply(429, {"error": "rate_limited"}, {"Retry-After": "120"}))
    lane = ChannelLane("sms", [("http", [HTTPSMSChannel(provider.url)])], clock=clock)

    first = await lane.send(message(1))
    assert (first.outcome, first.retry_after, first.reached) == (Outcome.TRANSIENT, 120.0, True)
    assert lane.paused_for() == 120.0

    clock.advance(20)
    paused = await lane.send(message(2))
    assert (paused.outcome, paused.reached) == (Outcome.TRANSIENT, False)
    assert paused.retry_after == 100.0
    assert paused.reason == "channel sms paused for 100 s"
    assert len(provider.requests) == 1, "a paused lane must not call the provider"

    clock.advance(100)
    assert lane.paused_for() == 0.0
    after = await lane.send(message(3))
    assert after.outcome is Outcome.ACCEPTED, after.reason
    assert len(provider.requests) == 2
    await lane.aclose()


async def test_a_paused_provider_is_skipped_and_the_next_used_at_once(
    provider: SMSProviderServer, spare: SMSProviderServer, clock: FakeClock
) -> None:
    provider.replies.append(Reply(503, None, {"Retry-After": "120"}))
    lane = ChannelLane(
        "sms",
        [("first", [HTTPSMSChannel(provider.url)]), ("second", [HTTPSMSChannel(spare.url)])],
        clock=clock,
    )

    results = [await lane.send(message(n)) for n in range(3)]

    assert [r.outcome for r in results] == [Outcome.ACCEPTED] * 3
    assert [r.body["idempotency_key"] for r in provider.requests] == ["K0"]
    assert [r.body["idempotency_key"] for r in spare.requests] == ["K0", "K1", "K2"]
    assert lane.paused_for() == 0.0, "the second provider can be used now"
    await lane.aclose()


@pytest.mark.parametrize(
    "silence",
    [Reply(200, {"id": "p-1"}, hang_up=True), Reply(200, {"id": "p-1"}, delay=3.0)],
    ids=["connection dropped after the request", "no reply within the timeout"],
)
async def test_a_message_the_first_provider_may_have_taken_is_not_sent_through_the_next(
    provider: SMSProviderServer, spare: SMSProviderServer, silence: Reply
) -> None:
    """The first provider read the request and never answered: it may have sent the
    SMS. The next provider does not know its idempotency key, so sending there too
    would text the customer twice; the retry goes where the key lets the copy drop."""
    provider.replies.append(silence)
    lane = ChannelLane(
        "sms",
        [
            ("first", [HTTPSMSChannel(provider.url, timeout=1)]),
            ("second", [HTTPSMSChannel(spare.url)]),
        ],
    )

    result = await lane.send(message(1))

    assert [r.body["idempotency_key"] for r in provider.requests] == ["K1"]
    assert spare.requests == [], "sent again through a provider that cannot drop the copy"
    assert (result.outcome, result.reached) == (Outcome.TRANSIENT, True)
    await lane.aclose()


class ReadsTheWrongField(HTTPSMSChannel):
    """A third-party adapter with a bug after the request went out: it looks for the
    provider's id under a key the provider does not use."""

    async def send(self, message: OutgoingMessage) -> SendResult:
        await super().send(message)
        raise KeyError("sid")


async def test_a_message_whose_adapter_raised_after_sending_is_not_sent_through_the_next(
    provider: SMSProviderServer, spare: SMSProviderServer
) -> None:
    lane = ChannelLane(
        "sms",
        [("first", [ReadsTheWrongField(provider.url)]), ("second", [HTTPSMSChannel(spare.url)])],
    )

    result = await lane.send(message(1))

    assert [r.body["idempotency_key"] for r in provider.requests] == ["K1"]
    assert spare.requests == [], "sent again through a provider that cannot drop the copy"
    assert (result.outcome, result.unanswered) == (Outcome.TRANSIENT, True)
    await lane.aclose()


async def test_a_paused_lane_says_when_its_first_provider_may_be_tried(clock: FakeClock) -> None:
    lane = ChannelLane(
        "sms",
        [
            ("first", [scripted(SendResult.transient("429", retry_after=120))]),
            ("second", [scripted(SendResult.transient("503", retry_after=30))]),
        ],
        clock=clock,
    )

    tried = await lane.send(message(1))
    paused = await lane.send(message(2))

    assert (tried.reason, tried.reached) == ("503", True)  # both tried, the last answer
    assert (paused.retry_after, paused.reached) == (30.0, False)
    assert lane.paused_for() == 30.0


async def test_a_provider_that_cannot_be_reached_rests_like_any_failing_one() -> None:
    down = HTTPSMSChannel(f"http://127.0.0.1:{free_port()}/sms", timeout=5)
    lane = ChannelLane("sms", [("down", [down])], failover_after=3, cooldown_seconds=60)

    refused = [await lane.send(message(n)) for n in range(3)]
    paused = await lane.send(message(3))

    assert [(r.outcome, r.reached) for r in refused] == [(Outcome.TRANSIENT, False)] * 3
    assert (paused.outcome, paused.reached) == (Outcome.TRANSIENT, False)
    assert (paused.reason or "").startswith("channel sms paused for ")
    assert paused.retry_after is not None and 59 < paused.retry_after <= 60
    await lane.aclose()


async def test_after_a_rest_one_more_failure_rests_it_again_and_a_success_heals_it(
    clock: FakeClock,
) -> None:
    channel = scripted(*[SendResult.transient("HTTP 500")] * 3)
    lane = ChannelLane(
        "sms", [("only", [channel])], failover_after=2, cooldown_seconds=30, clock=clock
    )

    await lane.send(message(1))
    await lane.send(message(2))
    assert lane.paused_for() == 30.0
    assert (await lane.send(message(3))).reached is False
    assert len(channel.sent) == 2

    clock.advance(30)
    again = await lane.send(message(4))  # half-open: tried, fails, rests at once
    assert (again.reason, len(channel.sent), lane.paused_for()) == ("HTTP 500", 3, 30.0)

    clock.advance(30)
    healed = await lane.send(message(5))
    assert healed.outcome is Outcome.ACCEPTED
    assert lane.providers[0].failures_in_a_row == 0


@pytest.mark.parametrize(
    ("asked", "paused"), [(1e12, 86_400.0), (math.nan, 0.0), (0.0, 0.0), (-5.0, 0.0)]
)
async def test_the_wait_an_adapter_asks_for_is_bounded(
    clock: FakeClock, asked: float, paused: float
) -> None:
    answer = SendResult.transient("x", retry_after=asked)
    lane = ChannelLane("sms", [("odd", [scripted(answer)])], clock=clock)

    await lane.send(message(1))

    assert lane.paused_for() == paused


async def test_a_single_provider_failing_for_a_minute_is_called_thrice_and_logged_once(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    """Before, a single-provider lane kept calling a resting provider and logged
    'resting it' on every failure: 1,428 times in 60 s."""
    caplog.set_level(logging.INFO, logger="rapport.engine.delivery.lanes")
    channel = RecordingChannel(handler=failing)
    lane = ChannelLane("sms", [("only", [channel])], clock=clock)

    results = []
    for n in range(1428):
        results.append(await lane.send(message(n)))
        clock.advance(60 / 1428)

    assert len(channel.sent) == 3
    assert sum(not r.reached for r in results) == 1425
    [warning] = lane_warnings(caplog)
    assert "provider only failed 3 times in a row (HTTP 500); resting it for 60 s" in warning
    assert len(caplog.records) <= 2  # the warning, and one "sending nothing"


async def test_a_provider_resting_again_and_again_is_logged_at_most_once_a_minute(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rapport.engine.delivery.lanes")
    channel = RecordingChannel(handler=failing)
    lane = ChannelLane("sms", [("only", [channel])], cooldown_seconds=0.5, clock=clock)

    for n in range(2000):  # 100 s
        await lane.send(message(n))
        clock.advance(0.05)

    assert len(channel.sent) > 150, "rested for half a second each time, then tried again"
    first, second = lane_warnings(caplog)
    assert "resting it" in first and "not logged" not in first
    assert "resting it" in second and "more like it in the last 60 s not logged" in second
    assert len(caplog.records) <= 4


async def test_a_provider_asking_to_wait_again_and_again_is_logged_once_a_minute(
    provider: SMSProviderServer, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="rapport.engine.delivery.lanes")
    provider.replies.extend(Reply(429, None, {"Retry-After": "1"}) for _ in range(40))
    lane = ChannelLane(
        "sms", [("http", [HTTPSMSChannel(provider.url)])], failover_after=1000, clock=clock
    )

    for n in range(40):
        result = await lane.send(message(n))
        assert result.retry_after is not None
        clock.advance(1)

    assert len(provider.requests) == 40
    [warning] = lane_warnings(caplog)
    assert "provider http asked to wait (HTTP 429 (retry after 1 s)); pausing it for 1 s" in warning
    await lane.aclose()


async def test_an_adapter_that_raises_is_logged_once_a_minute(
    clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    def broken(message: OutgoingMessage) -> SendResult:
        raise RuntimeError("bug")

    lane = ChannelLane(
        "sms", [("broken", [RecordingChannel(handler=broken)])], failover_after=1000, clock=clock
    )

    results = [await lane.send(message(n)) for n in range(100)]

    assert {r.reason for r in results} == {"adapter error: RuntimeError"}
    assert all(r.reached for r in results), "we cannot know what it did before raising"
    assert len([r for r in caplog.records if r.exc_info]) == 1


@pytest.mark.parametrize(
    ("channel", "expected"),
    [
        ({"adapter": "smtp", "url": "smtp://127.0.0.1:2525"}, 16),
        ({"adapter": "http_sms", "url": "http://127.0.0.1:9/sms"}, 16),
        ({"adapter": "file", "path": "out"}, 1),
        ({"adapter": "smtp", "url": "smtp://127.0.0.1:2525", "concurrency": 3}, 3),
        (
            {
                "providers": [
                    {"adapter": "http_sms", "url": "http://127.0.0.1:9/sms"},
                    {"adapter": "file", "path": "out"},
                ]
            },
            1,
        ),
    ],
)
def test_a_channel_without_concurrency_takes_the_lowest_its_adapters_declare(
    tmp_path: Path, channel: dict[str, Any], expected: int
) -> None:
    kind = "sms" if "http_sms" in str(channel) else "email"
    settings = Settings(base_dir=tmp_path).model_copy(
        update={"channels": {kind: ChannelConfig(kind=kind, **channel)}}
    )

    assert build_channels(settings)[kind].concurrency == expected


def test_a_channel_from_config_yaml_that_cannot_be_built_is_not_blamed_on_a_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("RAPPORT_SMTP_URL", raising=False)
    channel = ChannelConfig(kind="email", adapter="smtp", url="smtp://h", ca_file="missing.pem")
    settings = Settings(base_dir=tmp_path).model_copy(update={"channels": {"email": channel}})

    with pytest.raises(ConfigError) as raised:
        build_channels(settings)

    assert str(raised.value).startswith("channels.email: channel adapter 'smtp': cannot load")
    assert "RAPPORT_SMTP_URL" not in str(raised.value)
