"""The only writer of consent: evidence first, then the current state derived from it.

Every change is appended to ``consent_event`` (the proof: who, when, through what
source and wording) and folded into ``consent_state`` (the answer the planner and
dispatcher read). Both happen in the caller's transaction, so the proof and the
answer can never disagree.

Ordering rules, applied in SQL so concurrent writers cannot undo each other:

* the fact captured latest wins, whatever order facts arrive in (an old paper form
  imported today does not override yesterday's unsubscribe); a fact dated after it
  was recorded (an import's clock skew) counts from when it was recorded;
* on an equal ``captured_at`` the less permissive status wins (withdrawn, then
  pending, then granted): when in doubt, do not send;
* the same fact (customer, channel, topic, status, source, captured_at) is recorded
  once, so re-importing a file or retrying a request adds no evidence; said again with
  other evidence (another wording), it is a conflict the caller is told of
  (:mod:`rapport.consent.evidence`), and the record keeps what it holds.

A grant captured after an erasure, by the customer who now holds an address the
erased person had, lifts the erasure's suppression of that address
(:mod:`rapport.consent.erased_addresses`): every consent writer comes through
:func:`record_consent`, so the rule holds whichever way the consent arrives.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import Connection, and_, case, or_, select

from rapport.consent.erased_addresses import lift_for_fresh_consent
from rapport.consent.evidence import FACT_COLUMNS, Conflict, FactKey, conflicts
from rapport.consent.state import CurrentConsent, current_states, history
from rapport.engine.core.db import upsert_insert
from rapport.engine.core.errors import NotFound
from rapport.engine.core.models import (
    CONSENT_EVENT,
    CONSENT_STATE,
    CUSTOMER,
    ConsentStatus,
)
from rapport.engine.core.timeutil import Clock, as_utc, utcnow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

#: How permissive each status is; on a tie in time the lower rank wins.
_PRECEDENCE = {
    ConsentStatus.GRANTED.value: 0,
    ConsentStatus.PENDING.value: 1,
    ConsentStatus.WITHDRAWN.value: 2,
}
_IN_CHUNK = 500

#: A connection, or an ORM session whose connection is used (SQLAlchemy's ORM is
#: not imported for it: about 50 ms of every command that reads consent).
Executor: TypeAlias = "Connection | Session"
StateKey = tuple[str, str, str]


@dataclass(frozen=True, slots=True)
class ConsentChange:
    """One consent fact as captured, before it is recorded.

    ``captured_at`` is when the person acted (not when we learnt of it); it orders
    facts and must therefore carry a time zone.
    """

    customer_id: str
    channel: str
    topic: str
    status: str
    source: str
    captured_at: datetime
    wording: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    locale: str | None = None

    def __post_init__(self) -> None:
        if self.status not in _PRECEDENCE:
            raise ValueError(f"unknown consent status {self.status!r}")
        if self.captured_at.tzinfo is None:
            raise ValueError("captured_at must be timezone-aware")
        if not self.source:
            raise ValueError("source must not be empty")

    @property
    def fact(self) -> FactKey:
        return (
            self.customer_id,
            self.channel,
            self.topic,
            self.status,
            self.source,
            as_utc(self.captured_at),
        )


@dataclass(frozen=True, slots=True)
class RecordResult:
    """What a call changed: ``recorded`` new evidence rows, ``duplicates`` facts that
    were already on record (or repeated in the batch), ``state_changes`` current
    states created or changed, ``suppressions_lifted`` erased-address suppressions
    this fresh consent lifted. ``conflicts`` are the duplicates (by their index in
    the call's events) whose evidence differs from what is on record; they count
    among ``duplicates`` too."""

    recorded: int = 0
    duplicates: int = 0
    state_changes: int = 0
    suppressions_lifted: int = 0
    conflicts: tuple[Conflict, ...] = ()


def _connection(target: Executor) -> Connection:
    return target if isinstance(target, Connection) else target.connection()


def _precedence(column: Any) -> Any:
    return case(
        {status: rank for status, rank in _PRECEDENCE.items() if rank},
        value=column,
        else_=0,
    )


def _check_customers(connection: Connection, customer_ids: Iterable[str]) -> None:
    """Fail with the ids named rather than with a foreign-key error from the driver."""
    wanted = sorted(set(customer_ids))
    found: set[str] = set()
    for start in range(0, len(wanted), _IN_CHUNK):
        chunk = wanted[start : start + _IN_CHUNK]
        found.update(
            connection.execute(select(CUSTOMER.c.id).where(CUSTOMER.c.id.in_(chunk))).scalars()
        )
    missing = [customer_id for customer_id in wanted if customer_id not in found]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise NotFound(f"unknown customer: {shown}")


def _append_events(
    connection: Connection, changes: Sequence[ConsentChange], recorded_at: datetime
) -> list[Any]:
    """Insert the new facts; returns the rows actually inserted (duplicates are skipped)."""
    statement = upsert_insert(connection, CONSENT_EVENT)
    if connection.dialect.name == "postgresql":
        statement = statement.on_conflict_do_nothing(constraint="uq_consent_event_fact")
    else:
        statement = statement.on_conflict_do_nothing(index_elements=list(FACT_COLUMNS))
    statement = statement.returning(
        CONSENT_EVENT.c.id,
        CONSENT_EVENT.c.customer_id,
        CONSENT_EVENT.c.channel,
        CONSENT_EVENT.c.topic,
        CONSENT_EVENT.c.status,
        CONSENT_EVENT.c.source,
        CONSENT_EVENT.c.captured_at,
    )
    parameters = [
        {
            "customer_id": change.customer_id,
            "channel": change.channel,
            "topic": change.topic,
            "status": change.status,
            "source": change.source,
            "captured_at": as_utc(change.captured_at),
            "wording": change.wording,
            "locale": change.locale,
            "ip": change.ip,
            "user_agent": change.user_agent,
            "recorded_at": as_utc(recorded_at),
        }
        for change in changes
    ]
    # executemany: SQLAlchemy's "insertmanyvalues" turns this into a few multi-row
    # INSERT ... RETURNING statements, within each driver's parameter limits.
    return list(connection.execute(statement, parameters))


def _winners(rows: Iterable[Any], recorded_at: datetime) -> list[dict[str, Any]]:
    """The one fact per (customer, channel, topic) that may become the current state.

    A fact counts from when it was captured, or from when it was recorded if that is
    earlier: an import may date a fact a few minutes ahead (the source's clock runs
    fast), and no one acted after we recorded it. Ordered by the later date, such a
    grant outranked a withdrawal made in those minutes, for good. The evidence keeps
    the date as given; the state holds the moment it counts from.
    """
    best: dict[StateKey, tuple[datetime, int, int, str]] = {}
    ceiling = as_utc(recorded_at)
    for row in rows:
        key = (row.customer_id, row.channel, row.topic)
        counts_from = min(as_utc(row.captured_at), ceiling)
        candidate = (counts_from, _PRECEDENCE[row.status], -row.id, row.status)
        if key not in best or candidate[:3] > best[key][:3]:
            best[key] = candidate
    return [
        {
            "customer_id": customer_id,
            "channel": channel,
            "topic": topic,
            "status": status,
            "captured_at": captured_at,
            "event_id": -negative_id,
        }
        for (customer_id, channel, topic), (captured_at, _, negative_id, status) in best.items()
    ]


def _fold_into_state(connection: Connection, winners: list[dict[str, Any]]) -> int:
    """Upsert the current states; the WHERE keeps a newer (or stricter) state in place."""
    if not winners:
        return 0
    statement = upsert_insert(connection, CONSENT_STATE)
    excluded = statement.excluded
    statement = statement.on_conflict_do_update(
        index_elements=[
            CONSENT_STATE.c.customer_id,
            CONSENT_STATE.c.channel,
            CONSENT_STATE.c.topic,
        ],
        set_={
            "status": excluded.status,
            "captured_at": excluded.captured_at,
            "event_id": excluded.event_id,
        },
        where=or_(
            excluded.captured_at > CONSENT_STATE.c.captured_at,
            and_(
                excluded.captured_at == CONSENT_STATE.c.captured_at,
                _precedence(excluded.status) > _precedence(CONSENT_STATE.c.status),
            ),
        ),
    ).returning(CONSENT_STATE.c.customer_id)
    return len(connection.execute(statement, winners).all())


def record_consent(
    connection_or_session: Executor,
    events: Sequence[ConsentChange],
    recorded_at: datetime,
    *,
    kinds: Mapping[str, str] | None = None,
) -> RecordResult:
    """Record consent facts as evidence and bring the current state up to date.

    Runs in the caller's transaction and does not commit. Every customer must exist
    (:class:`NotFound` otherwise, before anything is written). A batch costs a fixed
    handful of statements whatever its size, so importers should pass whole batches.
    Only facts that are new become candidates for the state: a fact already on record
    was folded into the state when it was first recorded. New grants lift erased-address
    suppressions as :mod:`rapport.consent.erased_addresses` says; ``kinds`` (channel
    -> "email"/"sms") tells which address a channel's consent is for. A fact already
    on record whose evidence differs is returned among ``conflicts``, looked up in one
    more query (:mod:`rapport.consent.evidence`), and changes nothing.
    """
    if not events:
        return RecordResult()
    connection = _connection(connection_or_session)
    unique: dict[FactKey, int] = {}
    for index, change in enumerate(events):
        unique.setdefault(change.fact, index)
    _check_customers(connection, (change.customer_id for change in events))
    inserted = _append_events(connection, [events[index] for index in unique.values()], recorded_at)
    new = {unique.get((*row[1:6], as_utc(row.captured_at))) for row in inserted}
    repeated = {index: change for index, change in enumerate(events) if index not in new}
    contradicting = conflicts(connection, repeated) if repeated else []
    changed = _fold_into_state(connection, _winners(inserted, recorded_at))
    granted = {row.customer_id for row in inserted if row.status == ConsentStatus.GRANTED.value}
    lifted = lift_for_fresh_consent(connection, granted, kinds) if granted else []
    return RecordResult(
        recorded=len(inserted),
        duplicates=len(events) - len(inserted),
        state_changes=changed,
        suppressions_lifted=len(lifted),
        conflicts=tuple(contradicting),
    )


def _single(
    target: Executor,
    status: ConsentStatus,
    customer_id: str,
    channel: str,
    topic: str,
    *,
    source: str,
    clock: Clock,
    captured_at: datetime | None,
    wording: str | None,
    ip: str | None,
    user_agent: str | None,
) -> RecordResult:
    now = clock()
    change = ConsentChange(
        customer_id=customer_id,
        channel=channel,
        topic=topic,
        status=status.value,
        source=source,
        captured_at=captured_at if captured_at is not None else now,
        wording=wording,
        ip=ip,
        user_agent=user_agent,
    )
    return record_consent(target, [change], recorded_at=now)


def grant(
    connection_or_session: Executor,
    customer_id: str,
    channel: str,
    topic: str,
    *,
    source: str,
    clock: Clock = utcnow,
    captured_at: datetime | None = None,
    wording: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> RecordResult:
    """Record one grant (operator edit, confirmed opt-in, inbound START), captured now
    unless ``captured_at`` says otherwise. Channel and topic are the caller's to check
    against the configuration."""
    return _single(
        connection_or_session,
        ConsentStatus.GRANTED,
        customer_id,
        channel,
        topic,
        source=source,
        clock=clock,
        captured_at=captured_at,
        wording=wording,
        ip=ip,
        user_agent=user_agent,
    )


def withdraw(
    connection_or_session: Executor,
    customer_id: str,
    channel: str,
    topic: str,
    *,
    source: str,
    clock: Clock = utcnow,
    captured_at: datetime | None = None,
    wording: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> RecordResult:
    """Record one withdrawal (unsubscribe link, STOP, operator edit); it takes effect
    for every message not yet sent, because dispatch re-reads the state."""
    return _single(
        connection_or_session,
        ConsentStatus.WITHDRAWN,
        customer_id,
        channel,
        topic,
        source=source,
        clock=clock,
        captured_at=captured_at,
        wording=wording,
        ip=ip,
        user_agent=user_agent,
    )


#: The wording version a one-click unsubscribe records (the link's own promise).
UNSUBSCRIBE_LINK_WORDING = "unsubscribe-link-v1"


def withdraw_channel(
    connection: Connection,
    customer_id: str,
    channel: str,
    *,
    source: str,
    now: datetime,
    locale: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    wording: str | None = UNSUBSCRIBE_LINK_WORDING,
    again: Collection[str] = (),
) -> int:
    """Withdraw every granted or pending topic on ``channel``; returns how many.

    One-click unsubscribe and an SMS STOP both mean "nothing more on this channel",
    whatever topics the customer had said yes to. ``again``: see :func:`withdraw_channels`.
    """
    return withdraw_channels(
        connection,
        customer_id,
        [channel],
        source=source,
        now=now,
        locale=locale,
        ip=ip,
        user_agent=user_agent,
        wording=wording,
        again=again,
    )


def withdraw_channels(
    connection: Connection,
    customer_id: str,
    channels: Collection[str],
    *,
    source: str,
    now: datetime,
    captured_at: datetime | None = None,
    locale: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    wording: str | None = None,
    again: Collection[str] = (),
) -> int:
    """Withdraw every granted or pending topic on any of ``channels``; returns how many.

    ``captured_at`` is when the person asked, when that is earlier than ``now`` (a
    provider reporting a complaint made before we heard of it).

    ``again`` names sources whose withdrawal a later word can undo (an SMS keyword,
    which START undoes): a topic whose latest withdrawal came from one of them is
    withdrawn again by this one, so that an unsubscribe made after a STOP is on
    record and START leaves it alone. Such topics are not counted.
    """
    states = current_states(connection, customer_id)
    active = [
        state
        for state in states
        if state.channel in channels
        and state.status in (ConsentStatus.GRANTED, ConsentStatus.PENDING)
    ]
    renewed = _withdrawn_by(connection, customer_id, channels, states, again) if again else []
    if not active and not renewed:
        return 0
    record_consent(
        connection,
        [
            ConsentChange(
                customer_id,
                state.channel,
                state.topic,
                ConsentStatus.WITHDRAWN.value,
                source,
                captured_at or now,
                wording=wording,
                ip=ip,
                user_agent=user_agent,
                locale=locale,
            )
            for state in [*active, *renewed]
        ],
        recorded_at=now,
    )
    return len(active)


def _withdrawn_by(
    connection: Connection,
    customer_id: str,
    channels: Collection[str],
    states: Sequence[CurrentConsent],
    sources: Collection[str],
) -> list[CurrentConsent]:
    """The customer's topics on ``channels`` now withdrawn whose latest withdrawal came
    from one of ``sources``."""
    withdrawn = [s for s in states if s.channel in channels and s.status == ConsentStatus.WITHDRAWN]
    if not withdrawn:
        return []
    latest: dict[tuple[str, str], str] = {}
    for record in history(connection, customer_id):  # oldest first: the last one wins
        if record.status == ConsentStatus.WITHDRAWN and record.channel in channels:
            latest[(record.channel, record.topic)] = record.source
    return [s for s in withdrawn if latest.get((s.channel, s.topic)) in sources]
