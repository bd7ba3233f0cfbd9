"""Which of some customers are erased, read so that an erasure cannot slip in after.

An import batch (and the API's ingest endpoints) reads which of its customers are
erased, skips their rows, then writes the others in the same transaction. An erasure
committing between the read and the write deleted nothing of the batch (it was not
written yet), and the batch then wrote, say, an event whose data describes her
(:mod:`rapport.engine.customers.events`). :func:`erased_among` reads under a lock:

* PostgreSQL: the customers are locked ``FOR KEY SHARE`` (the lock a foreign key to
  them takes anyway, so imports and planning do not wait for each other) in id order.
  An erasure locks its customer ``FOR UPDATE`` first: if it came first, the read waits
  for its commit and sees her erased; if the batch came first, the erasure waits for
  the batch's commit and then removes what it wrote.
* SQLite: an UPDATE that changes nothing takes the database's write lock before the
  read (as :func:`rapport.consent.privacy.hold_unerased` does), so the read is the
  newest state and no erasure commits before the batch does.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, String, bindparam, func, select, update
from sqlalchemy.dialects.postgresql import ARRAY

from rapport.engine.core.models import CUSTOMER

#: Ids per SQLite statement (well inside its parameter limit).
CHUNK = 500


def erased_among(connection: Connection, ids: Sequence[str]) -> dict[str, datetime]:
    """The erased customers among ``ids``, with when they were erased (see module doc)."""
    wanted = sorted(set(ids))
    if not wanted:
        return {}
    if connection.dialect.name == "postgresql":
        # One statement with the ids as one array: a planning batch's thousands of ids
        # as IN lists of CHUNK bound parameters cost four times the CPU to send.
        query = (
            select(CUSTOMER.c.id, CUSTOMER.c.erased_at)
            .where(CUSTOMER.c.id == func.any(bindparam("ids", type_=ARRAY(String))))
            .order_by(CUSTOMER.c.id.collate("C"))  # Python's order, as the pages lock
            .with_for_update(read=True, key_share=True)
        )
        found = connection.execute(query, {"ids": wanted})
        return {row.id: row.erased_at for row in found if row.erased_at}
    erased: dict[str, datetime] = {}
    for start in range(0, len(wanted), CHUNK):
        chunk = wanted[start : start + CHUNK]
        connection.execute(  # the write lock first: see the module doc
            update(CUSTOMER)
            .where(CUSTOMER.c.id.in_(chunk), CUSTOMER.c.erased_at.is_not(None))
            .values(erased_at=CUSTOMER.c.erased_at)
        )
        query = select(CUSTOMER.c.id, CUSTOMER.c.erased_at).where(
            CUSTOMER.c.id.in_(chunk), CUSTOMER.c.erased_at.is_not(None)
        )
        erased.update((row.id, row.erased_at) for row in connection.execute(query) if row.erased_at)
    return erased
