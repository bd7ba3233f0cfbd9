"""The link-signing key, kept in the database so every daemon on it shares one.

Without ``RAPPORT_SECRET_KEY`` each machine used to generate its own key into
``var/secret.key``: several daemons on one PostgreSQL database then signed links the
others could not open. ``signing_key`` holds one row per key name (only ``links``
today): the first process that needs a key inserts it with ``ON CONFLICT DO NOTHING``
and every process reads back the row that won (see :mod:`rapport.engine.core.keys`).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-24
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "signing_key",
        sa.Column("name", sa.String(length=32), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("created_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("name"),
    )


def downgrade() -> None:
    op.drop_table("signing_key")
