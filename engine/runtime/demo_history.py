"""The demo's past: months of the engine's own planning and dispatch under a simulated clock.

Before ``rapport demo`` plans its day, :func:`simulate_history` walks a clock through
the days before it. Every morning (14:00 UTC the day before, when the day starts in
the easternmost zone) it runs the real planner (:func:`run_plan` with ``now`` = that
moment); between mornings the real :class:`Dispatcher`, reading the same clock, sends
what is due through the file channel in two-hour steps. Holdouts, A/B variants,
frequency caps and consent are therefore exactly the engine's.

What customers do afterwards is simulated with a seeded random generator (so the
demo's output is stable) and recorded only through the engine's own entry points,
each at the moment it happens:

* delivery events for most sent messages (:func:`record_receipts`, as the e-mail
  event and SMS receipt webhooks do);
* orders within the attribution window from some recipients, fewer from held-out
  customers (an orders file imported with :func:`import_file`, in the customer's
  currency at the sample's prices);
* one-click unsubscribes (:func:`withdraw_channel`, source ``one_click``, as the
  unsubscribe link records them);
* NPS answers to the feedback requests (:func:`record_answer`, as the feedback page).

Nothing is inserted into a table by hand.
"""

from __future__ import annotations

import csv
import heapq
import json
import random
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select

from rapport.consent.store import withdraw_channel
from rapport.consent.tokens import Signer, TokenClaims
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, OUTBOX, MessageStatus
from rapport.engine.core.timeutil import as_utc
from rapport.engine.customers.feedback import record_answer
from rapport.engine.customers.importer import import_file
from rapport.engine.customers.sample import CATALOG, MARKETS
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.delivery.receipts import (
    DeliveryStatus,
    Receipt,
    email_id_forms,
    record_receipts,
)
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.runtime import services

#: Days simulated, the demo's day included (which the demo plans itself), when that day
#: is today or earlier; a day ahead of today adds the days in between (at most
#: MAX_LEAD_DAYS, two months: the next holiday the default demo day looks for is
#: nearer than that), so the history covers the report's default period, the 90 days
#: up to today, and the default demo (a day after today) has 90 or more past days.
HISTORY_DAYS = 90
MAX_LEAD_DAYS = 62
STEP = timedelta(hours=2)
#: Chance that a sent message leads to an order within the attribution window, by
#: campaign (default for the others); held-out customers order with HOLDOUT_ORDER_RATE.
ORDER_RATE = {"winback": 0.2, "reorder": 0.25, "holiday-offer": 0.12}
DEFAULT_ORDER_RATE = 0.08
HOLDOUT_ORDER_RATE = 0.06
DELIVERED_RATE = 0.95
UNSUBSCRIBE_RATE = 0.012
ANSWER_RATE = 0.4
#: NPS scores drawn per feedback variant: the short form gets a little more praise.
SCORES = {
    "warm": (3, 5, 6, 7, 7, 8, 8, 9, 9, 9, 10, 10),
    "short": (5, 6, 7, 8, 8, 9, 9, 9, 10, 10, 10, 10),
}
COMMENTS = {
    "en": ("Fast delivery, lovely packaging.", "The serum arrived leaking.", "Will order again."),
    "fa": ("ارسال سریع بود، ممنون.", "بسته‌بندی آسیب دیده بود.", "دوباره سفارش می‌دهم."),
    "zh": ("发货很快，包装很好。", "精华液有点漏了。", "还会再买。"),
}
_CURRENCY = {market.currency: market.price_factor for market in MARKETS}


@dataclass
class History:
    """What the simulated months produced (the demo prints it)."""

    first: date
    last: date
    planned: int = 0
    held_out: int = 0
    sent: Counter[str] = field(default_factory=Counter)
    outcomes: Counter[tuple[str, str]] = field(default_factory=Counter)
    delivered: int = 0
    orders: int = 0
    unsubscribed: int = 0
    answers: int = 0
    variants: Counter[tuple[str, str]] = field(default_factory=Counter)


def history_span(the_day: date, today: date, days: int = HISTORY_DAYS) -> tuple[date, date]:
    """First and last day simulated before ``the_day`` (see :data:`HISTORY_DAYS`)."""
    lead = min(max((the_day - today).days, 0), MAX_LEAD_DAYS)
    return the_day - timedelta(days=days - 1 + lead), the_day - timedelta(days=1)


def morning(day: date) -> datetime:
    """When a day is planned: its start in the easternmost zone (UTC+14)."""
    return datetime.combine(day, time(0), tzinfo=UTC) - timedelta(hours=14)


@dataclass(order=True)
class _Event:
    at: datetime
    seq: int
    kind: str = field(compare=False)
    data: dict[str, Any] = field(compare=False)


