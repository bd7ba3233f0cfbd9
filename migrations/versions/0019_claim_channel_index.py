"""``ix_outbox_due`` gains ``channel``: a channel's claim reads its own index range.

Each channel's pump claims its own channel's due messages. With (status, send_at, id)
the channel was a filter on the heap. Measured on PostgreSQL with 535k queued rows
(the 1M benchmark's broadcast, 65 % e-mail, send_at interleaved), claims of 100 SMS:

- e-mails due before the SMS: a claim read past every one of them, 19k rows and 20k
  buffers a claim once 10k SMS were sent (~500 buffers with channel in the index);
- the benchmark's state (10k SMS due, the broadcast not analysed yet): PostgreSQL
  expected few rows after the filter and read every due SMS with a bitmap scan and
  sorted them, each claim: 13k buffers and 18 ms of server time a claim (median),
  against 4k buffers and 6-8 ms;
- the claim for channels no longer configured read the whole outbox: 319 ms, 0.8 ms.

The index replaces the old one, so a planned message still writes one entry to it
(a few bytes wider: the channel's name).

On PostgreSQL the outbox is live while this runs (daemons plan and dispatch during a
rolling upgrade) and may hold millions of rows: a plain CREATE INDEX would block every
write to it for the whole build, and dropping the old index first would leave claims
without one meanwhile. So the new index is built beside the old one under a temporary
name with CREATE INDEX CONCURRENTLY (outside a transaction: ``autocommit_block``),
then the old one is dropped concurrently and the new one takes its name. A concurrent
build that fails (or is cancelled) leaves an INVALID index behind, which still costs
every write: a re-run drops a leftover temporary index first. Each step copes with
the one before having been done or not, so a run interrupted anywhere can be re-run.
SQLite has no concurrent build and one writer: it drops and creates.

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-07
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


#: The name the new index is built under, beside the one it replaces.
_BUILDING = "ix_outbox_due_building"
_TABLE = "outbox_message"


def _replace_due_index(columns: list[str]) -> None:
    """``ix_outbox_due`` becomes an index of ``columns``; on PostgreSQL without blocking
    the outbox's writes, and never without an ``ix_outbox_due`` for claims to read."""
    if op.get_bind().dialect.name != "postgresql":
        op.drop_index("ix_outbox_due", table_name=_TABLE)
        op.create_index("ix_outbox_due", _TABLE, columns)
        return
    with op.get_context().autocommit_block():
        # an earlier run's leftover: INVALID if its build failed
        op.drop_index(_BUILDING, table_name=_TABLE, postgresql_concurrently=True, if_exists=True)
        op.create_index(_BUILDING, _TABLE, columns, postgresql_concurrently=True)
        # absent if an earlier run dropped it and stopped before the rename
        op.drop_index(
            "ix_outbox_due", table_name=_TABLE, postgresql_concurrently=True, if_exists=True
        )
        op.execute(f"ALTER INDEX {_BUILDING} RENAME TO ix_outbox_due")


def upgrade() -> None:
    _replace_due_index(["status", "channel", "send_at", "id"])


def downgrade() -> None:
    _replace_due_index(["status", "send_at", "id"])
