"""Planned messages of customers erased while their batch was planned are not written.

Planning reads a batch of customers, renders their messages, then writes them in a
transaction of its own (:func:`rapport.engine.planning.run.write_batch`). An erasure
(:func:`rapport.consent.privacy.erase_customer`) committing in between found nothing
of that batch to blank, and the batch then wrote a message greeting the person by name:
a live row holding her after her erasure was reported done. ``POST /api/v1/messages``
reads the customer and renders before its write in the same way, and checks here too.

:func:`without_erased` runs first in the batch's write transaction and keeps only rows
of customers not erased, read so that one of the two transactions waits for the other:

* PostgreSQL: the batch's customers are locked ``FOR KEY SHARE`` (the lock the outbox's
  foreign key takes anyway, so imports are not held up) in id order. The erasure
  locks its customer ``FOR UPDATE`` before it blanks anything: if it came first, the
  lock waits for its commit and then sees the row erased; if the batch came first, the
  erasure waits for the batch's commit and blanks what it wrote.
* SQLite: an UPDATE that changes nothing takes the database's write lock before the
  read, as :func:`rapport.consent.privacy.hold_unerased` does, so the read is the
  newest state and no erasure commits until the batch has.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, select, update

from rapport.engine.core.models import CUSTOMER

#: Ids per statement (well inside every driver's parameter limit).
_CHUNK = 500


def without_erased(connection: Connection, rows: Sequence[dict[str, Any]]) -> list[dict[str, Any]]:
    """``rows`` (outbox rows) less those of customers erased (see the module doc)."""
    ids = sorted({row["customer_id"] for row in rows})
    erased: set[str] = set()
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        if connection.dialect.name == "postgresql":
            locked = (
                select(CUSTOMER.c.id)
                .where(CUSTOMER.c.id.in_(chunk), CUSTOMER.c.erased_at.is_(None))
                .order_by(CUSTOMER.c.id.collate("C"))  # Python's order, as the pages lock
                .with_for_update(read=True, key_share=True)
            )
            erased.update(set(chunk) - set(connection.execute(locked).scalars()))
        else:
            touched = (
                update(CUSTOMER)
                .where(CUSTOMER.c.id.in_(chunk), CUSTOMER.c.erased_at.is_not(None))
                .values(erased_at=CUSTOMER.c.erased_at)
                .returning(CUSTOMER.c.id)
            )
            erased.update(connection.execute(touched).scalars())
    if not erased:
        return list(rows)
    return [row for row in rows if row["customer_id"] not in erased]
