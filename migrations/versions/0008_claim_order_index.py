"""Claims read due messages in index order; suppression is looked up by address.

``ix_outbox_due`` gains ``id``, the claim's tie-break (ORDER BY send_at, id), so
PostgreSQL reads the first rows of a range in order instead of sorting every due
row first: a broadcast queues hundreds of thousands of messages with one
``send_at``, and each claim of 100 then sorted all of them (0.3 s at 500k rows; 6 ms
with the index). SQLite keys every index by rowid already, so there it changes nothing.

``ix_suppression_address``: dispatch asks which of a batch's addresses are suppressed
by address alone (plain and hashed forms), which the (channel, address) unique index
cannot answer without reading the whole list.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0008"
down_revision: str | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox_message")
    op.create_index("ix_outbox_due", "outbox_message", ["status", "send_at", "id"])
    op.create_index("ix_suppression_address", "suppression", ["address"])


def downgrade() -> None:
    op.drop_index("ix_suppression_address", table_name="suppression")
    op.drop_index("ix_outbox_due", table_name="outbox_message")
    op.create_index("ix_outbox_due", "outbox_message", ["status", "send_at"])
