"""One outbox message per (customer, campaign, occasion), whatever the channel.

The idempotency key names the channel, so on its own it allowed a second message for
the same occasion on another channel after a consent change between planning ticks.
A store written before this revision may hold such pairs: every row is kept (they
were sent, and the reports count them), and each later one of a pair gets an occasion
of its own, ``<occasion>#<id>``, so that the constraint holds.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute(
        "UPDATE outbox_message SET occasion = "
        "substr(occasion, 1, 128) || '#' || CAST(id AS VARCHAR(20)) "
        "WHERE EXISTS (SELECT 1 FROM outbox_message AS earlier "
        "WHERE earlier.customer_id = outbox_message.customer_id "
        "AND earlier.campaign = outbox_message.campaign "
        "AND earlier.occasion = outbox_message.occasion "
        "AND earlier.id < outbox_message.id)"
    )
    with op.batch_alter_table("outbox_message") as batch:
        batch.create_unique_constraint(
            "uq_outbox_occasion", ["customer_id", "campaign", "occasion"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_constraint("uq_outbox_occasion", type_="unique")
