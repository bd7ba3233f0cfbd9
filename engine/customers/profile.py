"""A customer as planning, triggers, audiences and templates see them: plain data.

Read from the database in batches (:mod:`rapport.engine.customers.profiles`), frozen,
and never an ORM object, so a pure function can take it and a template can never
reach the database through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from rapport.engine.customers.lifecycle import EMPTY_HISTORY, OrderHistory


@dataclass(frozen=True)
class CustomerProfile:
    """Plain data about one customer, as the planner and templates need it."""

    id: str
    locale: str
    timezone: str
    first_name: str = ""
    last_name: str = ""
    email: str | None = None
    phone: str | None = None
    country: str | None = None
    birthday: date | None = None
    created_at: datetime | None = None
    history: OrderHistory = EMPTY_HISTORY
    #: The profile's own ``currency`` column (ISO 4217), or None: the customer's
    #: currency then comes from their orders
    #: (:func:`~rapport.engine.customers.lifecycle.customer_currency`).
    currency: str | None = None

    def address(self, kind: str) -> str | None:
        return self.email if kind == "email" else self.phone if kind == "sms" else None
