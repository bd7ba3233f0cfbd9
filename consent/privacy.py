"""Data-subject rights: export everything we hold about a customer, and erase it.

Erasure keeps what must survive it and removes what identifies the person:

* the customer row stays (consent evidence and orders reference it) with names,
  e-mail, phone and birthday cleared and ``erased_at`` set;
* orders stay: they hold no personal data beyond the customer id, and retention
  statistics need them; events other systems posted about them go (their data is
  whatever the system chose to send);
* the consent evidence stays (it proves what was agreed and when) but loses the IP
  address and user agent; ``consent_event`` is append-only, and the migration's
  trigger allows exactly this UPDATE while the customer has an ``erasure_permit`` row,
  which exists only inside the erasing transaction;
* what real plans decided about them (``plan_decision``) goes, as the export lists it
  (:mod:`rapport.consent.profiling`);
* outbox rows stay for delivery statistics, with their rendered content (it greets
  the person by name) removed and anything still waiting cancelled;
* the addresses go onto the suppression list as hashes, so that a later import of
  the same address (a CRM sync that still has it) is not messaged again, without the
  list itself keeping the address. The hash is deliberately unkeyed: a keyed hash
  would stop matching the day the signing key is rotated, and the suppression must
  last longer than any key. The importer skips (and reports) rows of the erased
  customer's id, so a sync never silently refills them, and warns about their
  addresses under another id: such an address stays blocked until its new holder's
  fresh consent (:mod:`rapport.consent.erased_addresses`).

What a database keeps besides its live rows is handled too, as far as the database
allows. On SQLite ``secure_delete`` is on for every connection (set in
:mod:`rapport.engine.core.db`, and again here), so the space freed by clearing a value
is overwritten with zeros, and :func:`checkpoint_after_erasure`, run once the erasing
transaction has committed, copies the write-ahead log into the database file and
truncates it to zero bytes: neither ``rapport.db`` nor ``rapport.db-wal`` then holds
the old values. On PostgreSQL an UPDATE leaves the old row version behind as a dead
tuple until VACUUM reclaims it, and the server's WAL and backups keep what they keep;
docs/operations.md says what the operator must do about those. Copies outside the
database, the file channel's ``.eml``/``.json`` files, are deleted by the caller with
the :attr:`ErasureReport.message_keys` (the CLI does both).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    Row,
    and_,
    delete,
    func,
    insert,
    or_,
    select,
    update,
)

from rapport.consent.export_stream import (
    message_columns,
    plain,
    streamed_rows,
)
from rapport.consent.profiling import delete_decisions, exported_decisions
from rapport.consent.redact import quotes_person
from rapport.consent.state import current_states, history
from rapport.engine.core.db import upsert_insert
from rapport.engine.core.errors import NotFound
from rapport.engine.core.models import (
    CONSENT_EVENT,
    CUSTOMER,
    CUSTOMER_EVENT,
    ERASURE_PERMIT,
    FEEDBACK_ANSWER,
    ORDERS,
    OUTBOX,
    SUPPRESSION,
    MessageStatus,
)
from rapport.engine.core.text import counted
from rapport.engine.core.timeutil import isoformat_z, utcnow

log = logging.getLogger(__name__)


HASH_PREFIX = "sha256:"
ERASED_REASON = "erased"
#: The detail of a suppression made by an erasure alone (one that replaced a plain
#: bounce or complaint entry says so in its detail, and is never lifted).
ERASED_DETAIL = "customer erased"
CANCELLED_ERROR = "customer erased"
REDACTED_ERROR = "error text removed on erasure"
#: Suppression kind -> the customer column holding that kind of address.
ADDRESS_COLUMNS = {"email": "email", "sms": "phone"}

_SUPPRESSION_COLUMNS = ("channel", "address", "reason", "detail", "created_at")


def normalised_address(kind: str, address: str) -> str:
    """The form an address is hashed in: e-mail trimmed and lower-cased (mailbox case
    is not significant in practice), a phone number as stored (already E.164)."""
    address = address.strip()
    return address.lower() if kind == "email" else address


def address_hash(kind: str, address: str) -> str:
    """``sha256:<hex>`` of the normalised address: what the suppression list keeps for
    an erased customer. Unkeyed on purpose, so it survives a change of signing key."""
    digest = hashlib.sha256(normalised_address(kind, address).encode("utf-8")).hexdigest()
    return HASH_PREFIX + digest


def _forms(kind: str, address: str) -> list[str]:
    """Every form a suppression row for this address may be stored in."""
    return list(
        dict.fromkeys((address, normalised_address(kind, address), address_hash(kind, address)))
    )


def _stored_as(kind: str, address: str) -> ColumnElement[bool]:
    """The suppression rows of this address: in any of its :func:`_forms`, and for an
    e-mail address, spelt in any case of its (ASCII) letters, as a provider may report
    the mailbox (``MARYAM.KARIMI@`` for ``Maryam.Karimi@``): one mailbox, the customer's,
    which export shows and erasure hashes. That comparison reads every e-mail row."""
    stored = and_(SUPPRESSION.c.channel == kind, SUPPRESSION.c.address.in_(_forms(kind, address)))
    if kind != "email":
        return stored
    cased = func.lower(SUPPRESSION.c.address) == normalised_address(kind, address)
    return or_(stored, and_(SUPPRESSION.c.channel == kind, cased))


def require_customer(connection: Connection, customer_id: str) -> None:
    """Raise :class:`NotFound` unless the customer exists (so the CLI can check before
    asking for confirmation)."""
    _customer(connection, customer_id)


def hold_unerased(connection: Connection, customer_id: str) -> bool:
    """Lock the customer's row for the caller's transaction; False if erased or gone.

    A web page that records what a customer did with the visitor's address and browser
    (the preference page, the double opt-in link, an unsubscribe, the feedback question)
    looked the customer up before its transaction: an erasure committing in between was
    followed by the page's write, which put back the network data and comment the
    erasure had just cleared. Called first in the page's transaction, with
    :func:`erase_customer` locking the same row first in its own, one of the two waits
    for the other: the page then sees the erasure and records nothing, or the erasure
    sees the page's rows and clears them. On SQLite the first write of a transaction
    takes the database's write lock, so a write that changes nothing stands in for the
    row lock.
    """
    unerased = and_(CUSTOMER.c.id == customer_id, CUSTOMER.c.erased_at.is_(None))
    if connection.dialect.name == "postgresql":
        locked = select(CUSTOMER.c.id).where(unerased).with_for_update()
        return connection.execute(locked).first() is not None
    same = update(CUSTOMER).where(unerased).values(erased_at=CUSTOMER.c.erased_at)
    return connection.execute(same).rowcount == 1


def _customer(connection: Connection, customer_id: str) -> Row[Any]:
    """The customer's row, locked until the erasure commits (see :func:`hold_unerased`)."""
    query = select(CUSTOMER).where(CUSTOMER.c.id == customer_id)
    if connection.dialect.name == "postgresql":
        query = query.with_for_update()
    row = connection.execute(query).first()
    if row is None:
        raise NotFound(f"no customer with id {customer_id!r}")
    return row


