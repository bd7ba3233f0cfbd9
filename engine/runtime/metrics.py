"""Prometheus metrics: what this process did, and what the database holds.

Counters and histograms count this process's own work (planned, dispatched, send
latency, planner duration, last good tick). The outbox gauges are read from the
database at scrape time, so every daemon reports the same, true numbers however many
of them run.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector
from sqlalchemy import Engine, func, select

from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.core.timeutil import as_utc, utcnow

REGISTRY = CollectorRegistry(auto_describe=True)

PLANNED = Counter(
    "rapport_messages_planned",
    "Messages this process added to the outbox.",
    ["campaign", "channel"],
    registry=REGISTRY,
)
DISPATCHED = Counter(
    "rapport_messages_dispatched",
    "Dispatch outcomes in this process, by final status.",
    ["channel", "status"],
    registry=REGISTRY,
)
SEND_SECONDS = Histogram(
    "rapport_send_duration_seconds",
    "Time a provider took to accept or refuse one message.",
    ["channel"],
    registry=REGISTRY,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
PLAN_SECONDS = Histogram(
    "rapport_planner_duration_seconds",
    "Time one planning run took.",
    registry=REGISTRY,
    buckets=(0.1, 0.5, 1, 5, 15, 30, 60, 120, 300, 600),
)
LAST_TICK = Gauge(
    "rapport_last_successful_tick_timestamp_seconds",
    "Unix time of the last tick of each job that finished without error.",
    ["job"],
    registry=REGISTRY,
)


def record_plan(report: Any, seconds: float) -> None:
    for (campaign, channel, _locale), count in report.planned.items():
        PLANNED.labels(campaign, channel).inc(count)
    PLAN_SECONDS.observe(seconds)


def record_dispatch(report: Any) -> None:
    for (channel, status), count in report.outcomes.items():
        DISPATCHED.labels(channel, status).inc(count)
    for channel, seconds in report.latencies:
        SEND_SECONDS.labels(channel).observe(seconds)


def tick_done(job: str) -> None:
    LAST_TICK.labels(job).set(time.time())


def _moment(value: Any) -> Any:
    """A date read back from an aggregate: SQLite returns it as text."""
    if isinstance(value, str):
        from datetime import datetime

        return datetime.fromisoformat(value)
    return value


class OutboxCollector(Collector):
    """The outbox as the database holds it, read at each scrape."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def collect(self) -> Iterator[GaugeMetricFamily]:
        messages = GaugeMetricFamily(
            "rapport_outbox_messages",
            "Messages in the outbox by status, campaign and channel.",
            labels=["status", "campaign", "channel"],
        )
        oldest = GaugeMetricFamily(
            "rapport_outbox_oldest_due_age_seconds",
            "Age of the oldest message that is due and still queued (0 when none).",
        )
        now = utcnow()
        with self.engine.connect() as connection:
            rows = connection.execute(
                select(OUTBOX.c.status, OUTBOX.c.campaign, OUTBOX.c.channel, func.count()).group_by(
                    OUTBOX.c.status, OUTBOX.c.campaign, OUTBOX.c.channel
                )
            )
            queued: set[str] = set()
            for status, campaign, channel, count in rows:
                messages.add_metric([status, campaign, channel], count)
                if status == MessageStatus.QUEUED:
                    queued.add(channel)
            # Channel by channel: each is the first entry of its channel's range of
            # ix_outbox_due (status, channel, send_at, id); over every channel at once
            # the minimum reads every due row.
            firsts = [
                connection.execute(
                    select(func.min(OUTBOX.c.send_at)).where(
                        OUTBOX.c.status == MessageStatus.QUEUED,
                        OUTBOX.c.channel == channel,
                        OUTBOX.c.send_at <= now,
                    )
                ).scalar_one_or_none()
                for channel in sorted(queued)
            ]
        due = min((as_utc(_moment(f)) for f in firsts if f is not None), default=None)
        oldest.add_metric([], (now - due).total_seconds() if due else 0.0)
        yield messages
        yield oldest


class _Process(Collector):
    def collect(self) -> Iterator[Any]:
        yield from REGISTRY.collect()


def exposition(engine: Engine) -> bytes:
    """The text a Prometheus scrape gets: this process's metrics and the outbox's."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_Process())
    registry.register(OutboxCollector(engine))
    return generate_latest(registry)
