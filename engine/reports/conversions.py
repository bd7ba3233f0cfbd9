"""The campaign funnel of ``rapport report``: messages, conversions, unsubscribes, uplift.

A conversion pairs each message with the orders of its customer in the attribution
window after it, so the messages are read row by row, but never all at once: they
stream from one query ordered by customer (a server-side cursor on PostgreSQL), in
runs of about :data:`RUN` messages that hold each customer's messages whole, and each
run reads the orders and withdrawals of its own customers in the run's time span only.
Memory holds one run, its orders and the per-campaign counters, whatever the number
of messages, orders or consent events.
"""

from __future__ import annotations

from bisect import bisect_right
from collections import Counter, defaultdict
from collections.abc import Iterator, Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Row, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_EVENT, ORDERS, OUTBOX, MessageStatus
from rapport.engine.core.timeutil import as_utc
from rapport.engine.customers.lifecycle import to_base_currency
from rapport.engine.reports.intervals import difference
from rapport.engine.reports.period import Period, money, rate, ratio
from rapport.engine.reports.variants import VariantOrder, variant_results

#: Messages per run (a customer's messages are never split between two runs): about
#: 1.5 MB of rows, times and amounts.
RUN = 1000

_MESSAGES = select(
    OUTBOX.c.customer_id,
    OUTBOX.c.campaign,
    OUTBOX.c.channel,
    OUTBOX.c.topic,
    OUTBOX.c.status,
    OUTBOX.c.last_error,
    OUTBOX.c.send_at,
    OUTBOX.c.sent_at,
    OUTBOX.c.delivered_at,
    OUTBOX.c.variant,
).where(OUTBOX.c.transactional.is_(False))


def message_runs(
    connection: Connection, period: Period, size: int | None = None
) -> Iterator[list[Row]]:
    """The marketing messages with ``send_at`` in the period, ordered by customer, in
    runs of at least ``size`` (default :data:`RUN`; but the last) that end where a
    customer's messages end."""
    size = size or RUN
    query = (
        _MESSAGES.where(OUTBOX.c.send_at >= period.begin, OUTBOX.c.send_at < period.finish)
        .order_by(OUTBOX.c.customer_id, OUTBOX.c.id)
        .execution_options(yield_per=size)
    )
    run: list[Row] = []
    for row in connection.execute(query):
        if len(run) >= size and row.customer_id != run[-1].customer_id:
            yield run
            run = []
        run.append(row)
    if run:
        yield run


class _Orders:
    """One run's orders per customer: times ascending and their base-currency amounts."""

    def __init__(self) -> None:
        self.times: dict[str, list[datetime]] = defaultdict(list)
        self.amounts: dict[str, list[Decimal]] = defaultdict(list)

    def after(self, customer_id: str, moment: datetime, window: timedelta) -> list[Decimal]:
        """The amounts of the customer's orders in ``(moment, moment + window]``."""
        times = self.times.get(customer_id)
        if not times:
            return []
        first = bisect_right(times, moment)
        return self.amounts[customer_id][first : bisect_right(times, moment + window)]


def _run_orders(
    connection: Connection,
    settings: Settings,
    customers: Sequence[str],
    since: datetime,
    until: datetime,
) -> _Orders:
    """The customers' orders in ``(since, until]``."""
    found = _Orders()
    for customer_id, amount, currency, ordered_at in connection.execute(
        select(ORDERS.c.customer_id, ORDERS.c.amount, ORDERS.c.currency, ORDERS.c.ordered_at)
        .where(
            ORDERS.c.customer_id.in_(customers),
            ORDERS.c.ordered_at > since,
            ORDERS.c.ordered_at <= until,
        )
        .order_by(ORDERS.c.customer_id, ORDERS.c.ordered_at)
    ):
        found.times[customer_id].append(as_utc(ordered_at))
        converted = to_base_currency(Decimal(amount), currency, settings.tiers)
        found.amounts[customer_id].append(converted or Decimal(0))
    return found


def _run_withdrawals(
    connection: Connection, customers: Sequence[str], since: datetime, until: datetime
) -> dict[tuple[str, str, str], list[datetime]]:
    """The customers' withdrawals captured in ``[since, until]``, per channel and topic."""
    found: dict[tuple[str, str, str], list[datetime]] = defaultdict(list)
    for customer_id, channel, topic, captured_at in connection.execute(
        select(
            CONSENT_EVENT.c.customer_id,
            CONSENT_EVENT.c.channel,
            CONSENT_EVENT.c.topic,
            CONSENT_EVENT.c.captured_at,
        ).where(
            CONSENT_EVENT.c.status == "withdrawn",
            CONSENT_EVENT.c.customer_id.in_(customers),
            CONSENT_EVENT.c.captured_at >= since,
            CONSENT_EVENT.c.captured_at <= until,
        )
    ):
        found[(customer_id, channel, topic)].append(as_utc(captured_at))
    return found


