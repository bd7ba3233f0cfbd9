"""A channel as the dispatcher drives it: its providers, rate limit and concurrency.

The adapters know one provider each; a lane adds what a production channel needs
around them: its rate limit (:class:`SlidingWindowLimiter`: a whole
``rate_per_second`` never has more sends than that in any one-second window; a
fractional one spaces sends exactly, 0.2 one every 5 s), at most ``concurrency``
sends at once (one adapter instance each, so an SMTP connection is never shared), and
failover: a provider that keeps failing transiently is skipped for a while and the
message goes to the next one at once. A channel configured without a rate takes the
lowest default rate its providers' adapters declare (``Channel.rate_per_second``,
e.g. Twilio's 1 a second), if any, and without a concurrency the lowest its adapters
declare (``Channel.concurrency``: 16 for SMTP and the HTTP SMS adapter, whose
connections each carry one send at a time, so a dispatcher keeps the round trips of
16 in flight and checks them in groups; 1 for the others).

A provider is not tried while it is *resting* or *paused*:

* resting: ``failover_after`` transient failures in a row (a connection refused
  counts like any other) rest it for ``cooldown_seconds``. When the rest ends it is
  tried again, half-open: one more transient failure rests it again at once, a
  success or a permanent answer makes it healthy.
* paused: a transient result carrying ``retry_after`` (the provider's
  ``Retry-After``) pauses it for that long, whatever its failure count.

With two providers a resting or paused one is skipped and the next is used at once,
and a transient refusal (a 4xx/5xx reply, a 429) moves the message on to the next
provider at once. A try that went out and got no answer (``SendResult.unanswered``: no
reply in time, the connection dropped) does not: the provider may have sent it, and
another provider, which cannot know its idempotency key, would send a second copy; the
message is retried later like any transient failure. An adapter that raises counts as
such a try: where it failed, before or after sending, is unknown.
When no provider of the lane may be tried, :meth:`ChannelLane.send` calls none: it
answers at once with a transient result, ``reached=False`` (the try is not an
attempt) and ``retry_after`` the seconds until the first provider may be tried,
which :meth:`ChannelLane.paused_for` also tells the dispatcher before it claims.

Repeated lane messages (a provider starting to rest, an adapter raising, the lane
paused) are logged at most once a minute each, with how many were left out.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import time
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field

from rapport.channels.base import Channel, Outcome, OutgoingMessage, SendResult
from rapport.channels.registry import (
    AdapterOptionsError,
    InvalidAdapterError,
    UnknownAdapterError,
    adapter_class,
    build_channel,
)
from rapport.channels.retry_after import held_wait
from rapport.engine.core.config import ChannelConfig, Settings
from rapport.engine.core.configcheck import URL_VARIABLES
from rapport.engine.core.errors import ConfigError
from rapport.engine.core.logs import Throttle

log = logging.getLogger(__name__)
Monotonic = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
#: The shortest gap between two logs of one repeated lane message, in seconds.
LOG_EVERY = 60.0
#: Seconds a rate limit's window may be short by (float rounding), see acquire().
_TOLERANCE = 1e-9


class SlidingWindowLimiter:
    """``rate`` acquisitions per ``per`` seconds, exactly, whole or fractional.

    A whole rate: at most ``rate`` in any window of ``per`` seconds. The times of the
    last ``rate`` acquisitions are kept and the next waits for the oldest to leave the
    window (a token bucket would allow a burst of its capacity on top of its rate
    inside one window). A fractional rate cannot be a whole number of sends per
    window, so acquisitions are spaced ``per / rate`` apart: 0.2 a second is one every
    5 s, 2.5 a second one every 0.4 s (never more than 3 in any second, 5 in any
    two). Times are the clock's float seconds; nothing is rounded, so the rate holds
    over any length of time.
    """

    def __init__(
        self,
        rate: float,
        per: float = 1.0,
        *,
        clock: Monotonic = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if not (0 < rate < math.inf and 0 < per < math.inf):
            raise ValueError(f"a rate limit needs a positive rate and window, not {rate}/{per}")
        self.rate = rate
        self.per = per
        whole = float(rate).is_integer()
        #: How many acquisitions one window holds, and how long the window is.
        self.size = int(rate) if whole else 1
        self.window = per if whole else per / rate
        self.clock = clock
        self.sleep = sleep
        self._times: deque[float] = deque()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:
            while True:
                now = self.clock()
                # A nanosecond's tolerance: a sleep of exactly the remaining time may
                # land a rounding error short of it, and must not wait once more.
                while self._times and now - self._times[0] >= self.window - _TOLERANCE:
                    self._times.popleft()
                if len(self._times) < self.size:
                    self._times.append(now)
                    return
                await self.sleep(self.window - (now - self._times[0]))


@dataclass
class Provider:
    name: str
    instances: asyncio.Queue[Channel]
    failures_in_a_row: int = 0
    #: Not tried before this moment of the lane's clock: resting after failures, or
    #: paused for the wait the provider asked for (``retry_after``), whichever is later.
    resting_until: float = 0.0
    all_instances: list[Channel] = field(default_factory=list)

    def usable(self, now: float) -> bool:
        return self.resting_until <= now


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
            SlidingWindowLimiter(rate_per_second, clock=clock, sleep=sleep)
            if rate_per_second
            else None
        )
        self._throttle = Throttle(LOG_EVERY)

    def paused_for(self) -> float:
        """Seconds until some provider of the lane may be tried; 0.0 if one may now."""
        now = self.clock()
        return max(0.0, min(p.resting_until for p in self.providers) - now)

    async def take_turn(self) -> None:
        """Wait until the rate limit lets one more send through, and count it.

        The dispatcher waits here before its last check of a message, then sends with
        ``turn_taken=True``: the check stays right before the provider call, however
        long the wait for the rate limit.
        """
        if self.limiter is not None:
            await self.limiter.acquire()

    async def send(self, message: OutgoingMessage, *, turn_taken: bool = False) -> SendResult:
        """Send through the first provider that may be tried, failing over on transient
        failures; a paused lane calls no provider (see the module docstring).
        ``turn_taken``: :meth:`take_turn` was called for the first try."""
        result: SendResult | None = None
        for provider in self.providers:
            if not provider.usable(self.clock()):
                continue
            if self.limiter is not None and not turn_taken:
                await self.limiter.acquire()
            turn_taken = False
            instance = await provider.instances.get()
            try:
                if not provider.usable(self.clock()):  # paused while this send waited
                    continue
                try:
                    answer = await instance.send(message)
                except Exception as exc:  # an adapter bug must not lose the message
                    self._log_raised(provider, message, exc)
                    # Raised before or after the request went out: it may have gone.
                    reason = f"adapter error: {type(exc).__name__}"
                    answer = SendResult.transient(reason, unanswered=True)
            finally:
                provider.instances.put_nowait(instance)
            if answer.outcome is not Outcome.TRANSIENT:
                self._succeeded(provider)
                return answer
            self._failed(provider, answer)
            if answer.unanswered:  # it may have gone: the next provider would send a copy
                return answer
            result = answer
        return result if result is not None else self._paused()

    def _paused(self) -> SendResult:
        """The answer when no provider may be tried: nothing was sent."""
        wait = self.paused_for()
        key = f"{self.name}:paused"
        if self._throttle.allow(key, self.clock()):
            held = self._throttle.held_back(key)
            log.info(
                "channel %s: every provider is resting or paused; sending nothing for %.0f s%s",
                self.name,
                wait,
                _held_note(held),
                extra={"channel": self.name},
            )
        return SendResult.transient(
            f"channel {self.name} paused for {math.ceil(wait)} s", retry_after=wait, reached=False
        )

    def _succeeded(self, provider: Provider) -> None:
        """A provider answered (accepted or refused for good): it is healthy."""
        if provider.failures_in_a_row >= self.failover_after:
            log.info(
                "channel %s: provider %s answers again after %d transient failures",
                self.name,
                provider.name,
                provider.failures_in_a_row,
                extra={"channel": self.name, "provider": provider.name},
            )
        provider.failures_in_a_row = 0

    def _failed(self, provider: Provider, result: SendResult) -> None:
        """Count a transient failure; rest or pause the provider when it is due."""
        now = self.clock()
        provider.failures_in_a_row += 1
        was_resting = not provider.usable(now)
        rest = provider.failures_in_a_row >= self.failover_after
        pause = held_wait(result.retry_after)
        until = max(
            provider.resting_until,
            now + self.cooldown if rest else now,
            now + pause if pause is not None else now,
        )
        if until <= provider.resting_until or until <= now:
            return
        provider.resting_until = until
        if was_resting:  # a send that was already under way when it started resting
            return
        key = f"{self.name}:{provider.name}:rest"
        if not self._throttle.allow(key, now):
            return
        held = self._throttle.held_back(key)
        if rest and (pause is None or pause <= self.cooldown):
            log.warning(
                "channel %s: provider %s failed %d times in a row (%s); resting it for %.0f s%s",
                self.name,
                provider.name,
                provider.failures_in_a_row,
                result.reason,
                until - now,
                _held_note(held),
                extra={"channel": self.name, "provider": provider.name},
            )
        else:
            log.warning(
                "channel %s: provider %s asked to wait (%s); pausing it for %.0f s%s",
                self.name,
                provider.name,
                result.reason,
                until - now,
                _held_note(held),
                extra={"channel": self.name, "provider": provider.name},
            )

    def _log_raised(self, provider: Provider, message: OutgoingMessage, exc: Exception) -> None:
        key = f"{self.name}:{provider.name}:raised:{type(exc).__name__}"
        if self._throttle.allow(key, self.clock()):
            log.exception(
                "adapter %s raised on a message%s",
                provider.name,
                _held_note(self._throttle.held_back(key)),
                extra={
                    "channel": self.name,
                    "provider": provider.name,
                    "customer_id": message.customer_id,
                    "campaign": message.campaign,
                    "idempotency_key": message.idempotency_key,
                },
            )

    async def aclose(self) -> None:
        """Close every instance at once (an SMTP QUIT waits for its reply)."""
        await asyncio.gather(*(i.aclose() for p in self.providers for i in p.all_instances))


def _held_note(held: int) -> str:
    return f" ({held} more like it in the last {LOG_EVERY:.0f} s not logged)" if held else ""


def _default_rate(providers: Sequence[tuple[str, Sequence[Channel]]]) -> float | None:
    """The lowest rate the lane's adapters declare (a lane has one limit, kept by every
    provider it may use); None when none declares one."""
    rates = [type(instances[0]).rate_per_second for _, instances in providers if instances]
    known = [rate for rate in rates if rate]
    return min(known) if known else None


def default_concurrency(config: ChannelConfig) -> int:
    """The lowest concurrency the channel's adapters declare (``Channel.concurrency``:
    SMTP and the HTTP SMS adapter 16, others 1); every provider runs that many."""
    return min(adapter_class(p.adapter).concurrency for p in config.provider_list())


def _source(adapter: str, options: Mapping[str, object]) -> str:
    """The note naming the variable that gave the options' URL (empty when none did):
    a channel written in config.yaml must not be blamed on a variable nobody set."""
    for variable, _, variable_adapter in URL_VARIABLES:
        if adapter == variable_adapter and options.get("url") == os.environ.get(variable):
            return f" (from {variable})"
    return ""


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
                    for _ in range(config.concurrency or default_concurrency(config))
                ]
            except (
                UnknownAdapterError,
                InvalidAdapterError,
                AdapterOptionsError,
                ValueError,
            ) as exc:
                raise ConfigError(f"{label}{_source(provider.adapter, options)}: {exc}") from None
            providers.append((provider.adapter, instances))
        lanes[name] = ChannelLane(
            name,
            providers,
            rate_per_second=config.rate_per_second or _default_rate(providers),
            failover_after=config.failover_after,
            cooldown_seconds=config.failover_cooldown_seconds,
        )
    return lanes
