"""The figures of ``rapport report``: customers, campaigns, consent and feedback.

One function, :func:`build_report`, reads the database and returns a plain,
JSON-ready dictionary; the terminal tables, the JSON and the HTML page all format
that same dictionary, so they can never disagree. Every definition is stated in
docs/reports.md and in the docstring of the function computing it.

Times are bucketed in UTC (months, days); a period is whole UTC days, ``start`` to
``end`` inclusive. Amounts are converted to the tier base currency with the
configured rates (an order in a currency without a rate counts as 0). Lifecycle
stage, tier and RFM segment use each customer's own time zone, as the planner does.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import (
    CONSENT_EVENT,
    FEEDBACK_ANSWER,
    ORDERS,
    OUTBOX,
    MessageStatus,
)
from rapport.engine.core.timeutil import as_utc, local_date
from rapport.engine.customers.lifecycle import segment_for, stage_of, tier_of, to_base_currency
from rapport.engine.customers.profiles import iter_profile_batches
from rapport.engine.reports.intervals import difference
from rapport.engine.reports.retention import textbook
from rapport.engine.reports.variants import VariantOrder, variant_results
from rapport.engine.reports.variants import variant_order as load_variant_order

#: The predictive CLV assumes a customer stays at most this many years.
MAX_LIFESPAN_YEARS = 10.0


@dataclass(frozen=True)
class Period:
    """Whole UTC days, ``start`` to ``end`` inclusive."""

    start: date
    end: date

    @property
    def begin(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def finish(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)

    def contains(self, moment: datetime) -> bool:
        return self.begin <= moment < self.finish


@dataclass(frozen=True)
class _Order:
    customer_id: str
    amount: float
    at: datetime


def _month(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def _months(first: date, last: date) -> list[str]:
    months, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return months


def _ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


def _money(value: float) -> float:
    return round(value, 2)


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _orders(connection: Connection, settings: Settings, before: datetime) -> list[_Order]:
    rows = connection.execute(
        select(ORDERS.c.customer_id, ORDERS.c.amount, ORDERS.c.currency, ORDERS.c.ordered_at)
        .where(ORDERS.c.ordered_at < before)
        .order_by(ORDERS.c.ordered_at, ORDERS.c.id)
    )
    found = []
    for customer_id, amount, currency, ordered_at in rows:
        converted = to_base_currency(Decimal(amount), currency, settings.tiers)
        found.append(_Order(customer_id, float(converted or 0), as_utc(ordered_at)))
    return found


def customer_metrics(orders: list[_Order], period: Period, active_days: int) -> dict[str, Any]:
    """Retention, churn, repeat purchase and lifetime value over ``period``.

    - base: customers with an order in the ``active_days`` before the period;
    - retention rate: share of the base ordering again within the period;
    - churn rate: 1 - retention rate;
    - repeat purchase rate: of the customers ordering in the period, the share
      ordering at least twice in it;
    - historical CLV: revenue of all orders up to the period's end per customer with
      at least one such order;
    - textbook retention (E - N) / S and churn lost / S over the period: see
      :func:`textbook`;
    - predictive CLV: average order value x orders per customer per year x expected
      lifespan in years, all measured over the 365 days up to the period's end, with
      lifespan = 1 / annual churn, capped at ten years. The annual churn is the
      textbook churn (:func:`textbook`) over those 365 days with a 365-day activity
      window: the customers of the year before who did not order in the last year.
    """
    begin, finish = period.begin, period.finish
    lookback = begin - timedelta(days=active_days)
    upto = [o for o in orders if o.at < finish]
    base = {o.customer_id for o in upto if lookback <= o.at < begin}
    in_period = [o for o in upto if begin <= o.at]
    period_counts = Counter(o.customer_id for o in in_period)
    retained = base & set(period_counts)
    retention = _ratio(len(retained), len(base))
    repeaters = sum(1 for count in period_counts.values() if count >= 2)

    buyers = {o.customer_id for o in upto}
    revenue = sum(o.amount for o in upto)

    year_ago = finish - timedelta(days=365)
    last_year = [o for o in upto if o.at >= year_ago]
    last_year_buyers = {o.customer_id for o in last_year}
    annual = textbook(upto, year_ago, finish, 365)
    annual_churn = _ratio(annual["lost_customers"], annual["customers_at_start"])
    aov = _ratio(sum(o.amount for o in last_year), len(last_year))
    frequency = _ratio(len(last_year), len(last_year_buyers))
    if annual_churn is None or annual_churn == 0:
        lifespan = MAX_LIFESPAN_YEARS
    else:
        lifespan = min(MAX_LIFESPAN_YEARS, 1 / annual_churn)
    predictive = None if aov is None or frequency is None else aov * frequency * lifespan
    return {
        "active_days": active_days,
        "base_customers": len(base),
        "retained_customers": len(retained),
        "retention_rate": _rate(retention),
        "churn_rate": _rate(None if retention is None else 1 - retention),
        "ordering_customers": len(period_counts),
        "orders": len(in_period),
        "revenue": _money(sum(o.amount for o in in_period)),
        "repeat_customers": repeaters,
        "repeat_purchase_rate": _rate(_ratio(repeaters, len(period_counts))),
        "textbook": textbook(upto, begin, finish, active_days),
        "clv_historical": _money(revenue / len(buyers)) if buyers else None,
        "clv_predictive": None if predictive is None else _money(predictive),
        "clv_inputs": {
            "average_order_value": None if aov is None else _money(aov),
            "orders_per_customer_year": _rate(frequency),
            "annual_churn": _rate(annual_churn),
            "annual_churn_customers_at_start": annual["customers_at_start"],
            "annual_churn_lost_customers": annual["lost_customers"],
            "lifespan_years": round(lifespan, 4),
        },
    }


def cohorts(orders: list[_Order], period: Period) -> list[dict[str, Any]]:
    """Monthly cohorts by first-order month (UTC), for the months of the period: for
    each later month up to the period's end, how many of the cohort ordered in it."""
    finish = period.finish
    months = _months(period.start, period.end)
    first: dict[str, str] = {}
    active: dict[str, set[str]] = defaultdict(set)
    for order in orders:
        if order.at >= finish:
            continue
        first.setdefault(order.customer_id, _month(order.at))
        active[_month(order.at)].add(order.customer_id)
    members: dict[str, set[str]] = defaultdict(set)
    for customer, month in first.items():
        members[month].add(customer)
    table = []
    for index, month in enumerate(months):
        cohort = members.get(month, set())
        if not cohort:
            continue
        cells = []
        for later in months[index:]:
            count = len(cohort & active[later])
            cells.append({"month": later, "customers": count, "rate": _rate(count / len(cohort))})
        table.append({"cohort": month, "size": len(cohort), "months": cells})
    return table