def _addresses(customer: Row[Any]) -> list[tuple[str, str]]:
    """The customer's (kind, address) pairs, in suppression-list terms."""
    mapping = customer._mapping
    return [(kind, mapping[column]) for kind, column in ADDRESS_COLUMNS.items() if mapping[column]]


# -- export ---------------------------------------------------------------------------
def export_customer(
    connection: Connection, customer_id: str, *, now: datetime | None = None
) -> dict[str, Any]:
    """Everything stored about one customer, ready for ``json.dumps``: the sections of
    :func:`export_sections`, read whole."""
    return {
        key: value if isinstance(value, dict | str) else list(value)
        for key, value in export_sections(connection, customer_id, now=now)
    }


def export_sections(
    connection: Connection, customer_id: str, *, now: datetime | None = None
) -> Iterator[tuple[str, Any]]:
    """Everything stored about one customer, as (section, value) pairs in the
    document's order; a list section is an iterator of rows read a batch at a time, to
    be consumed before the next pair is asked for (``consent.export_stream``).

    Datetimes are UTC ISO 8601 with ``Z`` and amounts are strings (no float rounding),
    so the export reads the same on every database. Suppression entries are matched
    in their plain and their hashed form (of the addresses on record, in any case of
    their letters). An erased customer has no address left to match: their export
    lists no suppression entry, though the hashed entries of their erasure still block
    the addresses they had, and keeps their consent evidence. Raises NotFound at once.
    """
    return _sections(connection, _customer(connection, customer_id), now or utcnow())


