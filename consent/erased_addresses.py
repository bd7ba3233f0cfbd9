"""An address an erased customer had: blocked until its new holder consents afresh.

Erasure puts the person's addresses on the suppression list as hashes (reason
``erased``: :mod:`rapport.consent.privacy`). The same address may later belong to a new
customer, a new sign-up under a new id. That customer starts with no consent at all
(consent is kept per customer id, so the erased person's evidence never counts for
them), and the address stays blocked until they give consent again. The rule:

    An ``erased`` suppression of an address of kind K is lifted when a customer who
    is not erased and now holds that address has granted consent evidence on a
    channel of kind K captured after the suppression was made (after the erasure).

Only evidence of ``granted`` counts (a pending double opt-in does not, until the
customer confirms it), and only for the channel kind of the address: fresh e-mail
consent does not unblock the phone number. Only a suppression that was made by the
erasure alone is lifted: one that replaced a bounce or complaint of the address (its
detail says so) stays, as does every bounce, complaint or STOP entry made before or
after (those are never ``erased`` rows). Each lift is logged with ids only.

:func:`rapport.consent.store.record_consent` (every consent writer: import, preference
centre, confirmation link, SMS YES, operator grant) applies the rule to the customers
whose grants it records, and the customer import applies it to a new holder of such an
address whose fresh consent is already on record, so the order of the two does not
matter.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, select

from rapport.consent.privacy import ADDRESS_COLUMNS, ERASED_DETAIL, ERASED_REASON, address_hash
from rapport.engine.core.models import CONSENT_EVENT, CUSTOMER, SUPPRESSION, ConsentStatus

log = logging.getLogger(__name__)

_IN_CHUNK = 500
#: Channel -> kind when the caller does not say: the channels named after their kind.
DEFAULT_KINDS: Mapping[str, str] = {kind: kind for kind in ADDRESS_COLUMNS}


@dataclass(frozen=True)
class Lift:
    """One erased-address suppression removed, and the evidence that removed it."""

    customer_id: str
    kind: str
    suppression_id: int
    consent_event_id: int
    erased_at: datetime


def _holders(connection: Connection, customer_ids: list[str]) -> list[tuple[str, str, str]]:
    """(customer id, kind, hash) for every address the customers (not erased) hold."""
    found = []
    for start in range(0, len(customer_ids), _IN_CHUNK):
        chunk = customer_ids[start : start + _IN_CHUNK]
        rows = connection.execute(
            select(CUSTOMER.c.id, CUSTOMER.c.email, CUSTOMER.c.phone).where(
                CUSTOMER.c.id.in_(chunk), CUSTOMER.c.erased_at.is_(None)
            )
        )
        for row in rows:
            mapping = row._mapping
            for kind, column in ADDRESS_COLUMNS.items():
                if mapping[column]:
                    found.append((row.id, kind, address_hash(kind, mapping[column])))
    return found


def lift_for_fresh_consent(
    connection: Connection,
    customer_ids: Iterable[str],
    kinds: Mapping[str, str] | None = None,
) -> list[Lift]:
    """Apply the module's rule to ``customer_ids``, in the caller's transaction.

    ``kinds`` maps each configured channel to its kind ("email", "sms"); without it,
    a channel named ``email`` or ``sms`` is taken to be of that kind and any other
    channel's consent lifts nothing (the safe side: the address stays blocked).
    Costs two queries (per 500 customers) when none of them holds an erased address.
    """
    channel_kinds = {**DEFAULT_KINDS, **(kinds or {})}
    holders = _holders(connection, sorted(set(customer_ids)))
    if not holders:
        return []
    hashes = sorted({hashed for _, _, hashed in holders})
    erased: dict[tuple[str, str], Any] = {}
    for start in range(0, len(hashes), _IN_CHUNK):
        query = select(
            SUPPRESSION.c.id, SUPPRESSION.c.channel, SUPPRESSION.c.address, SUPPRESSION.c.created_at
        ).where(
            SUPPRESSION.c.address.in_(hashes[start : start + _IN_CHUNK]),
            SUPPRESSION.c.reason == ERASED_REASON,
            SUPPRESSION.c.detail == ERASED_DETAIL,
        )
        erased.update(((row.channel, row.address), row) for row in connection.execute(query))
    lifts: list[Lift] = []
    for customer_id, kind, hashed in holders:
        row = erased.get((kind, hashed))
        channels = sorted(name for name, of in channel_kinds.items() if of == kind)
        if row is None or not channels:
            continue
        event_id = connection.execute(
            select(CONSENT_EVENT.c.id)
            .where(
                CONSENT_EVENT.c.customer_id == customer_id,
                CONSENT_EVENT.c.channel.in_(channels),
                CONSENT_EVENT.c.status == ConsentStatus.GRANTED.value,
                CONSENT_EVENT.c.captured_at > row.created_at,
            )
            .order_by(CONSENT_EVENT.c.captured_at, CONSENT_EVENT.c.id)
            .limit(1)
        ).scalar()
        if event_id is None:
            continue
        connection.execute(delete(SUPPRESSION).where(SUPPRESSION.c.id == row.id))
        del erased[(kind, hashed)]
        lift = Lift(customer_id, kind, row.id, event_id, row.created_at)
        lifts.append(lift)
        log.info(
            "erased-address suppression lifted by fresh consent",
            extra={
                "customer_id": customer_id,
                "channel": kind,
                "suppression_id": row.id,
                "consent_event_id": event_id,
            },
        )
    return lifts
