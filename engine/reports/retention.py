"""Textbook customer retention and churn, next to the report's own definitions.

The report's retention rate (docs/reports.md) is the share of last year's customers
ordering again within the period, so it grows with the period's length. Anyone used
to the textbook customer retention rate, (E - N) / S over the period, and churn, lost
customers / S, finds those here, for the same period; the predictive CLV's annual
churn is this churn over the 365 days up to the period's end.

The sets are counted in the database, one row of flags per customer
(engine/reports/customer_figures.py); :func:`textbook` turns the counts into figures.
"""

from __future__ import annotations

from typing import Any


def _rate(part: int, whole: int) -> float | None:
    return None if not whole else round(part / whole, 6)


def textbook(start: int, end: int, new: int, lost: int, returning: int) -> dict[str, Any]:
    """The textbook customer retention and churn over a period, a customer being one
    on a moment when they ordered in the ``active_days`` before it, from the counts of:

    - S (``start``): customers at the start (an order in the ``active_days`` before it);
    - E (``end``): customers at the end (an order in the ``active_days`` before it);
    - N (``new``): new customers (their first order ever in the period);
    - lost: customers at the start who are not at the end;
    - returning: customers at the end neither at the start nor new.

    Retention rate = (E - N) / S; churn rate = lost / S. A lapsed customer (not in S)
    who orders again in the period is in E but not N, so retention + churn =
    1 + returning / S: both are shown as the textbook defines them.
    """
    return {
        "customers_at_start": start,
        "customers_at_end": end,
        "new_customers": new,
        "lost_customers": lost,
        "returning_customers": returning,
        "retention_rate": _rate(end - new, start),
        "churn_rate": _rate(lost, start),
    }
