"""Fresh planner statistics for the outbox after planning added many rows to it.

PostgreSQL chooses how to read the outbox from its statistics, which only ``ANALYZE``
updates. A broadcast can add more rows in a minute than the table held before; until
the statistics catch up, the planner takes the new rows for a handful and picks plans
for a handful: a claim of 100 due SMS read every due SMS and sorted them (13k buffers
and 18 ms of server time a claim, against 4k and 6-8 ms once analysed, at 535k rows).
Autovacuum analyses such a table eventually (after a minute or more, and never where
it is turned off), but the dispatcher starts on the new rows at once. So the planner
analyses the outbox itself after a run that grew it by more than autovacuum's own
default share (``autovacuum_analyze_scale_factor``, 10 %): PostgreSQL's advice after
a bulk load ("Populating a Database: Run ANALYZE Afterwards"). ``ANALYZE`` reads a
fixed sample (30,000 rows at the default statistics target), so its cost does not grow
with the table. SQLite's planner needs no statistics for these statements.
"""

from __future__ import annotations

import logging

from sqlalchemy import Engine, text

from rapport.engine.core.models import OUTBOX

log = logging.getLogger(__name__)

#: Fewer new rows than this never call for ANALYZE (a trickle tick's few messages).
MIN_ROWS = 1_000
#: The share of the table a run must add: autovacuum's default analyze scale factor.
GROWTH = 0.10


def analyze_if_grown(engine: Engine, inserted: int) -> bool:
    """ANALYZE the outbox on PostgreSQL if ``inserted`` new rows are a large part of
    it (see the module docstring); whether it did."""
    if engine.dialect.name != "postgresql" or inserted < MIN_ROWS:
        return False
    with engine.begin() as connection:
        known = connection.execute(
            text("SELECT reltuples FROM pg_class WHERE oid = CAST(:table AS regclass)"),
            {"table": OUTBOX.name},
        ).scalar()
        # reltuples: the rows at the last ANALYZE (or VACUUM), -1 if never analysed.
        if known is not None and known >= 0 and inserted <= GROWTH * known:
            return False
        connection.execute(text(f"ANALYZE {OUTBOX.name}"))
    log.info("analysed the outbox after planning added %d rows", inserted)
    return True
