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


def upgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox_message")
    op.create_index("ix_outbox_due", "outbox_message", ["status", "channel", "send_at", "id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_due", table_name="outbox_message")
    op.create_index("ix_outbox_due", "outbox_message", ["status", "send_at", "id"])
