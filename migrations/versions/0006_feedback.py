"""Feedback answers: one per feedback request (customer and occasion).

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feedback_answer",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("occasion", sqlmodel.sql.sqltypes.AutoString(length=150), nullable=False),
        sa.Column("campaign", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("channel", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=35), nullable=False),
        sa.Column("stage", sqlmodel.sql.sqltypes.AutoString(length=32), nullable=False),
        sa.Column("tier", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("answered_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=False),
        sa.CheckConstraint("score >= 0 AND score <= 10", name="ck_feedback_score"),
        sa.ForeignKeyConstraint(["customer_id"], ["customer.id"]),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("customer_id", "occasion", name="uq_feedback_request"),
    )
    op.create_index("ix_feedback_answer_answered_at", "feedback_answer", ["answered_at"])


def downgrade() -> None:
    op.drop_index("ix_feedback_answer_answered_at", table_name="feedback_answer")
    op.drop_table("feedback_answer")
