"""When a provider reported a message delivered (from delivery events).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("delivered_at", rapport.engine.core.timeutil.UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("delivered_at")
