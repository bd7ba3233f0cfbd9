"""The global suppression list: addresses no message goes to, on any topic.

Bounces, complaints, STOP texts and erasures add to it; planning and dispatch both ask
it (dispatch again right before each send). An erased customer's addresses are kept
only hashed (:func:`rapport.consent.privacy.address_hash`), so every lookup asks for
both forms. An e-mail address is one mailbox whatever the case of its letters (as an
unsubscribe or a complaint treats it), so an entry is also kept in the normalised form
(:func:`rapport.consent.privacy.normalised_address`, lower case) beside the spelling
reported, and every lookup asks for that form too: ``Bounce@`` suppressed stops
``bounce@``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select, update

from rapport.consent.privacy import (
    ERASED_DETAIL,
    ERASED_REASON,
    address_hash,
    normalised_address,
)
from rapport.engine.core.db import upsert_insert
from rapport.engine.core.models import CUSTOMER, SUPPRESSION
from rapport.engine.customers.lookup import customers_by_email

#: Built once: the check before each send asks it.
_LISTED = select(SUPPRESSION.c.channel, SUPPRESSION.c.address).where(
    SUPPRESSION.c.address.in_(bindparam("addresses", expanding=True))
)


def suppress(
    connection: Connection, entries: Iterable[tuple[str, str, str, str | None]], now: datetime
) -> None:
    """Add (kind, address, reason, detail) entries; ``kind`` is "email" or "sms".

    An address erased on request, which no customer holds now, is not written back in
    plain: a bounce or complaint for it often arrives days after the erasure, and the
    provider's detail quotes it. The erasure's hashed entry takes the report instead
    (:func:`_into_erasure_entry`), which also keeps a later holder's fresh consent from
    lifting it, as a plain bounce or complaint entry would stay.
    """
    entries = list(entries)
    if not entries:
        return
    erased = _erasure_entries(connection, entries)
    rows = []
    for c, a, r, d in entries:
        if (c, address_hash(c, a)) in erased and not _held(connection, c, a):
            _into_erasure_entry(connection, c, a, r)
            continue
        for form in dict.fromkeys((a, normalised_address(c, a))):
            rows.append(
                {"channel": c, "address": form, "reason": r, "detail": d, "created_at": now}
            )
    if rows:
        # In one order whoever calls: two open transactions inserting the same keys in
        # opposite orders each wait for the other on PostgreSQL (a deadlock, one fails).
        rows.sort(key=lambda row: (row["channel"], row["address"]))
        connection.execute(
            upsert_insert(connection, SUPPRESSION)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["channel", "address"])
        )


def _erasure_entries(
    connection: Connection, entries: list[tuple[str, str, str, str | None]]
) -> set[tuple[str, str]]:
    """The (kind, hash) erasure entries among the entries' addresses."""
    hashes = sorted({address_hash(c, a) for c, a, _, _ in entries})
    found: set[tuple[str, str]] = set()
    for start in range(0, len(hashes), 500):
        rows = connection.execute(
            select(SUPPRESSION.c.channel, SUPPRESSION.c.address).where(
                SUPPRESSION.c.address.in_(hashes[start : start + 500]),
                SUPPRESSION.c.reason == ERASED_REASON,
            )
        )
        found.update((row.channel, row.address) for row in rows)
    return found


def _held(connection: Connection, kind: str, address: str) -> bool:
    """Whether a customer (not erased) holds the address now: then it is theirs, and
    written in plain like any other."""
    if kind == "email":
        return bool(customers_by_email(connection, address))
    held = select(CUSTOMER.c.id).where(CUSTOMER.c.phone == address, CUSTOMER.c.erased_at.is_(None))
    return connection.execute(held.limit(1)).first() is not None


def _into_erasure_entry(connection: Connection, kind: str, address: str, reason: str) -> None:
    """Record the report on the erasure's hashed entry, without the provider's text."""
    connection.execute(
        update(SUPPRESSION)
        .where(
            SUPPRESSION.c.channel == kind,
            SUPPRESSION.c.address == address_hash(kind, address),
            SUPPRESSION.c.detail == ERASED_DETAIL,
        )
        .values(detail=f"{ERASED_DETAIL}; {reason} reported after the erasure")
    )


