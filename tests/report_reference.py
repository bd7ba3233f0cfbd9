"""The report's figures the plain way: every row read into lists, then counted in Python.

``rapport report`` aggregates in SQL and streams what it must read per row, so that
its memory does not grow with the data (docs/reports.md, "Scale"). This module is the
straightforward computation of the same definitions, written for obviousness, not for
size: the report's figures must equal it on every data set (the oracle of
tests/engine/reports/test_report_scale.py and of the data sets of the other report
tests). Money is summed exactly (Decimal), then rounded to cents.

``distribution`` (stages, tiers, RFM segments) is counted here from the planner's own
profiles (engine/customers/profiles.py, every order of every customer as order lines),
the way the planner sees each customer.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_EVENT, FEEDBACK_ANSWER, ORDERS, OUTBOX
from rapport.engine.core.timeutil import as_utc, local_date
from rapport.engine.customers.lifecycle import segment_for, stage_of, tier_of, to_base_currency
from rapport.engine.customers.profiles import iter_profile_batches
from rapport.engine.reports.intervals import difference
from rapport.engine.reports.variants import variant_order, variant_results


@dataclass(frozen=True)
class Order:
    customer_id: str
    amount: Decimal
    at: datetime


def _rate(value: float | None) -> float | None:
    return None if value is None else round(value, 6)


def _ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


def _money(value: Decimal | float) -> float:
    return round(float(value), 2)


def _month(moment: datetime | date) -> str:
    return f"{moment.year:04d}-{moment.month:02d}"


def textbook(orders: list[Order], begin: datetime, finish: datetime, days: int) -> dict[str, Any]:
    start = {o.customer_id for o in orders if begin - timedelta(days=days) <= o.at < begin}
    end = {o.customer_id for o in orders if finish - timedelta(days=days) <= o.at < finish}
    before = {o.customer_id for o in orders if o.at < begin}
    new = {o.customer_id for o in orders if begin <= o.at < finish} - before
    lost = start - end
    return {
        "customers_at_start": len(start),
        "customers_at_end": len(end),
        "new_customers": len(new),
        "lost_customers": len(lost),
        "returning_customers": len(end - start - new),
        "retention_rate": _rate(_ratio(len(end) - len(new), len(start))),
        "churn_rate": _rate(_ratio(len(lost), len(start))),
    }


def customers(orders: list[Order], begin: datetime, finish: datetime, days: int) -> dict:  # type: ignore[type-arg]
    upto = [o for o in orders if o.at < finish]
    base = {o.customer_id for o in upto if begin - timedelta(days=days) <= o.at < begin}
    in_period = [o for o in upto if o.at >= begin]
    counts = Counter(o.customer_id for o in in_period)
    retained = base & set(counts)
    retention = _ratio(len(retained), len(base))
    repeaters = sum(1 for n in counts.values() if n >= 2)
    buyers = {o.customer_id for o in upto}
    year_ago = finish - timedelta(days=365)
    last_year = [o for o in upto if o.at >= year_ago]
    annual = textbook(upto, year_ago, finish, 365)
    churn = _ratio(annual["lost_customers"], annual["customers_at_start"])
    aov = _ratio(float(sum((o.amount for o in last_year), Decimal(0))), len(last_year))
    frequency = _ratio(len(last_year), len({o.customer_id for o in last_year}))
    lifespan = 10.0 if not churn else min(10.0, 1 / churn)
    predictive = None if aov is None or frequency is None else aov * frequency * lifespan
    revenue = sum((o.amount for o in upto), Decimal(0))
    return {
        "active_days": days,
        "base_customers": len(base),
        "retained_customers": len(retained),
        "retention_rate": _rate(retention),
        "churn_rate": _rate(None if retention is None else 1 - retention),
        "ordering_customers": len(counts),
        "orders": len(in_period),
        "revenue": _money(sum((o.amount for o in in_period), Decimal(0))),
        "repeat_customers": repeaters,
        "repeat_purchase_rate": _rate(_ratio(repeaters, len(counts))),
        "textbook": textbook(upto, begin, finish, days),
        "clv_historical": _money(revenue / len(buyers)) if buyers else None,
        "clv_predictive": None if predictive is None else _money(predictive),
        "clv_inputs": {
            "average_order_value": None if aov is None else _money(aov),
            "orders_per_customer_year": _rate(frequency),
            "annual_churn": _rate(churn),
            "annual_churn_customers_at_start": annual["customers_at_start"],
            "annual_churn_lost_customers": annual["lost_customers"],
            "lifespan_years": round(lifespan, 4),
        },
    }


def cohorts(orders: list[Order], start: date, end: date, finish: datetime) -> list[dict]:  # type: ignore[type-arg]
    months = []
    year, month = start.year, start.month
    while (year, month) <= (end.year, end.month):
        months.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    first: dict[str, str] = {}
    active: dict[str, set[str]] = defaultdict(set)
    for o in sorted((o for o in orders if o.at < finish), key=lambda o: o.at):
        first.setdefault(o.customer_id, _month(o.at))
        active[_month(o.at)].add(o.customer_id)
    table = []
    for index, cohort_month in enumerate(months):
        cohort = {c for c, m in first.items() if m == cohort_month}
        if cohort:
            cells = [
                {
                    "month": later,
                    "customers": len(cohort & active[later]),
                    "rate": _rate(len(cohort & active[later]) / len(cohort)),
                }
                for later in months[index:]
            ]
            table.append({"cohort": cohort_month, "size": len(cohort), "months": cells})
    return table


def campaigns(
    rows: list[Any],
    orders: list[Order],
    withdrawals: list[Any],
    window: timedelta,
    order: dict[str, list[str]],
) -> list[dict]:  # type: ignore[type-arg]
    def after(customer: str, moment: datetime) -> list[Order]:
        return [o for o in orders if o.customer_id == customer and moment < o.at <= moment + window]

    stats: dict[str, dict[str, Any]] = {}
    arms: dict[str, dict[str, list[int]]] = defaultdict(dict)
    for row in rows:
        entry = stats.setdefault(
            row.campaign,
            dict.fromkeys(
                [
                    "planned",
                    "queued",
                    "sent",
                    "delivered",
                    "failed",
                    "expired",
                    "suppressed",
                    "held_out",
                    "unsubscribed",
                    "converted",
                    "held_out_converted",
                ],
                0,
            )
            | {"campaign": row.campaign, "suppressed_by_reason": Counter(), "revenue": Decimal(0)},
        )
        if row.status == "held_out":
            entry["held_out"] += 1
            entry["held_out_converted"] += bool(after(row.customer_id, as_utc(row.send_at)))
            continue
        entry["planned"] += 1
        if row.status == "sent" and row.sent_at is not None:
            sent_at = as_utc(row.sent_at)
            following = after(row.customer_id, sent_at)
            entry["sent"] += 1
            entry["delivered"] += row.delivered_at is not None
            entry["converted"] += bool(following)
            entry["revenue"] += sum((o.amount for o in following), Decimal(0))
            if row.variant is not None:
                arm = arms[row.campaign].setdefault(row.variant, [0, 0])
                arm[0] += 1
                arm[1] += bool(following)
            entry["unsubscribed"] += any(
                (w.customer_id, w.channel, w.topic) == (row.customer_id, row.channel, row.topic)
                and sent_at <= as_utc(w.captured_at) <= sent_at + window
                for w in withdrawals
            )
        elif row.status == "suppressed":
            entry["suppressed"] += 1
            entry["suppressed_by_reason"][row.last_error or "unknown"] += 1
        elif row.status in ("failed", "expired"):
            entry[row.status] += 1
        else:
            entry["queued"] += 1
    result = []
    for name in sorted(stats):
        entry = stats[name]
        entry["suppressed_by_reason"] = dict(sorted(entry["suppressed_by_reason"].items()))
        entry["revenue"] = _money(entry["revenue"])
        entry["conversion_rate"] = _rate(_ratio(entry["converted"], entry["sent"]))
        found = difference(
            entry["converted"], entry["sent"], entry["held_out_converted"], entry["held_out"]
        )
        entry["uplift"] = (
            None
            if found is None
            else {
                "messaged_rate": _rate(entry["converted"] / entry["sent"]),
                "holdout_rate": _rate(entry["held_out_converted"] / entry["held_out"]),
                **found,
            }
        )
        entry["variants"] = variant_results(arms[name], order.get(name, ()))
        result.append(entry)
    return result


def nps(scores: list[int]) -> dict[str, Any]:
    promoters = sum(1 for s in scores if s >= 9)
    detractors = sum(1 for s in scores if s <= 6)
    return {
        "answers": len(scores),
        "promoters": promoters,
        "passives": len(scores) - promoters - detractors,
        "detractors": detractors,
        "nps": None if not scores else round(100 * (promoters - detractors) / len(scores), 4),
    }


def distribution(engine: Engine, settings: Settings, finish: datetime) -> dict[str, Any]:
    as_of = finish - timedelta(microseconds=1)
    stages: Counter[str] = Counter()
    tiers: Counter[str] = Counter()
    segments: Counter[str] = Counter()
    with engine.connect() as connection:
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


def reference_report(
    engine: Engine,
    settings: Settings,
    start: date,
    end: date,
    *,
    window_days: int = 7,
    active_days: int = 365,
) -> dict[str, Any]:
    """Every figure of ``compute(...)``, from whole tables and the planner's profiles."""
    begin = datetime.combine(start, time(), tzinfo=UTC)
    finish = datetime.combine(end + timedelta(days=1), time(), tzinfo=UTC)
    window = timedelta(days=window_days)
    with engine.connect() as connection:
        every_order = connection.execute(
            select(ORDERS.c.customer_id, ORDERS.c.amount, ORDERS.c.currency, ORDERS.c.ordered_at)
        ).all()
        messages = connection.execute(select(OUTBOX)).all()
        events = connection.execute(select(CONSENT_EVENT)).all()
        answers = connection.execute(select(FEEDBACK_ANSWER)).all()
    orders = [
        Order(cid, to_base_currency(amount, currency, settings.tiers) or Decimal(0), as_utc(at))
        for cid, amount, currency, at in every_order
    ]
    orders = [o for o in orders if o.at < finish + window]
    in_range = [o for o in orders if o.at < finish]
    marketing = [m for m in messages if not m.transactional and begin <= as_utc(m.send_at) < finish]
    sends = Counter(
        (as_utc(m.sent_at).date().isoformat(), m.channel)
        for m in messages
        if m.status == "sent" and m.sent_at is not None and begin <= as_utc(m.sent_at) < finish
    )
    consent: dict[tuple[str, str, str], Counter[str]] = defaultdict(Counter)
    for e in events:
        if begin <= as_utc(e.captured_at) < finish and e.status in ("granted", "withdrawn"):
            consent[(_month(as_utc(e.captured_at)), e.channel, e.topic)][e.status] += 1
    answered = sorted(
        (a for a in answers if begin <= as_utc(a.answered_at) < finish),
        key=lambda a: (as_utc(a.answered_at), a.id),
    )

    def grouped(key: str) -> dict[str, Any]:
        groups: dict[str, list[int]] = defaultdict(list)
        for a in answered:
            groups[getattr(a, key)].append(a.score)
        return {name: nps(scores) for name, scores in sorted(groups.items())}

    return {
        "period": {"from": start.isoformat(), "to": end.isoformat()},
        "base_currency": settings.tiers.base_currency,
        "attribution_window_days": window_days,
        "customers": customers(in_range, begin, finish, active_days),
        "cohorts": cohorts(in_range, start, end, finish),
        "distribution": distribution(engine, settings, finish),
        "campaigns": campaigns(
            marketing,
            orders,
            [e for e in events if e.status == "withdrawn"],
            window,
            variant_order(settings),
        ),
        "sends_per_day": [
            {"day": d, "channel": c, "sent": n} for (d, c), n in sorted(sends.items())
        ],
        "consent": [
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
            for (month, channel, topic), found in sorted(consent.items())
        ],
        "feedback": {
            "overall": nps([a.score for a in answered]),
            "by_campaign": grouped("campaign"),
            "by_stage": grouped("stage"),
            "by_tier": grouped("tier"),
            "comments": [
                {
                    "customer_id": a.customer_id,
                    "campaign": a.campaign,
                    "occasion": a.occasion,
                    "score": a.score,
                    "comment": a.comment,
                    "locale": a.locale,
                    "stage": a.stage,
                    "tier": a.tier,
                    "answered_at": as_utc(a.answered_at).isoformat(),
                }
                for a in answered
                if a.comment
            ],
        },
    }