def _sections(
    connection: Connection, customer: Row[Any], now: datetime
) -> Iterator[tuple[str, Any]]:
    customer_id = customer.id
    rows = partial(streamed_rows, connection)
    yield "customer", plain(customer._mapping)
    yield (
        "orders",
        rows(
            select(ORDERS)
            .where(ORDERS.c.customer_id == customer_id)
            .order_by(ORDERS.c.ordered_at, ORDERS.c.id)
        ),
    )
    yield (
        "consent",
        {
            "current": [plain(asdict(state)) for state in current_states(connection, customer_id)],
            "evidence": [plain(asdict(record)) for record in history(connection, customer_id)],
        },
    )
    yield (
        "messages",
        rows(
            select(*(OUTBOX.c[name] for name in message_columns()))
            .where(OUTBOX.c.customer_id == customer_id)
            .order_by(OUTBOX.c.created_at, OUTBOX.c.id)
        ),
    )
    yield (
        "events",
        rows(
            select(
                CUSTOMER_EVENT.c.name,
                CUSTOMER_EVENT.c.event_key.label("id"),
                CUSTOMER_EVENT.c.occurred_at,
                CUSTOMER_EVENT.c.data,
                CUSTOMER_EVENT.c.recorded_at,
            )
            .where(CUSTOMER_EVENT.c.customer_id == customer_id)
            .order_by(CUSTOMER_EVENT.c.occurred_at, CUSTOMER_EVENT.c.id)
        ),
    )
    yield (
        "feedback",
        rows(
            select(FEEDBACK_ANSWER)
            .where(FEEDBACK_ANSWER.c.customer_id == customer_id)
            .order_by(FEEDBACK_ANSWER.c.answered_at, FEEDBACK_ANSWER.c.id)
        ),
    )
    suppressions = _suppressions(connection, _addresses(customer))
    yield "suppressions", [plain(row._mapping) for row in suppressions]
    yield "decisions", exported_decisions(connection, customer_id)
    yield "exported_at", isoformat_z(now)


def _suppressions(connection: Connection, addresses: Sequence[tuple[str, str]]) -> list[Row[Any]]:
    if not addresses:
        return []
    matches = [_stored_as(kind, address) for kind, address in addresses]
    return list(
        connection.execute(
            select(*(SUPPRESSION.c[name] for name in _SUPPRESSION_COLUMNS))
            .where(or_(*matches))
            .order_by(SUPPRESSION.c.created_at, SUPPRESSION.c.id)
        )
    )


# -- erasure --------------------------------------------------------------------------
@dataclass(frozen=True)
class ErasureReport:
    """What an erasure changed, as counts: fit for terminals and logs alike."""

    customer_id: str
    erased_at: datetime
    suppressions_added: int
    plain_suppressions_replaced: int
    messages_cancelled: int
    messages_blanked: int
    consent_events_cleared: int
    orders_kept: int
    #: Events posted about the customer (``POST /api/v1/events``), deleted whole.
    events_deleted: int = 0
    #: What real plans decided about the customer (``plan_decision``), deleted.
    decisions_deleted: int = 0
    #: The idempotency keys of every message ever planned for the customer: what
    #: copies kept outside the database (the file channel's files) are named by.
    message_keys: tuple[str, ...] = ()

    def summary(self) -> str:
        return (
            f"customer {self.customer_id} erased: "
            f"{counted(self.suppressions_added, 'hashed suppression')} added "
            f"({self.plain_suppressions_replaced} plain replaced), "
            f"{counted(self.messages_cancelled, 'message')} cancelled, "
            f"{self.messages_blanked} blanked, "
            f"{counted(self.consent_events_cleared, 'consent event')} cleared of IP and "
            f"user agent, {counted(self.orders_kept, 'order')} kept"
            + (f", {counted(self.events_deleted, 'event')} deleted" if self.events_deleted else "")
        )


