"""Data-subject rights in the library: export and erasure, on SQLite and PostgreSQL.

The customer is Persian (مریم کریمی) so that the checks cover non-Latin names: after
erasure the test reflects the live schema and scans every text column of every table
for her name, e-mail and phone, so a table added later is covered without editing
this file. Her data is in ``conftest.py``; the ``rapport customers export`` and
``erase`` commands are tested in ``test_privacy_commands.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import DAY, PLAN_AT, TEST_SECRET, make_settings
from factories import plan_day as plan_day_with
from sqlalchemy import Engine, MetaData, String, func, insert, select, update
from sqlalchemy.exc import DBAPIError

from rapport.channels.recording import RecordingChannel
from rapport.consent.privacy import (
    address_hash,
    erase_customer,
    export_customer,
    normalised_address,
)
from rapport.consent.store import ConsentChange, record_consent
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import NotFound
from rapport.engine.core.models import (
    CONSENT_EVENT,
    CUSTOMER,
    ERASURE_PERMIT,
    ORDERS,
    OUTBOX,
    SUPPRESSION,
    MessageStatus,
)
from rapport.engine.customers.importer import import_file
from rapport.engine.customers.profiles import load_profile
from rapport.engine.delivery import outbox, suppression
from rapport.engine.delivery.dispatch import Dispatcher
from rapport.engine.planning.planner import Reason, decide
from rapport.engine.planning.run import audiences_for
from tests.consent.conftest import (
    CONSENT_JSONL,
    CUSTOMERS_CSV,
    EMAIL,
    FIRST,
    LAST,
    ORDERS_CSV,
    PHONE,
)

IMPORTED_AT = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
ERASED_AT = datetime(2026, 11, 21, 9, 30, tzinfo=UTC)
#: What must be gone after erasure, compared case-insensitively.
PERSONAL = (FIRST, LAST, "maryam.karimi", "maryam.karimi@example.com", PHONE, "9121234567")

WEB_GRANT = ConsentChange(
    customer_id="FA1",
    channel="email",
    topic="offers",
    status="granted",
    source="web",
    captured_at=datetime(2025, 3, 1, 12, 0, tzinfo=UTC),
    wording="offers-v2",
    ip="203.0.113.7",
    user_agent="Mozilla/5.0 (Linux; Android 14)",
    locale="fa_IR",
)


# -- helpers --------------------------------------------------------------------------
def settings() -> Settings:
    return make_settings()


def import_text(engine: Engine, tmp_path: Path, kind: str, name: str, text: str) -> None:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    report = import_file(engine, settings(), kind, path, clock=lambda: IMPORTED_AT)  # type: ignore[arg-type]
    assert report.rejected == 0, report.problems


def seed(engine: Engine, tmp_path: Path) -> None:
    """Two customers with orders and consent, Maryam with web evidence, a planned
    birthday message, a failed message and a complaint that quote her addresses."""
    import_text(engine, tmp_path, "customers", "customers.csv", CUSTOMERS_CSV)
    import_text(engine, tmp_path, "orders", "orders.csv", ORDERS_CSV)
    import_text(engine, tmp_path, "consent", "consent.jsonl", CONSENT_JSONL)
    with engine.begin() as connection:
        record_consent(connection, [WEB_GRANT], recorded_at=IMPORTED_AT)
    assert plan_day(engine).inserted >= 1
    with engine.begin() as connection:
        outbox.enqueue(
            connection,
            [
                {
                    "idempotency_key": "FA1:feedback:2026-10:email",
                    "customer_id": "FA1",
                    "campaign": "feedback",
                    "occasion": "2026-10",
                    "channel": "email",
                    "topic": "feedback",
                    "locale": "fa_IR",
                    "status": MessageStatus.FAILED.value,
                    "subject": f"{FIRST} عزیز، نظرتان چیست؟",
                    "body_text": f"{FIRST} {LAST} عزیز ...",
                    "send_at": IMPORTED_AT,
                    "last_error": f"550 5.1.1 <{EMAIL}>: mailbox full",
                    "created_at": IMPORTED_AT,
                }
            ],
        )
        suppression.suppress(
            connection, [("sms", PHONE, "complaint", f"STOP from {PHONE}")], PLAN_AT
        )


def plan_day(engine: Engine) -> Any:
    return plan_day_with(engine, settings())


def erase(engine: Engine, customer_id: str = "FA1") -> Any:
    with engine.begin() as connection:
        return erase_customer(connection, customer_id, ERASED_AT)


def personal_data_left(engine: Engine) -> list[str]:
    """Every (table.column) whose text still holds any of Maryam's personal data."""
    metadata = MetaData()
    metadata.reflect(bind=engine)
    found = []
    with engine.connect() as connection:
        for table in metadata.sorted_tables:
            columns = [c for c in table.columns if isinstance(c.type, String)]
            if not columns:
                continue
            for row in connection.execute(select(*columns)):
                for column, value in zip(columns, row, strict=True):
                    text = str(value or "").lower()
                    found += [f"{table.name}.{column.name}" for p in PERSONAL if p.lower() in text]
    return sorted(set(found))


