"""Reading consent: the current answer for the hot paths, the evidence for people.

Planning and dispatch ask "may we?" for thousands of customers at a time, so these
read ``consent_state`` with plain Core selects of a few columns, a bounded IN list
per round trip, and hand back plain data (no ORM entities, nothing lazy).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, TypeAlias

from sqlalchemy import Connection, bindparam, select

from rapport.engine.core.models import (
    CONSENT_EVENT,
    CONSENT_STATE,
    ConsentStatus,
)

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

# Keeps each statement well inside SQLite's and PostgreSQL's bound-parameter limits
# and the query plans small.
IN_CHUNK = 500

#: A connection, or an ORM session whose connection is used (SQLAlchemy's ORM is
#: not imported for it: about 50 ms of every command that reads consent).
Executor: TypeAlias = "Connection | Session"


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """One entry of the evidence trail, as shown to operators and in data exports."""

    id: int
    channel: str
    topic: str
    status: str
    source: str
    captured_at: datetime
    recorded_at: datetime
    wording: str | None
    locale: str | None
    ip: str | None
    user_agent: str | None


def _connection(target: Executor) -> Connection:
    return target if isinstance(target, Connection) else target.connection()


def current_status(
    connection_or_session: Executor, customer_id: str, channel: str, topic: str
) -> str | None:
    """``granted``, ``withdrawn``, ``pending``, or None when the person was never asked
    (which, for sending, means no)."""
    connection = _connection(connection_or_session)
    return connection.execute(
        select(CONSENT_STATE.c.status).where(
            CONSENT_STATE.c.customer_id == customer_id,
            CONSENT_STATE.c.channel == channel,
            CONSENT_STATE.c.topic == topic,
        )
    ).scalar_one_or_none()


_GRANTED = select(
    CONSENT_STATE.c.customer_id, CONSENT_STATE.c.channel, CONSENT_STATE.c.topic
).where(
    CONSENT_STATE.c.customer_id.in_(bindparam("ids", expanding=True)),
    CONSENT_STATE.c.status == ConsentStatus.GRANTED.value,
)


#: A customer's granted (channel, topic) pairs; the empty ones may be frozen.
GrantedPairs: TypeAlias = set[tuple[str, str]] | frozenset[tuple[str, str]]


def granted_pairs(
    connection_or_session: Executor,
    customer_ids: Iterable[str],
    *,
    span: tuple[str, str] | None = None,
    topics: Collection[str] | None = None,
) -> Mapping[str, GrantedPairs]:
    """The (channel, topic) pairs each customer has currently granted.

    Every requested id is a key (with an empty set when nothing is granted), so
    callers can index without a default and still be told "no". ``span`` says the
    ids are every customer id from its first to its last value (a keyset batch), so
    one range query replaces the IN lists. ``topics`` limits the answer to those
    topics (a planning run asks only about its campaigns').

    """
    connection = _connection(connection_or_session)
    wanted = list(dict.fromkeys(customer_ids))
    about = [CONSENT_STATE.c.status == ConsentStatus.GRANTED.value]
    if topics is not None:
        about.append(CONSENT_STATE.c.topic.in_(sorted(topics)))
    if span is not None:
        found = connection.execute(
            select(
                CONSENT_STATE.c.customer_id, CONSENT_STATE.c.channel, CONSENT_STATE.c.topic
            ).where(CONSENT_STATE.c.customer_id.between(*span), *about)
        )
        # The driver's own tuples: a planning batch's range reads a few thousand rows
        # of three strings, and building SQLAlchemy's Row objects for them cost more
        # than the driver's fetch.
        try:
            rows = found.cursor.fetchall()
        finally:
            found.close()
        # Each customer starts with the one shared empty set (a planning batch's
        # thousands of customers without a grant then cost no set each).
        empty: frozenset[tuple[str, str]] = frozenset()
        found_pairs: dict[str, GrantedPairs] = dict.fromkeys(wanted, empty)
        for customer_id, channel, topic in rows:
            pairs = found_pairs.get(customer_id)
            if pairs is empty:
                found_pairs[customer_id] = {(channel, topic)}
            elif isinstance(pairs, set):
                pairs.add((channel, topic))
        return found_pairs
    result: dict[str, set[tuple[str, str]]] = {customer_id: set() for customer_id in wanted}
    if topics is None:  # one statement built once
        query = _GRANTED
    else:
        query = select(
            CONSENT_STATE.c.customer_id, CONSENT_STATE.c.channel, CONSENT_STATE.c.topic
        ).where(CONSENT_STATE.c.customer_id.in_(bindparam("ids", expanding=True)), *about)
    for start in range(0, len(wanted), IN_CHUNK):
        found = connection.execute(query, {"ids": wanted[start : start + IN_CHUNK]})
        for customer_id, channel, topic in found:
            result[customer_id].add((channel, topic))
    return result


def history(connection_or_session: Executor, customer_id: str) -> list[ConsentRecord]:
    """The customer's whole evidence trail, oldest capture first (ties in the order
    they were recorded), as needed for ``consent show`` and data-subject exports."""
    connection = _connection(connection_or_session)
    rows = connection.execute(
        select(
            CONSENT_EVENT.c.id,
            CONSENT_EVENT.c.channel,
            CONSENT_EVENT.c.topic,
            CONSENT_EVENT.c.status,
            CONSENT_EVENT.c.source,
            CONSENT_EVENT.c.captured_at,
            CONSENT_EVENT.c.recorded_at,
            CONSENT_EVENT.c.wording,
            CONSENT_EVENT.c.locale,
            CONSENT_EVENT.c.ip,
            CONSENT_EVENT.c.user_agent,
        )
        .where(CONSENT_EVENT.c.customer_id == customer_id)
        .order_by(CONSENT_EVENT.c.captured_at, CONSENT_EVENT.c.id)
    )
    return [ConsentRecord(**row._mapping) for row in rows]


@dataclass(frozen=True, slots=True)
class CurrentConsent:
    """The current answer for one channel and topic, with when it was given."""

    channel: str
    topic: str
    status: str
    captured_at: datetime


def current_states(connection_or_session: Executor, customer_id: str) -> list[CurrentConsent]:
    """Every channel and topic the customer has an answer for, for ``consent show``."""
    connection = _connection(connection_or_session)
    rows = connection.execute(
        select(
            CONSENT_STATE.c.channel,
            CONSENT_STATE.c.topic,
            CONSENT_STATE.c.status,
            CONSENT_STATE.c.captured_at,
        )
        .where(CONSENT_STATE.c.customer_id == customer_id)
        .order_by(CONSENT_STATE.c.channel, CONSENT_STATE.c.topic)
    )
    return [CurrentConsent(**row._mapping) for row in rows]