def distributions(connection: Connection, settings: Settings, period: Period) -> dict[str, Any]:
    """Every customer's lifecycle stage, tier and RFM segment on the period's last day
    (in their own time zone), counting orders up to the period's end."""
    as_of = period.finish - timedelta(microseconds=1)
    stages: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    for batch in iter_profile_batches(connection, settings, as_of):
        for profile in batch:
            today = local_date(as_of, profile.timezone)
            history = profile.history
            last = history.last_order_day(profile.timezone)
            stages[stage_of(history, last, today, settings.lifecycle)] += 1
            tiers[tier_of(history.spend_12m_on(today), settings.tiers)] += 1
            segments[segment_for(history, last, today) or "none"] += 1
    return {
        "stages": dict(sorted(stages.items())),
        "tiers": dict(sorted(tiers.items())),
        "segments": dict(sorted(segments.items())),
    }


def campaign_metrics(
    connection: Connection,
    orders: list[_Order],
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
    (engine/reports/variants.py; the order comes from ``variant_order``).
    """
    window = timedelta(days=window_days)
    rows = connection.execute(
        select(
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
        ).where(
            OUTBOX.c.transactional.is_(False),
            OUTBOX.c.send_at >= period.begin,
            OUTBOX.c.send_at < period.finish,
        )
    ).all()
    by_customer: dict[str, list[_Order]] = defaultdict(list)
    for order in orders:
        by_customer[order.customer_id].append(order)
    withdrawals: dict[tuple[str, str, str], list[datetime]] = defaultdict(list)
    for customer_id, channel, topic, captured_at in connection.execute(
        select(
            CONSENT_EVENT.c.customer_id,
            CONSENT_EVENT.c.channel,
            CONSENT_EVENT.c.topic,
            CONSENT_EVENT.c.captured_at,
        ).where(CONSENT_EVENT.c.status == "withdrawn")
    ):
        withdrawals[(customer_id, channel, topic)].append(as_utc(captured_at))

    def after(customer_id: str, moment: datetime) -> list[_Order]:
        return [o for o in by_customer.get(customer_id, ()) if moment < o.at <= moment + window]

    stats: dict[str, dict[str, Any]] = {}
    arms: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for row in rows:
        entry = stats.setdefault(
            row.campaign,
            {
                "campaign": row.campaign,
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
                "revenue": 0.0,
                "held_out_converted": 0,
            },
        )
        status = row.status
        if status == MessageStatus.HELD_OUT:
            entry["held_out"] += 1
            if after(row.customer_id, as_utc(row.send_at)):
                entry["held_out_converted"] += 1
            continue
        entry["planned"] += 1
        if status == MessageStatus.SENT and row.sent_at is not None:
            entry["sent"] += 1
            entry["delivered"] += row.delivered_at is not None
            sent_at = as_utc(row.sent_at)
            following = after(row.customer_id, sent_at)
            if row.variant is not None:
                arm = arms[row.campaign].setdefault(row.variant, [0, 0])
                arm[0] += 1
                arm[1] += bool(following)
            if following:
                entry["converted"] += 1
                entry["revenue"] += sum(o.amount for o in following)
            moments = withdrawals.get((row.customer_id, row.channel, row.topic), ())
            if any(sent_at <= m <= sent_at + window for m in moments):
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
        entry["revenue"] = _money(entry["revenue"])
        entry["conversion_rate"] = _rate(_ratio(entry["converted"], entry["sent"]))
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
        "messaged_rate": _rate(converted / sent),
        "holdout_rate": _rate(held_converted / held),
        **found,
    }


def sends_per_day(connection: Connection, period: Period) -> list[dict[str, Any]]:
    """Messages sent (status sent, by ``sent_at``) per UTC day and channel."""
    counts: Counter[tuple[str, str]] = Counter()
    for channel, sent_at in connection.execute(
        select(OUTBOX.c.channel, OUTBOX.c.sent_at).where(
            OUTBOX.c.status == MessageStatus.SENT,
            OUTBOX.c.sent_at >= period.begin,
            OUTBOX.c.sent_at < period.finish,
        )
    ):
        counts[(as_utc(sent_at).date().isoformat(), channel)] += 1
    return [{"day": d, "channel": c, "sent": n} for (d, c), n in sorted(counts.items())]


def consent_health(connection: Connection, period: Period) -> list[dict[str, Any]]:
    """Opt-ins (events ``granted``) and opt-outs (``withdrawn``) per UTC month, channel
    and topic, by ``captured_at``; ``opt_out_share`` = opt-outs / (opt-ins + opt-outs)."""
    counts: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for channel, topic, status, captured_at in connection.execute(
        select(
            CONSENT_EVENT.c.channel,
            CONSENT_EVENT.c.topic,
            CONSENT_EVENT.c.status,
            CONSENT_EVENT.c.captured_at,
        ).where(
            CONSENT_EVENT.c.captured_at >= period.begin,
            CONSENT_EVENT.c.captured_at < period.finish,
            CONSENT_EVENT.c.status.in_(["granted", "withdrawn"]),
        )
    ):
        counts[(_month(as_utc(captured_at)), channel, topic)][status] += 1
    return [
        {
            "month": month,
            "channel": channel,
            "topic": topic,
            "opt_ins": found["granted"],
            "opt_outs": found["withdrawn"],
            "opt_out_share": _rate(
                _ratio(found["withdrawn"], found["granted"] + found["withdrawn"])
            ),
        }
        for (month, channel, topic), found in sorted(counts.items())
    ]


def nps(scores: Iterable[int]) -> dict[str, Any]:
    """Net promoter score: % promoters (9-10) minus % detractors (0-6)."""
    values = list(scores)
    promoters = sum(1 for s in values if s >= 9)
    detractors = sum(1 for s in values if s <= 6)
    return {
        "answers": len(values),
        "promoters": promoters,
        "passives": len(values) - promoters - detractors,
        "detractors": detractors,
        "nps": None if not values else round(100 * (promoters - detractors) / len(values), 4),
    }


def feedback(connection: Connection, period: Period) -> dict[str, Any]:
    """NPS of the answers given in the period, overall and by campaign, stage and tier
    (the customer's on the day they answered), and every non-empty comment."""
    rows = connection.execute(
        select(FEEDBACK_ANSWER)
        .where(
            FEEDBACK_ANSWER.c.answered_at >= period.begin,
            FEEDBACK_ANSWER.c.answered_at < period.finish,
        )
        .order_by(FEEDBACK_ANSWER.c.answered_at, FEEDBACK_ANSWER.c.id)
    ).all()

    def grouped(key: str) -> dict[str, Any]:
        groups: dict[str, list[int]] = defaultdict(list)
        for row in rows:
            groups[getattr(row, key)].append(row.score)
        return {name: nps(scores) for name, scores in sorted(groups.items())}

    return {
        "overall": nps(row.score for row in rows),
        "by_campaign": grouped("campaign"),
        "by_stage": grouped("stage"),
        "by_tier": grouped("tier"),
        "comments": [
            {
                "customer_id": row.customer_id,
                "campaign": row.campaign,
                "occasion": row.occasion,
                "score": row.score,
                "comment": row.comment,
                "locale": row.locale,
                "stage": row.stage,
                "tier": row.tier,
                "answered_at": as_utc(row.answered_at).isoformat(),
            }
            for row in rows
            if row.comment
        ],
    }


def build_report(
    connection: Connection,
    settings: Settings,
    period: Period,
    *,
    window_days: int = 7,
    active_days: int = 365,
    variant_order: VariantOrder | None = None,
) -> dict[str, Any]:
    """Everything ``rapport report`` shows, as plain JSON-ready data. The control of
    each A/B test is the first variant of ``variant_order`` (default: as listed in
    the campaign files)."""
    if variant_order is None:
        variant_order = load_variant_order(settings)
    orders = _orders(connection, settings, period.finish + timedelta(days=window_days))
    in_range = [o for o in orders if o.at < period.finish]
    return {
        "period": {"from": period.start.isoformat(), "to": period.end.isoformat()},
        "base_currency": settings.tiers.base_currency,
        "attribution_window_days": window_days,
        "customers": customer_metrics(in_range, period, active_days),
        "cohorts": cohorts(in_range, period),
        "distribution": distributions(connection, settings, period),
        "campaigns": campaign_metrics(connection, orders, period, window_days, variant_order),
        "sends_per_day": sends_per_day(connection, period),
        "consent": consent_health(connection, period),
        "feedback": feedback(connection, period),
    }