def customer_row(engine: Engine, customer_id: str) -> Any:
    with engine.connect() as connection:
        return connection.execute(select(CUSTOMER).where(CUSTOMER.c.id == customer_id)).one()


# -- address_hash and suppression ----------------------------------------------------
def test_address_hash_normalises_email_but_not_phone() -> None:
    hashed = address_hash("email", EMAIL)
    assert hashed == address_hash("email", "  maryam.karimi@EXAMPLE.com ")
    assert hashed.startswith("sha256:") and len(hashed) == len("sha256:") + 64
    assert address_hash("sms", PHONE) == address_hash("sms", f" {PHONE}")
    assert address_hash("sms", PHONE) != address_hash("email", PHONE.lower() + "x")
    assert normalised_address("sms", PHONE) == PHONE


def test_suppressed_addresses_match_plain_or_hashed_form_per_kind(engine: Engine) -> None:
    with engine.begin() as connection:
        suppression.suppress(
            connection,
            [
                ("email", "plain@example.com", "bounce", None),
                ("email", address_hash("email", EMAIL), "erased", None),
                ("sms", address_hash("sms", PHONE), "erased", None),
            ],
            PLAN_AT,
        )
        asked = [
            ("email", "plain@example.com"),
            ("email", EMAIL.lower()),
            ("sms", PHONE),
            ("email", PHONE),  # the phone's hash is suppressed for sms only
            ("email", "free@example.com"),
        ]
        assert suppression.suppressed_addresses(connection, asked) == {
            ("email", "plain@example.com"),
            ("email", EMAIL.lower()),
            ("sms", PHONE),
        }
        many = [("email", f"u{i}@example.com") for i in range(1200)] + [("sms", PHONE)]
        assert suppression.suppressed_addresses(connection, many) == {("sms", PHONE)}