def suppressed_addresses(
    connection: Connection,
    pairs: Iterable[tuple[str, str]],
    *,
    snapshot: SuppressionSnapshot | None = None,
) -> set[tuple[str, str]]:
    """Which (kind, address) pairs are on the suppression list, plainly or hashed.

    An erased customer's addresses are kept only as :func:`address_hash` values, so
    each address is looked up in both forms (one IN list per chunk) and a match on
    either counts. The pairs returned are the plain ones asked about. With a
    ``snapshot`` (see :func:`suppression_snapshot`) nothing is queried.
    """
    if snapshot is not None:
        return snapshot.matching(pairs)

    def lookup(addresses: list[str]) -> Iterable[tuple[str, str]]:
        return [(row[0], row[1]) for row in connection.execute(_LISTED, {"addresses": addresses})]

    return listed_pairs(pairs, lookup)


def listed_pairs(
    pairs: Iterable[tuple[str, str]], lookup: Callable[[list[str]], Iterable[tuple[str, str]]]
) -> set[tuple[str, str]]:
    """:func:`suppressed_addresses` over any way of reading the list: ``lookup`` gives
    the (kind, stored address) rows among the addresses it is asked about."""
    wanted = list(set(pairs))
    found: set[tuple[str, str]] = set()
    # Three forms per pair: 166 pairs keep each IN list under 500 values.
    for start in range(0, len(wanted), 166):
        forms: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for kind, address in wanted[start : start + 166]:
            for form in (address, normalised_address(kind, address), address_hash(kind, address)):
                forms.setdefault((kind, form), set()).add((kind, address))
        for channel, stored in lookup(sorted({form for _, form in forms})):
            found.update(forms.get((channel, stored), ()))
    return found


@dataclass(frozen=True)
class SuppressionSnapshot:
    """The whole suppression list as read at one moment, for a planning run.

    Planning asks about every customer's addresses; one read per run instead of a
    query (and two hashes per address) per batch. A run that reads a snapshot can
    miss an address suppressed while it runs, which is safe: dispatch checks the
    list again right before sending.
    """

    entries: frozenset[tuple[str, str]]

    def matching(self, pairs: Iterable[tuple[str, str]]) -> set[tuple[str, str]]:
        if not self.entries:
            return set()
        entries = self.entries
        return {
            (kind, address)
            for kind, address in pairs
            if (kind, address) in entries
            or (kind, normalised_address(kind, address)) in entries
            or (kind, address_hash(kind, address)) in entries
        }


class Mailboxes:
    """(kind, address) pairs compared as the suppression list compares them: an e-mail
    address in any case of its letters is one mailbox. A dispatch pass keeps its hard
    bounces in one, before they are written to the list: ``Bounce@`` bounced stops
    ``bounce@`` in the same pass too."""

    def __init__(self) -> None:
        self._forms: set[tuple[str, str]] = set()

    def add(self, pair: tuple[str, str]) -> None:
        kind, address = pair
        self._forms.add((kind, normalised_address(kind, address)))

    def __contains__(self, pair: tuple[str, str | None]) -> bool:
        kind, address = pair
        return address is not None and (kind, normalised_address(kind, address)) in self._forms


#: Above this many entries a run queries per batch rather than holding the list.
SNAPSHOT_LIMIT = 500_000


def suppression_snapshot(connection: Connection) -> SuppressionSnapshot | None:
    """The suppression list in memory, or None when it is too long to hold."""
    rows = connection.execute(
        select(SUPPRESSION.c.channel, SUPPRESSION.c.address).limit(SNAPSHOT_LIMIT + 1)
    ).all()
    if len(rows) > SNAPSHOT_LIMIT:
        return None
    return SuppressionSnapshot(frozenset((channel, address) for channel, address in rows))