def erase_customer(connection: Connection, customer_id: str, now: datetime) -> ErasureReport:
    """Erase a customer's personal data in the caller's transaction (see module doc).

    Idempotent: erasing again finds nothing left to clear and reports zeros, apart
    from anything re-imported since, which it clears again.
    """
    if connection.dialect.name == "sqlite":
        # Freed space is zeroed, not left holding the old values (see module doc).
        connection.exec_driver_sql("PRAGMA secure_delete=ON")
    customer = _customer(connection, customer_id)
    addresses = _addresses(customer)
    names = [name for name in (customer.first_name, customer.last_name) if name]
    added, replaced = _suppress_hashed(connection, addresses, now)
    cancelled, blanked = _scrub_outbox(connection, customer_id, addresses, names)
    cleared = _clear_network_data(connection, customer_id)
    # Events other systems posted carry whatever data they chose: they go whole.
    events = connection.execute(
        delete(CUSTOMER_EVENT).where(CUSTOMER_EVENT.c.customer_id == customer_id)
    ).rowcount
    decisions = delete_decisions(connection, customer_id)  # consent.profiling
    # Free-text comments can name or describe the person; the scores stay for the NPS.
    connection.execute(
        update(FEEDBACK_ANSWER)
        .where(FEEDBACK_ANSWER.c.customer_id == customer_id)
        .values(comment=None)
    )
    connection.execute(
        update(CUSTOMER)
        .where(CUSTOMER.c.id == customer_id)
        .values(first_name="", last_name="", email=None, phone=None, birthday=None, erased_at=now)
    )
    orders = connection.execute(
        select(func.count()).select_from(ORDERS).where(ORDERS.c.customer_id == customer_id)
    ).scalar_one()
    report = ErasureReport(
        customer_id=customer_id,
        erased_at=now,
        suppressions_added=added,
        plain_suppressions_replaced=replaced,
        messages_cancelled=cancelled,
        messages_blanked=blanked,
        consent_events_cleared=cleared,
        orders_kept=orders,
        events_deleted=events,
        decisions_deleted=decisions,
        message_keys=tuple(
            connection.execute(
                select(OUTBOX.c.idempotency_key)
                .where(OUTBOX.c.customer_id == customer_id)
                .order_by(OUTBOX.c.id)
            ).scalars()
        ),
    )
    log.info(
        "customer erased",
        extra={
            "customer_id": report.customer_id,
            "suppressions_added": report.suppressions_added,
            "messages_cancelled": report.messages_cancelled,
            "messages_blanked": report.messages_blanked,
            "consent_events_cleared": report.consent_events_cleared,
            "orders_kept": report.orders_kept,
        },
    )
    return report


def _suppress_hashed(
    connection: Connection, addresses: Sequence[tuple[str, str]], now: datetime
) -> tuple[int, int]:
    """Suppress each address by its hash; plain entries of it are folded into that one
    row (their reason kept in its detail: the provider's text may quote the address).
    An address already suppressed by an earlier erasure (its next holder's) takes this
    erasure's time, so only consent captured after the latest erasure lifts it."""
    added = replaced = 0
    for kind, address in addresses:
        hashed = address_hash(kind, address)
        old = connection.execute(
            select(SUPPRESSION.c.id, SUPPRESSION.c.reason)
            .where(_stored_as(kind, address), SUPPRESSION.c.address != hashed)
            .order_by(SUPPRESSION.c.created_at, SUPPRESSION.c.id)
        ).all()
        reasons = ", ".join(dict.fromkeys(row.reason for row in old))
        detail = f"{ERASED_DETAIL}; replaced plain entry ({reasons})" if old else ERASED_DETAIL
        inserted = connection.execute(
            upsert_insert(connection, SUPPRESSION)
            .values(
                channel=kind, address=hashed, reason=ERASED_REASON, detail=detail, created_at=now
            )
            .on_conflict_do_nothing(index_elements=["channel", "address"])
            .returning(SUPPRESSION.c.id)
        ).all()
        added += len(inserted)
        if not inserted:  # erased before under another id: this erasure is the latest
            keep = {"detail": detail} if old else {}
            connection.execute(
                update(SUPPRESSION)
                .where(SUPPRESSION.c.channel == kind, SUPPRESSION.c.address == hashed)
                .values(created_at=now, **keep)
            )
        if old:
            connection.execute(delete(SUPPRESSION).where(SUPPRESSION.c.id.in_([r.id for r in old])))
            replaced += len(old)
    return added, replaced


