"""Consent trail hardening, transactional messages and erasure.

- consent_event.locale: the language the wording was shown in.
- consent_event is append-only, enforced by triggers on both databases: UPDATE,
  DELETE (and on PostgreSQL TRUNCATE) are refused, except clearing the IP address and
  user agent of a customer whose erasure holds a row in erasure_permit.
- outbox_message.transactional: confirmation e-mails and requested links.
- customer.erased_at: when a data-subject erasure happened.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

import rapport.engine.core.timeutil

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_UNCHANGED = " AND ".join(
    f"{{new}}.{c} {{same}} {{old}}.{c}"
    for c in (
        "id",
        "customer_id",
        "channel",
        "topic",
        "status",
        "source",
        "captured_at",
        "recorded_at",
        "wording",
        "locale",
    )
)


def _erasure_only(same: str) -> str:
    """The one permitted UPDATE: IP and user agent cleared, all else unchanged."""
    unchanged = _UNCHANGED.format(new="NEW", old="OLD", same=same)
    return (
        f"{unchanged} AND NEW.ip IS NULL AND NEW.user_agent IS NULL AND EXISTS "
        "(SELECT 1 FROM erasure_permit p WHERE p.customer_id = OLD.customer_id)"
    )


def upgrade() -> None:
    with op.batch_alter_table("consent_event") as batch:
        batch.add_column(sa.Column("locale", sqlmodel.sql.sqltypes.AutoString(length=35)))
    with op.batch_alter_table("outbox_message") as batch:
        batch.add_column(
            sa.Column("transactional", sa.Boolean(), nullable=False, server_default=sa.false())
        )
    with op.batch_alter_table("customer") as batch:
        batch.add_column(sa.Column("erased_at", rapport.engine.core.timeutil.UTCDateTime()))
    op.create_table(
        "erasure_permit",
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(length=64), nullable=False),
        sa.PrimaryKeyConstraint("customer_id"),
    )

    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION rapport_consent_event_append_only() RETURNS trigger AS $$
            BEGIN
              IF TG_OP = 'UPDATE' AND {_erasure_only("IS NOT DISTINCT FROM")} THEN
                RETURN NEW;
              END IF;
              RAISE EXCEPTION 'consent_event is append-only: % refused', TG_OP
                USING ERRCODE = 'insufficient_privilege';
            END
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER consent_event_append_only BEFORE UPDATE OR DELETE ON consent_event "
            "FOR EACH ROW EXECUTE FUNCTION rapport_consent_event_append_only()"
        )
        op.execute(
            "CREATE TRIGGER consent_event_no_truncate BEFORE TRUNCATE ON consent_event "
            "FOR EACH STATEMENT EXECUTE FUNCTION rapport_consent_event_append_only()"
        )
    else:
        op.execute(
            "CREATE TRIGGER consent_event_no_delete BEFORE DELETE ON consent_event "
            "BEGIN SELECT RAISE(ABORT, 'consent_event is append-only: DELETE refused'); END"
        )
        op.execute(
            "CREATE TRIGGER consent_event_no_update BEFORE UPDATE ON consent_event "
            f"WHEN NOT ({_erasure_only('IS')}) "
            "BEGIN SELECT RAISE(ABORT, 'consent_event is append-only: UPDATE refused'); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER consent_event_no_truncate ON consent_event")
        op.execute("DROP TRIGGER consent_event_append_only ON consent_event")
        op.execute("DROP FUNCTION rapport_consent_event_append_only()")
    else:
        op.execute("DROP TRIGGER consent_event_no_update")
        op.execute("DROP TRIGGER consent_event_no_delete")
    op.drop_table("erasure_permit")
    with op.batch_alter_table("customer") as batch:
        batch.drop_column("erased_at")
    with op.batch_alter_table("outbox_message") as batch:
        batch.drop_column("transactional")
    with op.batch_alter_table("consent_event") as batch:
        batch.drop_column("locale")
