"""What a real plan decided about a customer (``plan_decision``), for the access
request's export and for erasure.

A stored decision is the outcome of profiling the person on one planning day: the
reason's code (their stage, tier or segment not targeted, no consent, selected) and a
detail that can quote their birthday ("birthday on 2026-11-26 via email") or their
age ("where #1: age gte 40 is not met: age is 34"). GDPR Art. 15 covers such outcomes,
so the export lists them, each with the time of the run that made it; erasure deletes
them (``rapport explain`` recomputes a decision that is not stored, and an erased
customer is planned nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import ColumnElement, Connection, delete, select

from rapport.consent.export_stream import streamed_rows
from rapport.engine.core.models import PLAN_DECISION, PLAN_RUN


def exported_decisions(connection: Connection, customer_id: str) -> Iterator[dict[str, Any]]:
    """The customer's stored decisions, oldest planning day first, read a batch at a
    time: day, campaign, reason, detail, variant and ``planned_at`` (the run's time)."""
    return streamed_rows(
        connection,
        select(
            PLAN_DECISION.c.day,
            PLAN_DECISION.c.campaign,
            PLAN_DECISION.c.reason,
            PLAN_DECISION.c.detail,
            PLAN_DECISION.c.variant,
            PLAN_RUN.c.started_at.label("planned_at"),
        )
        .select_from(PLAN_DECISION)
        .outerjoin(PLAN_RUN, PLAN_RUN.c.id == PLAN_DECISION.c.plan_run)
        .where(*_of_customer(customer_id))
        .order_by(PLAN_DECISION.c.day, PLAN_DECISION.c.campaign),
    )


def delete_decisions(connection: Connection, customer_id: str) -> int:
    """Delete the customer's stored decisions; how many there were. Plan runs stay:
    they hold a day and a time, nothing about anyone."""
    return connection.execute(delete(PLAN_DECISION).where(*_of_customer(customer_id))).rowcount


def _of_customer(customer_id: str) -> tuple[ColumnElement[bool], ...]:
    """The customer's decisions, found through the key (day, customer_id, campaign):
    one look-up a planning day. By ``customer_id`` alone every decision of every
    customer was read (the key's first column is the day), inside the erasure's
    transaction. Every decision's day has a plan run: retention deletes the runs of
    a day after its decisions."""
    days = select(PLAN_RUN.c.day).distinct().scalar_subquery()
    return (PLAN_DECISION.c.day.in_(days), PLAN_DECISION.c.customer_id == customer_id)
