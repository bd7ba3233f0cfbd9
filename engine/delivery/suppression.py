"""The global suppression list: addresses no message goes to, on any topic.

Bounces, complaints, STOP texts and erasures add to it; planning and dispatch both ask
it (dispatch again right before each send). An erased customer's addresses are kept
only hashed (:func:`rapport.consent.privacy.address_hash`), so every lookup asks for
both forms.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, bindparam, select

from rapport.consent.privacy import address_hash
from rapport.engine.core.db import upsert_insert
from rapport.engine.core.models import SUPPRESSION

#: Built once: the check before each send asks it.
_LISTED = select(SUPPRESSION.c.channel, SUPPRESSION.c.address).where(
    SUPPRESSION.c.address.in_(bindparam("addresses", expanding=True))
)


def suppress(
    connection: Connection, entries: Iterable[tuple[str, str, str, str | None]], now: datetime
) -> None:
    """Add (kind, address, reason, detail) entries; ``kind`` is "email" or "sms"."""
    rows = [
        {"channel": c, "address": a, "reason": r, "detail": d, "created_at": now}
        for c, a, r, d in entries
    ]
    if rows:
        connection.execute(
            upsert_insert(connection, SUPPRESSION)
            .values(rows)
            .on_conflict_do_nothing(index_elements=["channel", "address"])
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
    # Two forms per pair: 250 pairs keep each IN list at 500 values.
    for start in range(0, len(wanted), 250):
        forms: dict[tuple[str, str], set[tuple[str, str]]] = {}
        for kind, address in wanted[start : start + 250]:
            for form in (address, address_hash(kind, address)):
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
            if (kind, address) in entries or (kind, address_hash(kind, address)) in entries
        }


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
