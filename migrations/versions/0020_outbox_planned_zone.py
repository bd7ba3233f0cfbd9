"""The outbox keeps the time zone and country a message was planned for.

Planning puts a message in its send window and quiet hours in the customer's local
time. A customer whose time zone (or country) is corrected between planning and the
send would otherwise get the message at the hours of the old one: an SMS planned for
10:00 in Shanghai went out at 02:42 in London once the customer was re-imported there.
The check before each send compares the customer's zone and country with these and,
when they changed, applies the channel's quiet hours again where the customer is now
(engine/delivery/fence.py). Rows from before, and rows no planner wrote (transactional
e-mails), have neither and are not re-checked. Both columns are nullable, so adding
them rewrites nothing on either database.

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(sa.Column("timezone", sa.String(length=64)))
        batch.add_column(sa.Column("country", sa.String(length=2)))


def downgrade() -> None:
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("country")
        batch.drop_column("timezone")
