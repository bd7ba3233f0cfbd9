"""The HTTP API's bearer tokens: ``api_token``.

One row per token ``rapport api-token create`` made: its name, its scope (ingest,
send or read), the SHA-256 of the token (the token itself is shown once and never
stored), when it was made and when it was revoked.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0014"
down_revision: str | None = "0013"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_token",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(length=100), nullable=False),
        sa.Column("scope", sqlmodel.sql.sqltypes.AutoString(length=16), nullable=False),
        sa.Column("token_hash", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.Column("created_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=False),
        sa.Column("revoked_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=True),
        sa.UniqueConstraint("name"),
        sa.UniqueConstraint("token_hash"),
    )


def downgrade() -> None:
    op.drop_table("api_token")