def _scrub_outbox(
    connection: Connection,
    customer_id: str,
    addresses: Sequence[tuple[str, str]],
    names: Sequence[str] = (),
) -> tuple[int, int]:
    """Cancel what is still waiting and blank the rendered content of every message
    (it greets the person by name); errors that quote a name or any address are
    replaced (consent.redact). A message a dispatcher has claimed (``sending``) is left
    to it: its check right before the send finds no address and suppresses it, or the
    provider accepted it already and it is recorded sent (cancelling it denied a
    message the provider has)."""
    mine = OUTBOX.c.customer_id == customer_id
    cancelled = connection.execute(
        update(OUTBOX)
        .where(mine, OUTBOX.c.status == MessageStatus.QUEUED)
        .values(status=MessageStatus.SUPPRESSED, last_error=CANCELLED_ERROR, lease_until=None)
    ).rowcount
    blanked = connection.execute(
        update(OUTBOX)
        .where(
            mine,
            or_(
                OUTBOX.c.subject.is_not(None),
                OUTBOX.c.body_text != "",
                OUTBOX.c.body_html.is_not(None),
            ),
        )
        .values(subject=None, body_text="", body_html=None)
    ).rowcount
    needles = [normalised_address(kind, address) for kind, address in addresses]
    needles += [name.lower() for name in names]
    errors = connection.execute(
        select(OUTBOX.c.id, OUTBOX.c.last_error).where(mine, OUTBOX.c.last_error.is_not(None))
    ).all()
    quoting = [row.id for row in errors if quotes_person(row.last_error, needles)]
    if quoting:
        connection.execute(
            update(OUTBOX).where(OUTBOX.c.id.in_(quoting)).values(last_error=REDACTED_ERROR)
        )
    return cancelled, blanked


def _clear_network_data(connection: Connection, customer_id: str) -> int:
    """Clear IP and user agent from the evidence: the one UPDATE the append-only
    trigger lets through, and only while this customer's permit row exists."""
    connection.execute(insert(ERASURE_PERMIT).values(customer_id=customer_id))
    cleared = connection.execute(
        update(CONSENT_EVENT)
        .where(
            CONSENT_EVENT.c.customer_id == customer_id,
            or_(CONSENT_EVENT.c.ip.is_not(None), CONSENT_EVENT.c.user_agent.is_not(None)),
        )
        .values(ip=None, user_agent=None)
    ).rowcount
    connection.execute(delete(ERASURE_PERMIT).where(ERASURE_PERMIT.c.customer_id == customer_id))
    return cleared


def checkpoint_after_erasure(engine: Engine, wait_seconds: float = 30) -> bool | None:
    """On SQLite, copy the write-ahead log into the database file and truncate it, so
    the page images holding erased values are gone from ``-wal`` too; call it after the
    erasing transaction committed. It waits up to ``wait_seconds`` for other
    connections' reads to finish. True when done, False when a read kept part of the
    log in use (checkpointing again later finishes the job: an erasure can simply be
    repeated), None on PostgreSQL (nothing to do here)."""
    if engine.dialect.name != "sqlite":
        return None
    with engine.connect() as connection:
        (previous,) = connection.exec_driver_sql("PRAGMA busy_timeout").one()
        connection.exec_driver_sql(f"PRAGMA busy_timeout={max(0, int(wait_seconds * 1000))}")
        try:
            busy, _frames, _copied = connection.exec_driver_sql(
                "PRAGMA wal_checkpoint(TRUNCATE)"
            ).one()
        finally:
            connection.exec_driver_sql(f"PRAGMA busy_timeout={int(previous)}")
    if busy:
        log.warning("erasure: the SQLite write-ahead log is in use; checkpoint it again later")
    return not busy
