"""Stored planning decisions: ``plan_run`` and ``plan_decision``.

A real plan stores, per (planning day, customer, campaign), the reason it decided
(its code), a short detail, the A/B variant and the run (engine/planning/decisions.py);
``rapport explain`` shows them. The primary key (day, customer_id, campaign) is the
only index (on SQLite the table itself, WITHOUT ROWID): explain reads one customer on
one day, retention deletes whole days. No foreign keys: PostgreSQL would check every
inserted row.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_run",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("started_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=False),
        sa.UniqueConstraint("day", "started_at", name="uq_plan_run"),
    )
    op.create_table(
        "plan_decision",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("campaign", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("reason", sqlmodel.sql.sqltypes.AutoString(length=24), nullable=False),
        sa.Column("detail", sqlmodel.sql.sqltypes.AutoString(length=200), nullable=False),
        sa.Column("variant", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("plan_run", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "customer_id", "campaign", name="pk_plan_decision"),
        # SQLite: the rows live in the key's own B-tree (one tree to write, not two).
        sqlite_with_rowid=False,
    )


def downgrade() -> None:
    op.drop_table("plan_decision")
    op.drop_table("plan_run")
