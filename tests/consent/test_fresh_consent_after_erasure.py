"""A new sign-up with an erased customer's address (issue 16, point 4): a new record,
whose sends stay blocked until fresh consent, on SQLite and PostgreSQL.

Maryam (FA1) is erased; her e-mail and number come back under a new id, FA2. FA2
starts with none of her consent (consent is per customer id), and the addresses stay
on the suppression list until FA2's own grant captured after the erasure is recorded,
whichever way it arrives (import, preference centre, confirmation, SMS YES, operator:
all through ``record_consent``). The grant lifts only the erasure's suppression, only
for its channel's kind: a bounce, a complaint or a STOP stays, and so does an erasure
entry that replaced one.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import DAY, PLAN_AT, TEST_SECRET, make_settings
from factories import plan_day as plan_day_with
from sqlalchemy import Engine, select

from rapport.channels.recording import RecordingChannel
from rapport.consent.privacy import address_hash, erase_customer
from rapport.consent.state import granted_pairs
from rapport.consent.store import ConsentChange, RecordResult, record_consent
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.models import OUTBOX, SUPPRESSION
from rapport.engine.customers.importer import ImportReport, import_file
from rapport.engine.customers.profiles import load_profile
from rapport.engine.delivery import suppression
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.planning.planner import Decision, Reason, decide
from rapport.engine.planning.run import audiences_for
from tests.consent.conftest import CONSENT_JSONL, CUSTOMERS_CSV, EMAIL, ORDERS_CSV, PHONE

IMPORTED_AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ERASED_AT = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
SIGNED_UP_AT = datetime(2026, 11, 22, 8, 0, tzinfo=UTC)
FRESH = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)  # after the erasure, before planning
HEADER, MARYAM = CUSTOMERS_CSV.splitlines()[:2]
#: FA2: a new id, with the e-mail and number Maryam had.
NEW_SIGN_UP = MARYAM.replace("FA1", "FA2", 1).replace(EMAIL, EMAIL.lower())


def settings() -> Any:
    return make_settings()


def import_text(
    engine: Engine, tmp_path: Path, kind: str, name: str, text: str, at: datetime = IMPORTED_AT
) -> ImportReport:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return import_file(engine, settings(), kind, path, clock=lambda: at)  # type: ignore[arg-type]


def consent_line(customer_id: str, channel: str, captured_at: datetime, **extra: str) -> str:
    record = {
        "customer_id": customer_id,
        "channel": channel,
        "topic": "birthday",
        "status": "granted",
        "source": "web_signup",
        "captured_at": captured_at.isoformat(),
        "wording": "birthday-v2",
        **extra,
    }
    return json.dumps(record) + "\n"


def grant(
    engine: Engine, customer_id: str, channel: str, at: datetime, **options: Any
) -> RecordResult:
    """A grant as the preference centre or ``consent grant`` records it."""
    change = ConsentChange(customer_id, channel, "birthday", "granted", "operator", at, "v1")
    with engine.begin() as connection:
        return record_consent(connection, [change], recorded_at=at, **options)


def erased_rows(engine: Engine) -> set[tuple[str, str, str]]:
    with engine.connect() as connection:
        rows = connection.execute(
            select(SUPPRESSION.c.channel, SUPPRESSION.c.address, SUPPRESSION.c.reason)
        )
        return {(row.channel, row.address, row.reason) for row in rows}


def birthday(engine: Engine, customer_id: str) -> Decision:
    """What the planner decides about the birthday campaign for the customer."""
    config = settings()
    campaign = next(c for c in require_campaigns(config) if c.id == "birthday")
    with engine.connect() as connection:
        profile = load_profile(connection, config, customer_id, PLAN_AT)
        assert profile is not None
        return decide(
            profile, campaign, audiences_for(connection, [profile], DAY), DAY, PLAN_AT, config
        )


def planned(engine: Engine, customer_id: str) -> list[tuple[str, str]]:
    with engine.connect() as connection:
        return [
            (row.channel, row.status)
            for row in connection.execute(
                select(OUTBOX.c.channel, OUTBOX.c.status).where(OUTBOX.c.customer_id == customer_id)
            )
        ]


@pytest.fixture
def new_sign_up(engine: Engine, tmp_path: Path) -> ImportReport:
    """Maryam and Alex imported with orders and birthday consent, Maryam erased, then FA2
    signs up with her addresses: the import report of FA2."""
    import_text(engine, tmp_path, "customers", "customers.csv", CUSTOMERS_CSV)
    import_text(engine, tmp_path, "orders", "orders.csv", ORDERS_CSV)
    import_text(engine, tmp_path, "consent", "consent.jsonl", CONSENT_JSONL)
    with engine.begin() as connection:
        erase_customer(connection, "FA1", ERASED_AT)
    text = f"{HEADER}\n{NEW_SIGN_UP}\n"
    return import_text(engine, tmp_path, "customers", "new.csv", text, SIGNED_UP_AT)


async def test_a_new_sign_up_with_an_erased_address_is_messaged_only_after_fresh_consent(
    engine: Engine, tmp_path: Path, new_sign_up: ImportReport
) -> None:
    assert (new_sign_up.inserted, new_sign_up.rejected, new_sign_up.erased_skipped) == (1, 0, 0)
    assert [(w.line, w.field) for w in new_sign_up.warnings] == [(2, "email"), (2, "phone")]
    assert all("until this customer's consent" in w.message for w in new_sign_up.warnings)

    # None of Maryam's consent counts for the new record: consent is per customer id.
    with engine.connect() as connection:
        assert granted_pairs(connection, ["FA1", "FA2"]) == {
            "FA1": {("email", "birthday"), ("sms", "birthday")},
            "FA2": set(),
        }
    assert birthday(engine, "FA2").reason is Reason.NO_CONSENT

    # A grant the CRM says FA2 gave before the erasure is not fresh: still blocked.
    stale = consent_line("FA2", "email", ERASED_AT - timedelta(days=1))
    report = import_text(engine, tmp_path, "consent", "stale.jsonl", stale, FRESH)
    assert (report.inserted, report.rejected) == (1, 0)
    assert birthday(engine, "FA2").reason is Reason.SUPPRESSED
    plan_day_with(engine, settings())
    assert planned(engine, "FA2") == []

    # FA2's e-mail grant captured after the erasure lifts the e-mail block, and only it.
    report = import_text(
        engine, tmp_path, "consent", "fresh.jsonl", consent_line("FA2", "email", FRESH), FRESH
    )
    assert (report.inserted, report.rejected) == (1, 0)
    assert erased_rows(engine) == {("sms", address_hash("sms", PHONE), "erased")}
    decision = birthday(engine, "FA2")
    assert decision.reason is Reason.SELECTED and decision.channel == "email"
    plan_day_with(engine, settings())
    assert planned(engine, "FA2") == [("email", "queued")]
    assert planned(engine, "FA1") == []

    with engine.connect() as connection:
        send_at = connection.execute(
            select(OUTBOX.c.send_at).where(OUTBOX.c.customer_id == "FA2")
        ).scalar_one()
    channel = RecordingChannel()
    dispatcher = Dispatcher(
        engine,
        settings(),
        {"email": channel, "sms": channel},
        Signer(TEST_SECRET),
        clock=lambda: send_at + timedelta(minutes=1),
        worker_id="test",
    )
    try:
        await dispatcher.run_once()
    finally:
        await dispatcher.aclose()
    assert [message.to for message in channel.sent] == [EMAIL.lower()]


def test_the_preference_centre_or_an_operator_grant_lifts_it_too(
    engine: Engine, new_sign_up: ImportReport
) -> None:
    assert grant(engine, "FA2", "sms", ERASED_AT - timedelta(minutes=1)).suppressions_lifted == 0
    assert grant(engine, "FA2", "sms", FRESH).suppressions_lifted == 1
    assert erased_rows(engine) == {("email", address_hash("email", EMAIL), "erased")}
    assert grant(engine, "FA2", "email", FRESH).suppressions_lifted == 1
    assert erased_rows(engine) == set()


def test_a_pending_grant_lifts_nothing_until_it_is_confirmed(
    engine: Engine, new_sign_up: ImportReport
) -> None:
    pending = ConsentChange("FA2", "email", "birthday", "pending", "preference_center", FRESH)
    with engine.begin() as connection:
        assert record_consent(connection, [pending], recorded_at=FRESH).suppressions_lifted == 0
    assert len(erased_rows(engine)) == 2
    # A stale grant arriving now does not make the pending one count either.
    assert grant(engine, "FA2", "email", ERASED_AT - timedelta(days=1)).suppressions_lifted == 0
    assert len(erased_rows(engine)) == 2
    assert grant(engine, "FA2", "email", FRESH + timedelta(hours=1)).suppressions_lifted == 1


def test_a_channel_counts_for_the_kind_it_is_configured_as(
    engine: Engine, new_sign_up: ImportReport
) -> None:
    """Without the configured kinds only channels named email and sms are known: the
    importer passes them; another caller without them lifts nothing (stays blocked)."""
    assert grant(engine, "FA2", "birthday_mail", FRESH).suppressions_lifted == 0
    assert len(erased_rows(engine)) == 2
    lifted = grant(
        engine,
        "FA2",
        "birthday_mail",
        FRESH + timedelta(minutes=1),
        kinds={"birthday_mail": "email"},
    )
    assert lifted.suppressions_lifted == 1
    assert erased_rows(engine) == {("sms", address_hash("sms", PHONE), "erased")}


def test_fresh_consent_never_lifts_a_bounce_a_complaint_or_a_stop(
    engine: Engine, new_sign_up: ImportReport
) -> None:
    with engine.begin() as connection:
        suppression.suppress(
            connection,
            [
                ("email", EMAIL.lower(), "bounce", "550 user unknown"),
                ("sms", PHONE, "complaint", "STOP"),
            ],
            FRESH,
        )
    later = FRESH + timedelta(hours=1)
    assert grant(engine, "FA2", "email", later).suppressions_lifted == 1
    assert grant(engine, "FA2", "sms", later).suppressions_lifted == 1
    assert erased_rows(engine) == {
        ("email", EMAIL.lower(), "bounce"),
        ("sms", PHONE, "complaint"),
    }
    assert birthday(engine, "FA2").reason is Reason.SUPPRESSED


def test_an_erasure_entry_that_replaced_a_complaint_is_never_lifted(
    engine: Engine, tmp_path: Path
) -> None:
    import_text(engine, tmp_path, "customers", "customers.csv", CUSTOMERS_CSV)
    with engine.begin() as connection:
        suppression.suppress(connection, [("sms", PHONE, "complaint", "STOP")], IMPORTED_AT)
        erase_customer(connection, "FA1", ERASED_AT)
    import_text(
        engine, tmp_path, "customers", "new.csv", f"{HEADER}\n{NEW_SIGN_UP}\n", SIGNED_UP_AT
    )
    assert grant(engine, "FA2", "sms", FRESH).suppressions_lifted == 0
    assert grant(engine, "FA2", "email", FRESH).suppressions_lifted == 1
    with engine.connect() as connection:
        (row,) = connection.execute(select(SUPPRESSION)).all()
    assert (row.channel, row.address, row.reason) == ("sms", address_hash("sms", PHONE), "erased")
    assert row.detail == "customer erased; replaced plain entry (complaint)"


def test_consent_before_an_address_change_lifts_at_the_import_that_brings_it(
    engine: Engine, tmp_path: Path, new_sign_up: ImportReport
) -> None:
    """The order of the two does not matter: FA3 consented (after the erasure) while
    holding another address, then the CRM gives FA3 the erased address."""
    other = NEW_SIGN_UP.replace("FA2", "FA3", 1).replace(EMAIL.lower(), "fa3@example.com")
    other = other.replace(PHONE, "+989120000000")
    import_text(engine, tmp_path, "customers", "fa3.csv", f"{HEADER}\n{other}\n", SIGNED_UP_AT)
    assert grant(engine, "FA3", "email", FRESH).suppressions_lifted == 0
    moved = other.replace("fa3@example.com", EMAIL.lower())
    report = import_text(engine, tmp_path, "customers", "moved.csv", f"{HEADER}\n{moved}\n", FRESH)
    assert report.updated == 1
    assert [(w.field, "unblocked" in w.message) for w in report.warnings] == [("email", True)]
    assert erased_rows(engine) == {("sms", address_hash("sms", PHONE), "erased")}


def test_only_consent_after_the_latest_erasure_of_the_address_counts(
    engine: Engine, tmp_path: Path, new_sign_up: ImportReport
) -> None:
    """FA2 is erased in turn before consenting: the address's suppression now dates
    from FA2's erasure, so FA4's grant between the two erasures is not fresh."""
    second = ERASED_AT + timedelta(days=3)
    with engine.begin() as connection:
        erase_customer(connection, "FA2", second)
        created = connection.execute(select(SUPPRESSION.c.created_at)).scalars().all()
    assert created == [second, second]
    fa4 = NEW_SIGN_UP.replace("FA2", "FA4", 1)
    import_text(engine, tmp_path, "customers", "fa4.csv", f"{HEADER}\n{fa4}\n", second)
    assert grant(engine, "FA4", "email", second - timedelta(days=1)).suppressions_lifted == 0
    assert grant(engine, "FA4", "email", second + timedelta(hours=1)).suppressions_lifted == 1


def test_a_bounce_or_complaint_after_the_erasure_keeps_her_address_hashed(
    engine: Engine, tmp_path: Path
) -> None:
    """A complaint or bounce for an erased person's address often arrives days later
    (feedback loops). It was written to the list in plain, with the provider's text
    quoting the address: the erasure's promise (no live row holds her address) undone
    by the next webhook. While no customer holds the address, the erasure's hashed entry
    takes the report instead, and it stays even after a fresh sign-up's consent."""
    import_text(engine, tmp_path, "customers", "customers.csv", CUSTOMERS_CSV)
    with engine.begin() as connection:
        erase_customer(connection, "FA1", ERASED_AT)
        suppression.suppress(
            connection,
            [
                ("email", EMAIL, "complaint", f"abuse report about {EMAIL}"),
                ("sms", PHONE, "bounce", f"{PHONE} unreachable"),
            ],
            FRESH,
        )
    with engine.connect() as connection:
        rows = connection.execute(select(SUPPRESSION.c.address, SUPPRESSION.c.detail)).all()
        listed = suppression.suppressed_addresses(connection, [("email", EMAIL), ("sms", PHONE)])
    text = " ".join(f"{row.address} {row.detail}" for row in rows).lower()
    assert EMAIL.lower() not in text and PHONE not in text
    assert listed == {("email", EMAIL), ("sms", PHONE)}
    import_text(
        engine, tmp_path, "customers", "new.csv", f"{HEADER}\n{NEW_SIGN_UP}\n", SIGNED_UP_AT
    )
    later = FRESH + timedelta(hours=1)
    assert grant(engine, "FA2", "email", later).suppressions_lifted == 0
    assert grant(engine, "FA2", "sms", later).suppressions_lifted == 0
