"""One outbox message per (customer, campaign, occasion), whatever the channel.

The idempotency key names the channel, so on its own it allowed a second message for
the same occasion on another channel after a consent change between planning ticks.

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
    with op.batch_alter_table("outbox_message") as batch:
        batch.create_unique_constraint(
            "uq_outbox_occasion", ["customer_id", "campaign", "occasion"]
        )


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_constraint("uq_outbox_occasion", type_="unique")
