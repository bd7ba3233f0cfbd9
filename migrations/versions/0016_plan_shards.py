"""Planning shared by every daemon on PostgreSQL: ``plan_shard``.

One row per (planning day, shard): a range of customer ids (``lo`` exclusive, ``hi``
inclusive, None open), its status (queued, running, done), the daemon holding it
and until when (``owner``, ``lease_until``), how often it was claimed, and the "now"
of the run that last planned it (engine/planning/shard_leases.py). SQLite never
writes it: one process plans there.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan_shard",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("shard", sa.Integer(), nullable=False),
        sa.Column("lo", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("hi", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=True),
        sa.Column("status", sqlmodel.sql.sqltypes.AutoString(length=8), nullable=False),
        sa.Column("owner", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=True),
        sa.Column("lease_until", rapport.engine.core.timeutil.UTCDateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("planned_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=True),
        sa.Column("finished_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("day", "shard"),
    )


def downgrade() -> None:
    op.drop_table("plan_shard")
