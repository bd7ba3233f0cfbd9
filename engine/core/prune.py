"""Deleting what a retention period has passed, oldest first, a batch per transaction.

Posted events and inbound SMS ids are kept a number of days; the nightly tick deletes
the older ones. A single ``DELETE`` of a year's rows would hold SQLite's write lock (or
PostgreSQL's row locks and a long transaction) for as long as it takes, and could not
stop for a shutdown. So the keys of the oldest ``batch_size`` rows are read and deleted
in one short transaction, and ``stop`` is asked between transactions.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import Column, Engine, delete, select

__all__ = ["delete_before"]


def delete_before(
    engine: Engine,
    key: Column,
    moment: Column,
    cutoff: datetime,
    *,
    batch_size: int,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Delete the rows of ``key``'s table whose ``moment`` is before ``cutoff``, oldest
    first, ``batch_size`` a transaction; how many went. A row whose moment changed
    between the read and the delete (it is no longer before ``cutoff``) is kept."""
    table = key.table
    deleted = 0
    while stop is None or not stop():
        with engine.begin() as connection:
            keys = list(
                connection.execute(
                    select(key).where(moment < cutoff).order_by(moment).limit(batch_size)
                ).scalars()
            )
            if keys:
                deleted += connection.execute(
                    delete(table).where(key.in_(keys), moment < cutoff)
                ).rowcount
        if len(keys) < batch_size:
            break
    return deleted
