"""Erasure removes error texts that quote an address she had before, not only her
current ones: a provider's refusal quotes the recipient ("550 5.1.1 <old@...>:
Recipient address rejected", "21211 Invalid 'To' Phone Number: +98..."), and once a
CRM sync has replaced her address the outbox row of that message still held the old
one after her erasure, under her id. Rapport keeps no history of addresses, so an
error text of hers that quotes any e-mail address or phone number is replaced; one
that quotes none (a server busy) is kept.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, select

from rapport.consent.privacy import REDACTED_ERROR, erase_customer
from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.delivery import outbox
from tests.consent.test_export_and_erasure import seed

AT = datetime(2026, 10, 1, 8, 0, tzinfo=UTC)
ERASED_AT = datetime(2026, 11, 27, 9, 30, tzinfo=UTC)
ERRORS = {
    "old-email": "550 5.1.1 <m.karimi.1370@example.net>: Recipient address rejected",
    "old-phone": "21211 Invalid 'To' Phone Number: +989351112233",
    "busy": "421 4.3.2 Service not available, closing transmission channel",
}


def failed_message(name: str, error: str) -> dict[str, object]:
    return {
        "idempotency_key": f"FA1:{name}:2026-10:email",
        "customer_id": "FA1",
        "campaign": name,
        "occasion": "2026-10",
        "channel": "email",
        "topic": "offers",
        "locale": "fa_IR",
        "status": MessageStatus.FAILED.value,
        "body_text": "",
        "send_at": AT,
        "last_error": error,
        "created_at": AT,
    }


def test_erasure_removes_errors_quoting_an_address_she_had_before(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)  # her address now: Maryam.Karimi@example.com, +989121234567
    with engine.begin() as connection:
        outbox.enqueue(connection, [failed_message(n, e) for n, e in ERRORS.items()])

    with engine.begin() as connection:
        erase_customer(connection, "FA1", ERASED_AT)

    with engine.connect() as connection:
        errors = dict(
            connection.execute(
                select(OUTBOX.c.campaign, OUTBOX.c.last_error).where(
                    OUTBOX.c.campaign.in_(list(ERRORS))
                )
            ).all()
        )
    assert errors["old-email"] == REDACTED_ERROR
    assert errors["old-phone"] == REDACTED_ERROR
    assert errors["busy"] == ERRORS["busy"]