def _entry(campaign: str) -> dict[str, Any]:
    return {
        "campaign": campaign,
        "planned": 0,
        "queued": 0,
        "sent": 0,
        "delivered": 0,
        "failed": 0,
        "expired": 0,
        "suppressed": 0,
        "suppressed_by_reason": Counter(),
        "held_out": 0,
        "unsubscribed": 0,
        "converted": 0,
        "revenue": Decimal(0),
        "held_out_converted": 0,
    }


def campaign_metrics(
    connection: Connection,
    settings: Settings,
    period: Period,
    window_days: int,
    variant_order: VariantOrder | None = None,
) -> list[dict[str, Any]]:
    """Per campaign, the marketing (non-transactional) outbox rows planned to go out
    in the period (``send_at`` in it).

    ``planned`` counts every row but the held-out ones; ``converted`` counts sent
    messages followed by an order of the customer within ``window_days`` after
    ``sent_at``; held-out rows convert the same way from ``send_at``. ``revenue`` sums
    every order within a sent message's window (an order inside two messages' windows
    counts for both). ``delivered`` counts sent messages a provider reported delivered,
    on any channel (e-mail delivery events and SMS receipts both set ``delivered_at``;
    engine/delivery/receipts.py). ``unsubscribed`` counts sent messages followed, within the
    window, by a withdrawal of the same channel and topic. ``variants``: the A/B
    results, sent and converted per variant against the control variant
    (engine/reports/variants.py; the order comes from ``variant_order``). Orders are
    counted up to the period's end plus the window.
    """
    window = timedelta(days=window_days)
    last_order = period.finish + window
    stats: dict[str, dict[str, Any]] = {}
    arms: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for run in message_runs(connection, period):
        customers = sorted({row.customer_id for row in run})
        held = [as_utc(r.send_at) for r in run if r.status == MessageStatus.HELD_OUT]
        sent = [
            as_utc(r.sent_at)
            for r in run
            if r.status == MessageStatus.SENT and r.sent_at is not None
        ]
        moments = held + sent
        orders = _Orders()
        if moments:
            until = min(max(moments) + window, last_order - timedelta(microseconds=1))
            orders = _run_orders(connection, settings, customers, min(moments), until)
        withdrawals = (
            _run_withdrawals(connection, customers, min(sent), max(sent) + window) if sent else {}
        )
        for row in run:
            entry = stats.get(row.campaign) or stats.setdefault(row.campaign, _entry(row.campaign))
            status = row.status
            if status == MessageStatus.HELD_OUT:
                entry["held_out"] += 1
                if orders.after(row.customer_id, as_utc(row.send_at), window):
                    entry["held_out_converted"] += 1
                continue
            entry["planned"] += 1
            if status == MessageStatus.SENT and row.sent_at is not None:
                entry["sent"] += 1
                entry["delivered"] += row.delivered_at is not None
                sent_at = as_utc(row.sent_at)
                following = orders.after(row.customer_id, sent_at, window)
                if row.variant is not None:
                    arm = arms[row.campaign].setdefault(row.variant, [0, 0])
                    arm[0] += 1
                    arm[1] += bool(following)
                if following:
                    entry["converted"] += 1
                    entry["revenue"] += sum(following, Decimal(0))
                captured = withdrawals.get((row.customer_id, row.channel, row.topic), [])
                if any(sent_at <= m <= sent_at + window for m in captured):
                    entry["unsubscribed"] += 1
            elif status == MessageStatus.SUPPRESSED:
                entry["suppressed"] += 1
                entry["suppressed_by_reason"][row.last_error or "unknown"] += 1
            elif status in (MessageStatus.FAILED, MessageStatus.EXPIRED):
                entry[status] += 1
            else:
                entry["queued"] += 1
    result = []
    for name in sorted(stats):
        entry = stats[name]
        entry["suppressed_by_reason"] = dict(sorted(entry["suppressed_by_reason"].items()))
        entry["revenue"] = money(float(entry["revenue"]))
        entry["conversion_rate"] = rate(ratio(entry["converted"], entry["sent"]))
        entry["uplift"] = uplift(
            entry["converted"], entry["sent"], entry["held_out_converted"], entry["held_out"]
        )
        entry["variants"] = variant_results(arms[name], (variant_order or {}).get(name, ()))
        result.append(entry)
    return result


def uplift(converted: int, sent: int, held_converted: int, held: int) -> dict[str, Any] | None:
    """Conversion of the messaged group minus the holdout's, with a 95 % Newcombe
    interval (engine/reports/intervals.py); None when either group is empty."""
    found = difference(converted, sent, held_converted, held)
    if found is None:
        return None
    return {
        "messaged_rate": rate(converted / sent),
        "holdout_rate": rate(held_converted / held),
        **found,
    }
