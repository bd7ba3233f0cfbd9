"""Delivery receipts: what the provider finally reported for a sent message.

``delivery_status`` is ``delivered``, ``undelivered`` or ``failed`` (the first final
report wins; see engine/delivery/receipts.py) and ``delivery_error`` the provider's
error code with it (``30005``, ``invalid_number``). Messages already marked delivered
by e-mail delivery events get ``delivered``.

``ix_outbox_provider_id``: receipts find their message by the provider's id. Partial
(``provider_id IS NOT NULL``): only sent messages carry one, so planning's inserts of
queued rows do not touch it.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0012"
down_revision: str | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("delivery_status", sqlmodel.sql.sqltypes.AutoString(length=16)))
        batch.add_column(sa.Column("delivery_error", sqlmodel.sql.sqltypes.AutoString(length=64)))
    op.execute(
        "UPDATE outbox_message SET delivery_status = 'delivered' WHERE delivered_at IS NOT NULL"
    )
    op.create_index(
        "ix_outbox_provider_id",
        "outbox_message",
        ["provider_id"],
        sqlite_where=sa.text("provider_id IS NOT NULL"),
        postgresql_where=sa.text("provider_id IS NOT NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_outbox_provider_id", table_name="outbox_message")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("delivery_error")
        batch.drop_column("delivery_status")
