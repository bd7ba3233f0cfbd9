"""A customer as planning, triggers, audiences and templates see them: plain data.

Read from the database in batches (:mod:`rapport.engine.customers.profiles`), frozen,
and never an ORM object, so a pure function can take it and a template can never
reach the database through it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from rapport.engine.customers.lifecycle import EMPTY_HISTORY, OrderHistory


@dataclass(frozen=True)
class EventRecord:
    """One event another system told about the customer (engine/customers/events.py):
    its name, the caller's id of it, the instant it occurred (aware UTC) and its data."""

    name: str
    key: str
    occurred_at: datetime
    data: dict[str, Any] | None = None


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
    #: The recent events the run's ``event`` campaigns can follow, oldest first; empty
    #: unless the reader was asked for them (engine/customers/events.py, EventQuery).
    events: tuple[EventRecord, ...] = ()

    def address(self, kind: str) -> str | None:
        return self.email if kind == "email" else self.phone if kind == "sms" else None
