"""A customer's export lists each message with everything the outbox keeps about it but
the dispatcher's lease bookkeeping, as consent/export_stream.py says: the columns added after
the export was written (the A/B variant they were shown, the SMS segments, the
provider's delivery report and its time, the time zone and country they were planned
in, when the bodies were pruned) were left out, so the export was not everything
stored about the person. On SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

from factories import insert_customer
from sqlalchemy import Engine, insert

from rapport.consent.privacy import export_customer
from rapport.engine.core.models import OUTBOX

AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def test_an_exported_message_holds_its_variant_delivery_report_and_planned_place(
    engine: Engine,
) -> None:
    insert_customer(engine, "FA1", phone="+989121234567")
    with engine.begin() as connection:
        connection.execute(
            insert(OUTBOX).values(
                idempotency_key="FA1:offers:2026-11:sms",
                customer_id="FA1",
                campaign="offers",
                occasion="2026-11",
                channel="sms",
                topic="offers",
                locale="fa_IR",
                variant="b",
                segments=2,
                status="sent",
                body_text="...",
                send_at=AT,
                created_at=AT,
                sent_at=AT,
                delivered_at=AT,
                delivery_status="undelivered",
                delivery_error="30005",
                pruned_at=AT,
                timezone="Asia/Tehran",
                country="IR",
                claimed_by="host-1:42",
                lease_until=AT,
            )
        )
    with engine.connect() as connection:
        (message,) = export_customer(connection, "FA1", now=AT)["messages"]
    assert {
        name: message.get(name)
        for name in (
            "variant",
            "segments",
            "delivered_at",
            "delivery_status",
            "delivery_error",
            "pruned_at",
            "timezone",
            "country",
        )
    } == {
        "variant": "b",
        "segments": 2,
        "delivered_at": "2026-11-20T08:00:00Z",
        "delivery_status": "undelivered",
        "delivery_error": "30005",
        "pruned_at": "2026-11-20T08:00:00Z",
        "timezone": "Asia/Tehran",
        "country": "IR",
    }
    assert "claimed_by" not in message and "lease_until" not in message


def test_every_outbox_column_is_exported_or_named_as_not_about_the_person() -> None:
    from rapport.consent import export_stream

    exported = set(export_stream.message_columns())
    left_out = {column.name for column in OUTBOX.columns} - exported
    assert left_out == set(export_stream.MESSAGE_COLUMNS_NOT_EXPORTED)
