"""A channel as the dispatcher drives it: its providers, rate limit and concurrency.

The adapters know one provider each; a lane adds what a production channel needs
around them: never more than ``rate_per_second`` sends in any one-second window,
at most ``concurrency`` sends at once (one adapter instance each, so an SMTP
connection is never shared), and failover: a provider that keeps failing
transiently is skipped for a while and the message goes to the next one at once.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from rapport.channels.base import Channel, Outcome, OutgoingMessage, SendResult
from rapport.channels.registry import (
    AdapterOptionsError,
    InvalidAdapterError,
    UnknownAdapterError,
    build_channel,
)
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import ConfigError

log = logging.getLogger(__name__)
Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]


class SlidingWindowLimiter:
    """At most ``rate`` acquisitions in any window of ``per`` seconds.

    A token bucket allows a burst of its capacity on top of its rate inside one
    window; keeping the times of the last ``rate`` sends and waiting for the oldest to
    leave the window is exact.
    """

    def __init__(
        self,
        rate: int,
        per: float = 1.0,
        *,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.rate = rate
        self.per = per
        self.clock = clock
        self.sleep = sleep
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                while self._times and now - self._times[0] >= self.per:
                    self._times.popleft()
                if len(self._times) < self.rate:
                    self._times.append(now)
                    return
                await self.sleep(self.per - (now - self._times[0]))


@dataclass
class Provider:
    name: str
    instances: asyncio.Queue[Channel]
    failures_in_a_row: int = 0
    resting_until: float = 0.0
    all_instances: list[Channel] = field(default_factory=list)


class ChannelLane:
    def __init__(
        self,
        name: str,
        providers: Sequence[tuple[str, Sequence[Channel]]],
        *,
        rate_per_second: float | None = None,
        failover_after: int = 3,
        cooldown_seconds: float = 60.0,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self.name = name
        self.providers: list[Provider] = []
        for provider_name, instances in providers:
            queue: asyncio.Queue[Channel] = asyncio.Queue()
            for instance in instances:
                queue.put_nowait(instance)
            self.providers.append(Provider(provider_name, queue, all_instances=list(instances)))
        self.concurrency = min(len(p.all_instances) for p in self.providers)
        self.failover_after = failover_after
        self.cooldown = cooldown_seconds
        self.clock = clock
        self.limiter = (
            SlidingWindowLimiter(max(1, int(rate_per_second)), clock=clock, sleep=sleep)
            if rate_per_second
            else None
        )

    def _order(self) -> list[Provider]:
        """Healthy providers first, in configured order; resting ones as a last resort."""
        now = self.clock()
        healthy = [p for p in self.providers if p.resting_until <= now]
        resting = [p for p in self.providers if p.resting_until > now]
        return healthy + resting

    async def send(self, message: OutgoingMessage) -> SendResult:
        result = SendResult.transient(f"channel {self.name} has no provider")
        for provider in self._order():
            if self.limiter is not None:
                await self.limiter.acquire()
            instance = await provider.instances.get()
            try:
                result = await instance.send(message)
            except Exception as exc:  # an adapter bug must not lose the message
                log.exception("adapter %s raised on message %s", provider.name, message.campaign)
                result = SendResult.transient(f"adapter error: {type(exc).__name__}")
            finally:
                provider.instances.put_nowait(instance)
            if result.outcome is not Outcome.TRANSIENT:
                provider.failures_in_a_row = 0
                return result
            provider.failures_in_a_row += 1
            if provider.failures_in_a_row >= self.failover_after:
                provider.resting_until = self.clock() + self.cooldown
                log.warning(
                    "channel %s: provider %s failed %d times in a row; resting it",
                    self.name,
                    provider.name,
                    provider.failures_in_a_row,
                )
            if len(self.providers) == 1:
                return result
        return result

    async def aclose(self) -> None:
        for provider in self.providers:
            for instance in provider.all_instances:
                await instance.aclose()


def build_channels(settings: Settings) -> dict[str, ChannelLane]:
    """A lane per configured channel: its providers' adapters, built once and reused."""
    lanes: dict[str, ChannelLane] = {}
    for name, config in settings.channels.items():
        providers = []
        for index, provider in enumerate(config.provider_list()):
            options = provider.options()
            label = f"channels.{name}" + (f".providers.{index}" if config.providers else "")
            try:
                instances = [
                    build_channel(provider.adapter, options, settings.base_dir)
                    for _ in range(config.concurrency)
                ]
            except (
                UnknownAdapterError,
                InvalidAdapterError,
                AdapterOptionsError,
                ValueError,
            ) as exc:
                source = {"smtp": " (from RAPPORT_SMTP_URL)", "http_sms": " (from RAPPORT_SMS_URL)"}
                via = source.get(provider.adapter, "") if "url" in options else ""
                raise ConfigError(f"{label}{via}: {exc}") from None
            providers.append((provider.adapter, instances))
        lanes[name] = ChannelLane(
            name,
            providers,
            rate_per_second=config.rate_per_second,
            failover_after=config.failover_after,
            cooldown_seconds=config.failover_cooldown_seconds,
        )
    return lanes
