"""Outbox retention: when a message's rendered content was pruned.

``outbox_message.pruned_at`` is set when retention (``rapport outbox prune``, or the
daemon's nightly job) removed a final message's subject and bodies; the row itself
stays, with everything the reports count. ``ix_outbox_unpruned`` holds only rows not
pruned yet, by ``send_at``, so each night reads the messages that have come of age
instead of every message ever sent.

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNPRUNED = sa.text("pruned_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("pruned_at", rapport.engine.core.timeutil.UTCDateTime()))
    op.create_index(
        "ix_outbox_unpruned",
        "outbox_message",
        ["send_at", "id"],
        sqlite_where=UNPRUNED,
        postgresql_where=UNPRUNED,
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_unpruned", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("pruned_at")
