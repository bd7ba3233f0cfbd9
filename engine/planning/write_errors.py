"""When the database refuses a batch of planned messages: which customers, never what.

Planning writes a batch's outbox rows in one transaction. What data can break that
write is checked before (the renderer refuses output a database cannot store), so a
refusal here is unforeseen; still, the driver's error quotes the statement's values or
the failing row (PostgreSQL's ``DETAIL: Failing row contains (..., Hi Ada, ...)``),
and the daemon logs what stops a tick. :class:`BatchWriteError` replaces it: it names
the customers whose rows the database refuses, each found by writing that row alone in
a transaction rolled back, and the error's class, and nothing of the data.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError

from rapport.engine.core.errors import RapportError
from rapport.engine.delivery import outbox

#: At most this many customers are named (a batch whose every row fails names a few).
MAX_NAMED = 10


class BatchWriteError(RapportError):
    """The outbox refused a batch of planned messages; names customer ids only."""

    def __init__(self, customer_ids: Sequence[str], cause: str) -> None:
        self.customer_ids = list(customer_ids)
        named = ", ".join(self.customer_ids[:MAX_NAMED])
        more = len(self.customer_ids) - MAX_NAMED
        who = (
            f"the message of customer(s) {named}" + (f" and {more} more" if more > 0 else "")
            if self.customer_ids
            else "the batch (no single message alone)"
        )
        super().__init__(
            f"the database refused {who} ({cause}); nothing of this batch was written. "
            f"See `rapport preview CAMPAIGN --customer ID` for what the message holds"
        )


def refused(engine: Engine, rows: Sequence[dict[str, Any]], error: DBAPIError) -> BatchWriteError:
    """The error to raise instead of ``error``: each row written alone, then rolled
    back, to find the customers whose message the database refuses."""
    customers: list[str] = []
    for row in rows:
        with engine.connect() as connection:
            transaction = connection.begin()
            try:
                outbox.enqueue(connection, [row])
            except DBAPIError:
                customers.append(str(row["customer_id"]))
            finally:
                transaction.rollback()
    return BatchWriteError(list(dict.fromkeys(customers)), type(error.orig).__name__)
