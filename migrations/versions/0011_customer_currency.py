"""The customer's own currency: ``customer.currency``.

ISO 4217, optional (the import's ``currency`` column). When set, money shown to the
customer (lifetime value, last order, fixed-amount offers) is in this currency; when
empty it is the currency of most of their orders. Tier thresholds stay in the base
currency either way.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-06
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0011"
down_revision: str | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("currency", sqlmodel.sql.sqltypes.AutoString(length=3)))


def downgrade() -> None:
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("currency")