class _World:
    """The customers' side: events scheduled at a moment, applied once the clock passes it."""

    def __init__(self, engine: Engine, settings: Settings, directory: Path, seed: int) -> None:
        self.engine = engine
        self.settings = settings
        self.directory = directory
        self.rng = random.Random(seed)
        self.queue: list[_Event] = []
        self.seq = 0
        self.files = 0
        self.handled: set[int] = set()
        with engine.connect() as connection:
            self.customers = {
                row.id: (row.currency or "USD", (row.locale or "en").split("_")[0])
                for row in connection.execute(
                    select(CUSTOMER.c.id, CUSTOMER.c.currency, CUSTOMER.c.locale)
                )
            }

    def later(self, at: datetime, kind: str, **data: Any) -> None:
        self.seq += 1
        heapq.heappush(self.queue, _Event(at, self.seq, kind, data))

    def hours(self, low: float, high: float) -> timedelta:
        return timedelta(minutes=round(self.rng.uniform(low, high) * 60))

    def react(self, row: Any) -> None:
        """Schedule what a customer does after a sent message."""
        sent_at = as_utc(row.sent_at)
        rng = self.rng
        if row.provider_id and rng.random() < DELIVERED_RATE:
            self.later(sent_at + self.hours(0.02, 0.5), "receipt", row=row)
        if rng.random() < ORDER_RATE.get(row.campaign, DEFAULT_ORDER_RATE):
            self.later(sent_at + self.hours(1, 6 * 24), "order", customer=row.customer_id)
        if rng.random() < UNSUBSCRIBE_RATE:
            self.later(sent_at + self.hours(0.1, 48), "unsubscribe", row=row)
        if row.campaign == "feedback" and rng.random() < ANSWER_RATE:
            self.later(sent_at + self.hours(0.5, 72), "answer", row=row)

    def held_out(self, row: Any) -> None:
        """A held-out customer gets nothing, and orders less often."""
        if self.rng.random() < HOLDOUT_ORDER_RATE:
            self.later(
                as_utc(row.send_at) + self.hours(1, 6 * 24), "order", customer=row.customer_id
            )

    def apply(self, until: datetime, history: History) -> None:
        """Record every event due by ``until``, in order, orders as one imported file."""
        due: list[_Event] = []
        while self.queue and self.queue[0].at <= until:
            due.append(heapq.heappop(self.queue))
        if not due:
            return
        orders = [event for event in due if event.kind == "order"]
        with self.engine.begin() as connection:
            for kind, channels, forms in (
                ("email", {"email"}, email_id_forms),
                ("sms", {"sms"}, None),
            ):
                receipts = [
                    Receipt(e.data["row"].provider_id, DeliveryStatus.DELIVERED, occurred_at=e.at)
                    for e in due
                    if e.kind == "receipt" and e.data["row"].channel == kind
                ]
                if receipts:
                    found = record_receipts(
                        connection, receipts, until, channels=channels, id_forms=forms
                    )
                    history.delivered += sum(r.matched for r in found)
            for event in due:
                if event.kind not in ("unsubscribe", "answer"):
                    continue
                row = event.data["row"]
                if event.kind == "unsubscribe":
                    history.unsubscribed += bool(
                        withdraw_channel(
                            connection,
                            row.customer_id,
                            row.channel,
                            source="one_click",
                            now=event.at,
                        )
                    )
                elif event.kind == "answer":
                    history.answers += self._answer(connection, row, event.at)
        if orders:
            self._import(orders, until, history)

    def _answer(self, connection: Any, row: Any, at: datetime) -> bool:
        scores = SCORES.get(row.variant or "", SCORES["warm"])
        score = self.rng.choice(scores)
        language = self.customers.get(row.customer_id, ("USD", "en"))[1]
        comments = COMMENTS.get(language, COMMENTS["en"])
        comment = self.rng.choice(comments) if self.rng.random() < 0.3 else None
        claims = TokenClaims(row.customer_id, row.channel, row.occasion)
        return record_answer(connection, self.settings, claims, score, comment, at)

    def _import(self, orders: Sequence[_Event], until: datetime, history: History) -> None:
        self.files += 1
        path = self.directory / f"orders-{self.files:04d}.csv"
        with path.open("w", newline="", encoding="utf-8") as handle:
            writer = csv.writer(handle)
            writer.writerow(
                ["id", "customer_id", "sku", "quantity", "amount", "currency", "ordered_at"]
            )
            for event in orders:
                customer = event.data["customer"]
                currency = self.customers.get(customer, ("USD", "en"))[0]
                sku = self.rng.choice(sorted(CATALOG))
                quantity = self.rng.choice((1, 1, 1, 2))
                factor = _CURRENCY.get(currency, Decimal(1))
                amount = (CATALOG[sku] * quantity * factor).quantize(Decimal("0.01"))
                writer.writerow(
                    [
                        f"H{event.seq:06d}",
                        customer,
                        sku,
                        quantity,
                        amount,
                        currency,
                        event.at.isoformat(),
                    ]
                )
        report = import_file(self.engine, self.settings, "orders", path, clock=lambda: until)
        history.orders += report.accepted


