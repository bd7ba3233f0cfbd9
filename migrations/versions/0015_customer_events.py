"""Events other systems tell about customers: ``customer_event``.

One row per event ``POST /api/v1/events`` recorded (engine/web/api_events.py): the
customer, the event's name (``order_shipped``), the client's id of it (unique per
customer and name, so a re-post changes nothing), when it occurred, a small JSON
object of data and when it was recorded. ``event`` triggers follow them
(engine/triggers/events.py); retention deletes them after ``retention.event_days``.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0015"
down_revision: str | None = "0014"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "customer_event",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column(
            "customer_id",
            sqlmodel.sql.sqltypes.AutoString(length=64),
            sa.ForeignKey("customer.id"),
            nullable=False,
        ),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("event_key", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("occurred_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=True),
        sa.Column("recorded_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("customer_id", "name", "event_key", name="uq_customer_event_key"),
    )
    op.create_index("ix_customer_event_occurred_at", "customer_event", ["occurred_at"])


def downgrade() -> None:
    op.drop_index("ix_customer_event_occurred_at", table_name="customer_event")
    op.drop_table("customer_event")
