"""Planned messages (and decisions) of customers erased while their batch was planned
are not written.

Planning reads a batch of customers, renders their messages, then writes them in a
transaction of its own (:func:`rapport.engine.planning.run.write_batch`). An erasure
(:func:`rapport.consent.privacy.erase_customer`) committing in between found nothing
of that batch to blank, and the batch then wrote a message greeting the person by name:
a live row holding her after her erasure was reported done. ``POST /api/v1/messages``
reads the customer and renders before its write in the same way, and checks here too.

:func:`without_erased` runs first in the batch's write transaction and reads who is
erased as imports do (:func:`rapport.engine.customers.erased_ids.erased_among`), under a
lock that makes one of the two transactions wait for the other: if the erasure came
first, the read sees her erased; if the batch came first, the erasure waits for the
batch's commit and blanks what it wrote.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from rapport.engine.customers.erased_ids import erased_among

if TYPE_CHECKING:
    from rapport.engine.planning.decisions import DecisionLog


def without_erased(
    connection: Connection, rows: Sequence[dict[str, Any]], log: DecisionLog | None = None
) -> list[dict[str, Any]]:
    """``rows`` (outbox rows) less those of customers erased (see the module doc). The
    decisions ``log`` keeps about them are dropped too: erasure deletes what plans
    decided about a customer (:mod:`rapport.consent.profiling`), and a decision's detail
    can quote her birthday or age."""
    ids = [row["customer_id"] for row in rows]
    if log is not None:
        ids += [decision[0] for decision in log.rows]
    erased = erased_among(connection, ids)
    if not erased:
        return list(rows)
    if log is not None:
        log.rows = [decision for decision in log.rows if decision[0] not in erased]
    return [row for row in rows if row["customer_id"] not in erased]
