"""Inbound SMS keywords are processed once per provider message id: ``sms_inbound_id``.

A provider retries a webhook it thinks failed, sometimes minutes later: a START
retried after the customer's later STOP granted consent again. The provider's id of
each keyword processed is kept (its primary key, so of two deliveries at once one is
processed), with when it arrived (the nightly retention deletes ids older than 30
days, by the index) and which reply it got, so a repeat gets the same answer
(consent/sms_ids.py). A new table: nothing is rewritten on either database.

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-07
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sms_inbound_id",
        sa.Column("message_id", sa.String(length=255), primary_key=True),
        sa.Column("received_at", rapport.engine.core.timeutil.UTCDateTime(), nullable=False),
        sa.Column("reply", sa.String(length=16), nullable=True),
    )
    op.create_index("ix_sms_inbound_id_received_at", "sms_inbound_id", ["received_at"])


def downgrade() -> None:
    op.drop_index("ix_sms_inbound_id_received_at", table_name="sms_inbound_id")
    op.drop_table("sms_inbound_id")