# -- export ---------------------------------------------------------------------------
def test_export_holds_profile_orders_consent_trail_messages_and_suppressions(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    with engine.connect() as connection:
        data = export_customer(connection, "FA1", now=ERASED_AT)
    text = json.dumps(data, ensure_ascii=False)  # JSON-ready as it is
    assert FIRST in text

    assert data["exported_at"] == "2026-11-21T09:30:00Z"
    profile = data["customer"]
    assert (profile["first_name"], profile["last_name"]) == (FIRST, LAST)
    assert (profile["email"], profile["phone"]) == (EMAIL, PHONE)
    assert profile["birthday"] == "1991-11-26" and profile["erased_at"] is None
    assert profile["created_at"] == "2024-01-01T00:00:00Z"

    (order,) = data["orders"]
    assert order["id"] == "O1" and isinstance(order["amount"], str)
    assert float(order["amount"]) == 12.5 and order["ordered_at"].endswith("Z")

    current = {(s["channel"], s["topic"]): s["status"] for s in data["consent"]["current"]}
    assert current == {
        ("email", "birthday"): "granted",
        ("sms", "birthday"): "granted",
        ("email", "offers"): "granted",
    }
    evidence = data["consent"]["evidence"]
    assert len(evidence) == 3
    web = next(e for e in evidence if e["source"] == "web")
    assert web["wording"] == "offers-v2" and web["locale"] == "fa_IR"
    assert web["ip"] == "203.0.113.7" and web["user_agent"].startswith("Mozilla/5.0")
    assert web["captured_at"] == "2025-03-01T12:00:00Z" and web["recorded_at"].endswith("Z")

    messages = {m["campaign"]: m for m in data["messages"]}
    assert messages["birthday"]["status"] == "queued"
    assert FIRST in messages["birthday"]["subject"] and FIRST in messages["birthday"]["body_text"]
    assert messages["birthday"]["send_at"].endswith("Z")
    assert messages["feedback"]["status"] == "failed"

    (suppression,) = data["suppressions"]
    assert suppression["channel"] == "sms" and suppression["reason"] == "complaint"
    assert all("Alex" not in json.dumps(v) for v in data.values())


def test_export_of_an_unknown_customer_is_not_found(engine: Engine) -> None:
    with engine.connect() as connection, pytest.raises(NotFound):
        export_customer(connection, "NOBODY")
    with engine.begin() as connection, pytest.raises(NotFound):
        erase_customer(connection, "NOBODY", ERASED_AT)


# -- erasure --------------------------------------------------------------------------
async def test_export_then_erase_leaves_no_personal_data_and_reimport_is_not_messaged(
    engine: Engine, tmp_path: Path
) -> None:
    """Acceptance point 6 of the data-subject rights issue."""
    seed(engine, tmp_path)
    with engine.connect() as connection:
        trail = export_customer(connection, "FA1")["consent"]["evidence"]
        events_before = connection.execute(select(func.count()).select_from(CONSENT_EVENT)).scalar()
    assert {e["wording"] for e in trail} == {"birthday-v1", "offers-v2"}
    assert personal_data_left(engine)  # the scan does see her data before erasure

    report = erase(engine)

    assert personal_data_left(engine) == []
    assert (report.suppressions_added, report.plain_suppressions_replaced) == (2, 1)
    assert (report.messages_cancelled, report.messages_blanked) == (1, 2)
    assert (report.consent_events_cleared, report.orders_kept) == (1, 1)
    assert FIRST not in report.summary() and PHONE not in report.summary()

    erased = customer_row(engine, "FA1")
    assert (erased.first_name, erased.last_name, erased.email, erased.phone) == ("", "", None, None)
    assert erased.birthday is None and erased.erased_at == ERASED_AT
    assert customer_row(engine, "EN1").email == "alex@example.com"  # nobody else touched
    with engine.connect() as connection:
        events = connection.execute(
            select(CONSENT_EVENT).where(CONSENT_EVENT.c.customer_id == "FA1")
        ).all()
        suppressions = connection.execute(select(SUPPRESSION)).all()
        messages = connection.execute(select(OUTBOX).where(OUTBOX.c.customer_id == "FA1")).all()
        permits = connection.execute(select(func.count()).select_from(ERASURE_PERMIT)).scalar()
        orders = connection.execute(select(func.count()).select_from(ORDERS)).scalar()
        total_events = connection.execute(select(func.count()).select_from(CONSENT_EVENT)).scalar()
    assert total_events == events_before  # the evidence is kept ...
    assert all(e.ip is None and e.user_agent is None for e in events)  # ... without IP/UA
    assert {e.wording for e in events} == {"birthday-v1", "offers-v2"}
    assert permits == 0 and orders == 2
    assert {(s.channel, s.address, s.reason) for s in suppressions} == {
        ("email", address_hash("email", EMAIL), "erased"),
        ("sms", address_hash("sms", PHONE), "erased"),
    }
    by_campaign = {m.campaign: m for m in messages}
    assert by_campaign["birthday"].status == "suppressed"
    assert by_campaign["birthday"].last_error == "customer erased"
    assert by_campaign["feedback"].status == "failed"
    assert all(m.subject is None and not m.body_text and m.body_html is None for m in messages)

    # A CRM sync brings her back: same id, and a new id, with the same address and a
    # grant captured before the erasure. Her old id is skipped (her row is not
    # refilled; not a problem); the new one is imported with a warning per address.
    # Neither is planned nor dispatched any marketing e-mail: the new id's grant is
    # older than the erasure, so it is not the fresh consent that would lift the block.
    again = CUSTOMERS_CSV.splitlines()[1].replace(EMAIL, EMAIL.lower())
    new_id = again.replace("FA1", "FA2", 1)
    path = tmp_path / "again.csv"
    path.write_text("\n".join([CUSTOMERS_CSV.splitlines()[0], again, new_id]) + "\n")
    sync = import_file(engine, settings(), "customers", path, clock=lambda: IMPORTED_AT)
    assert (sync.accepted, sync.rejected, sync.erased_skipped) == (1, 0, 1)
    assert sync.problems == []
    assert [str(p) for p in sync.skipped] == [
        f"{path}:2: id: skipped: erased on request on 2026-11-21"
    ]
    assert [(w.line, w.field) for w in sync.warnings] == [(3, "email"), (3, "phone")]
    erased_again = customer_row(engine, "FA1")
    assert (erased_again.first_name, erased_again.email, erased_again.phone) == ("", None, None)
    regrant = CONSENT_JSONL.replace("2025-01-01T10:00:00Z", "2026-11-20T07:00:00Z")
    import_text(engine, tmp_path, "consent", "again.jsonl", regrant.replace("EN1", "FA2"))
    config = settings()
    campaigns = require_campaigns(config)
    with engine.connect() as connection:
        for customer_id in ("FA2",):
            profile = load_profile(connection, config, customer_id, PLAN_AT)
            assert profile is not None and profile.email == EMAIL.lower()
            audiences = audiences_for(connection, [profile], DAY)
            birthday = next(c for c in campaigns if c.id == "birthday")
            decision = decide(profile, birthday, audiences, DAY, PLAN_AT, config)
            assert decision.reason is Reason.SUPPRESSED, decision
    plan_day(engine)
    with engine.connect() as connection:
        planned = connection.execute(
            select(OUTBOX.c.customer_id, OUTBOX.c.status).where(
                OUTBOX.c.customer_id.in_(["FA1", "FA2"])
            )
        ).all()
    assert ("FA2", "queued") not in planned and ("FA1", "queued") not in planned

    # Even a message that reached the outbox some other way is stopped at dispatch.
    with engine.begin() as connection:
        outbox.enqueue(
            connection,
            [
                {
                    "idempotency_key": "FA2:birthday:birthday:2026:email",
                    "customer_id": "FA2",
                    "campaign": "birthday",
                    "occasion": "birthday:2026",
                    "channel": "email",
                    "topic": "birthday",
                    "locale": "fa_IR",
                    "status": MessageStatus.QUEUED.value,
                    "subject": "تولدتان مبارک",
                    "body_text": "...",
                    "send_at": PLAN_AT,
                    "created_at": PLAN_AT,
                }
            ],
        )
    channel = RecordingChannel()
    dispatcher = Dispatcher(
        engine,
        config,
        {"email": channel, "sms": channel},
        Signer(TEST_SECRET),
        clock=lambda: PLAN_AT + timedelta(minutes=1),
        worker_id="test",
    )
    try:
        result = await dispatcher.run_once()
    finally:
        await dispatcher.aclose()
    assert channel.sent == []
    assert result.outcomes.get(("email", "sent"), 0) == 0
    with engine.connect() as connection:
        status, error = connection.execute(
            select(OUTBOX.c.status, OUTBOX.c.last_error).where(OUTBOX.c.customer_id == "FA2")
        ).one()
    assert status == "suppressed" and "suppression list" in error


def test_erasing_twice_changes_nothing_more(engine: Engine, tmp_path: Path) -> None:
    seed(engine, tmp_path)
    erase(engine)
    with engine.connect() as connection:
        before = {
            table.name: connection.execute(select(table)).all()
            for table in (CUSTOMER, CONSENT_EVENT, OUTBOX, SUPPRESSION)
        }
    second = erase(engine)
    assert (
        second.suppressions_added,
        second.plain_suppressions_replaced,
        second.messages_cancelled,
        second.messages_blanked,
        second.consent_events_cleared,
    ) == (0, 0, 0, 0, 0)
    with engine.connect() as connection:
        for table in (CUSTOMER, CONSENT_EVENT, OUTBOX, SUPPRESSION):
            assert connection.execute(select(table)).all() == before[table.name]
    assert personal_data_left(engine) == []


def test_export_after_erasure_lists_no_suppression_and_keeps_the_evidence(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    with engine.begin() as connection:
        erase_customer(connection, "FA1", ERASED_AT)
    with engine.connect() as connection:
        data = export_customer(connection, "FA1")
    assert data["customer"]["erased_at"] == "2026-11-21T09:30:00Z"
    assert data["customer"]["email"] is None
    assert data["suppressions"] == []  # no address left to match ...
    assert len(data["consent"]["evidence"]) == 3  # ... but the proof of consent is kept


def test_the_trail_stays_append_only_after_an_erasure(engine: Engine, tmp_path: Path) -> None:
    """The permit lives only inside the erasing transaction: afterwards the trigger
    refuses even the update erasure was allowed to make."""
    seed(engine, tmp_path)
    erase(engine)
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(
            update(CONSENT_EVENT)
            .where(CONSENT_EVENT.c.customer_id == "EN1")
            .values(ip=None, user_agent=None)
        )
    with pytest.raises(DBAPIError), engine.begin() as connection:
        connection.execute(insert(ERASURE_PERMIT).values(customer_id="EN1"))
        connection.execute(
            update(CONSENT_EVENT).where(CONSENT_EVENT.c.customer_id == "EN1").values(wording="x")
        )


def test_erasure_leaves_no_suppression_of_her_mailbox_under_another_case(
    engine: Engine, tmp_path: Path
) -> None:
    """A provider reported the bounce as MARYAM.KARIMI@: the same mailbox as hers."""
    seed(engine, tmp_path)
    with engine.begin() as connection:
        shouted = EMAIL.upper().replace("EXAMPLE.COM", "example.com")
        suppression.suppress(connection, [("email", shouted, "bounce", None)], PLAN_AT)

    erase(engine)

    assert personal_data_left(engine) == []
    with engine.connect() as connection:
        assert suppression.suppressed_addresses(connection, [("email", EMAIL)])


def test_export_lists_a_suppression_of_her_mailbox_under_another_case(
    engine: Engine, tmp_path: Path
) -> None:
    seed(engine, tmp_path)
    shouted = EMAIL.upper().replace("EXAMPLE.COM", "example.com")
    with engine.begin() as connection:
        suppression.suppress(connection, [("email", shouted, "bounce", None)], PLAN_AT)
        data = export_customer(connection, "FA1")

    assert shouted in {s["address"] for s in data["suppressions"] if s["channel"] == "email"}
