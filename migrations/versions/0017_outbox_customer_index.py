"""The outbox loses ``ix_outbox_message_customer_id``, which ``uq_outbox_occasion`` covers.

``uq_outbox_occasion`` is (customer_id, campaign, occasion): every read of the outbox
by customer (planning's history of a batch, by id range or id list; erasure; the
foreign key's checks when a customer is deleted) is served by its leading column.
The single-column index only cost writes: one more btree entry for every planned
message (a broadcast queues hundreds of thousands) and its space (issue 20,
point 3).

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0017"
down_revision: str | None = "0016"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outbox_message_customer_id", table_name="outbox_message")


def downgrade() -> None:
    op.create_index("ix_outbox_message_customer_id", "outbox_message", ["customer_id"])