def grant_more_topics(
    engine: Engine,
    settings: Settings,
    consent_file: Path,
    directory: Path,
    as_of: datetime,
    seed: int,
) -> int:
    """Import, like the sample's consent file, the feedback and win-back grants most of
    the customers who took offers gave at the same moment (the sample grants neither,
    so without them the A/B-tested feedback and the held-out win-back never run)."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "consent-more-topics.jsonl"
    with consent_file.open(encoding="utf-8") as source, path.open("w", encoding="utf-8") as out:
        for line in source:
            fact = json.loads(line)
            if fact.get("topic") != "offers" or fact.get("status") != "granted":
                continue
            topics = ["winback"] + (["feedback"] if fact.get("channel") == "email" else [])
            for topic in topics:
                if rng.random() < 0.85:
                    out.write(json.dumps({**fact, "topic": topic}, ensure_ascii=False) + "\n")
    return import_file(engine, settings, "consent", path, clock=lambda: as_of).accepted


async def simulate_history(
    engine: Engine,
    settings: Settings,
    campaigns: Sequence[Campaign],
    *,
    renderer: Renderer,
    signer: Signer,
    first: date,
    last: date,
    directory: Path,
    seed: int,
) -> History:
    """Plan and dispatch every day from ``first`` to ``last``; the clock stops at the
    morning of the day after ``last`` (see the module doc)."""
    directory.mkdir(parents=True, exist_ok=True)
    history = History(first, last)
    world = _World(engine, settings, directory, seed)
    clock = [morning(first)]
    dispatcher = Dispatcher(
        engine,
        settings,
        services.lanes(settings),
        signer,
        clock=lambda: clock[0],
        worker_id="demo-history",
        rng=random.Random(seed),
    )
    seen = 0  # every outbox id up to this one is handled or was never queued
    try:
        day = first
        while day <= last + timedelta(days=1):
            planned_at = morning(day)
            while clock[0] < planned_at:
                clock[0] = min(clock[0] + STEP, planned_at)
                if _due(engine, clock[0]):
                    report = await dispatcher.run_once()
                    history.outcomes.update(report.outcomes)
                    seen = _sent_since(engine, world, history, seen)
                world.apply(clock[0], history)
            if day > last:
                _sent_since(engine, world, history, seen)
                break
            plan = run_plan(
                engine, settings, campaigns, day, planned_at, renderer=renderer, signer=signer
            )
            history.planned += plan.inserted
            day += timedelta(days=1)
    finally:
        await dispatcher.aclose()
    return history


def _due(engine: Engine, now: datetime) -> bool:
    """Whether a queued message is due (a pass of the dispatcher costs a few ms even
    when nothing is)."""
    with engine.connect() as connection:
        found = connection.execute(
            select(OUTBOX.c.id)
            .where(OUTBOX.c.status == MessageStatus.QUEUED, OUTBOX.c.send_at <= now)
            .limit(1)
        ).first()
    return found is not None


def _sent_since(engine: Engine, world: _World, history: History, seen: int) -> int:
    """Schedule the reactions to messages sent or held out since outbox id ``seen``
    (each once); returns the id to look from next time: below the lowest message
    still queued or sending."""
    pending = (MessageStatus.QUEUED, MessageStatus.SENDING)
    lowest_pending: int | None = None
    last = seen
    with engine.connect() as connection:
        rows = connection.execute(
            select(
                OUTBOX.c.id,
                OUTBOX.c.customer_id,
                OUTBOX.c.campaign,
                OUTBOX.c.channel,
                OUTBOX.c.occasion,
                OUTBOX.c.variant,
                OUTBOX.c.status,
                OUTBOX.c.send_at,
                OUTBOX.c.sent_at,
                OUTBOX.c.provider_id,
            )
            .where(OUTBOX.c.id > seen)
            .order_by(OUTBOX.c.id)
        ).all()
    for row in rows:
        last = row.id
        if row.status in pending:
            lowest_pending = row.id if lowest_pending is None else lowest_pending
            continue
        if row.id in world.handled:
            continue
        world.handled.add(row.id)
        if row.status == MessageStatus.SENT and row.sent_at is not None:
            history.sent[row.channel] += 1
            if row.variant:
                history.variants[(row.campaign, row.variant)] += 1
            world.react(row)
        elif row.status == MessageStatus.HELD_OUT:
            history.held_out += 1
            world.held_out(row)
    return last if lowest_pending is None else lowest_pending - 1
