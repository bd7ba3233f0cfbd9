"""Textbook customer retention and churn, next to the report's own definitions.

The report's retention rate (docs/reports.md) is the share of last year's customers
ordering again within the period, so it grows with the period's length. Anyone used
to the textbook customer retention rate, (E - N) / S over the period, and churn, lost
customers / S, finds those here, for the same period; the predictive CLV's annual
churn is this churn over the 365 days up to the period's end.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol


class Purchase(Protocol):
    """What counts of an order here: who ordered and when (UTC)."""

    @property
    def customer_id(self) -> str: ...

    @property
    def at(self) -> datetime: ...


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 6)


def textbook(
    orders: Sequence[Purchase], begin: datetime, finish: datetime, active_days: int
) -> dict[str, Any]:
    """The textbook customer retention and churn over ``[begin, finish)``, a customer
    being one on a moment when they ordered in the ``active_days`` before it:

    - S: customers at the start (an order in the ``active_days`` before ``begin``);
    - E: customers at the end (an order in the ``active_days`` before ``finish``);
    - N: new customers (their first order ever in the period);
    - retention rate = (E - N) / S;
    - churn rate = lost / S, lost = customers at the start who are not at the end.

    A lapsed customer (not in S) who orders again in the period is in E but not N, so
    retention + churn = 1 + returning / S: both are shown as the textbook defines them.
    """
    start = {o.customer_id for o in orders if begin - timedelta(days=active_days) <= o.at < begin}
    end = {o.customer_id for o in orders if finish - timedelta(days=active_days) <= o.at < finish}
    seen_before = {o.customer_id for o in orders if o.at < begin}
    new = {o.customer_id for o in orders if begin <= o.at < finish} - seen_before
    lost = start - end
    return {
        "customers_at_start": len(start),
        "customers_at_end": len(end),
        "new_customers": len(new),
        "lost_customers": len(lost),
        "returning_customers": len(end - start - new),
        "retention_rate": _rate(len(end) - len(new), len(start)),
        "churn_rate": _rate(len(lost), len(start)),
    }
