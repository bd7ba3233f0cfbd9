"""The consent store: evidence appended once, current state = the latest, strictest fact.

Runs on SQLite and PostgreSQL through the ``engine`` fixture in conftest.py.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, insert, select
from sqlmodel import Session

from rapport.consent.state import current_status, granted_pairs, history
from rapport.consent.store import (
    ConsentChange,
    RecordResult,
    grant,
    record_consent,
    withdraw,
)
from rapport.engine.core.errors import NotFound
from rapport.engine.core.models import CONSENT_EVENT, CONSENT_STATE, CUSTOMER

T0 = datetime(2025, 1, 10, 9, 0, tzinfo=UTC)
RECORDED = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


def change(
    status: str,
    captured_at: datetime,
    customer_id: str = "c-fa",
    channel: str = "email",
    topic: str = "offers",
    source: str = "checkout",
    **extra: Any,
) -> ConsentChange:
    return ConsentChange(customer_id, channel, topic, status, source, captured_at, **extra)


def add_customers(engine: Engine, ids: list[str]) -> None:
    names = [("سارا", "رضایی", "fa_IR", "Asia/Tehran"), ("娜", "王", "zh_Hans_CN", "Asia/Shanghai")]
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER),
            [
                {
                    "id": customer_id,
                    "first_name": names[index % 2][0],
                    "last_name": names[index % 2][1],
                    "locale": names[index % 2][2],
                    "timezone": names[index % 2][3],
                    "created_at": T0,
                }
                for index, customer_id in enumerate(ids)
            ],
        )


@pytest.fixture
def db(engine: Engine) -> Engine:
    add_customers(engine, ["c-fa", "c-zh"])
    return engine


def record(engine: Engine, *changes: ConsentChange) -> RecordResult:
    with engine.begin() as connection:
        return record_consent(connection, list(changes), recorded_at=RECORDED)


def status(engine: Engine, customer_id: str = "c-fa", topic: str = "offers") -> str | None:
    with engine.connect() as connection:
        return current_status(connection, customer_id, "email", topic)


def count(engine: Engine, table: Any) -> int:
    with engine.connect() as connection:
        return connection.execute(select(func.count()).select_from(table)).scalar_one()


def test_newer_withdrawal_beats_older_grant_in_either_order(db: Engine) -> None:
    record(db, change("granted", T0))
    result = record(db, change("withdrawn", T0 + timedelta(days=1), source="unsubscribe-link"))
    assert result == RecordResult(recorded=1, duplicates=0, state_changes=1)
    assert status(db) == "withdrawn"

    # An old paper form imported later does not undo the later withdrawal.
    late = record(db, change("granted", T0 - timedelta(days=30), source="paper-form"))
    assert late == RecordResult(recorded=1, duplicates=0, state_changes=0)
    assert status(db) == "withdrawn"
    assert count(db, CONSENT_EVENT) == 3


def test_within_one_batch_the_latest_fact_wins_whatever_the_order(db: Engine) -> None:
    record(
        db,
        change("withdrawn", T0 + timedelta(hours=2)),
        change("granted", T0 + timedelta(hours=1)),
        change("granted", T0 + timedelta(hours=3), topic="birthday"),
        change("withdrawn", T0, topic="birthday"),
    )
    assert status(db) == "withdrawn"
    assert status(db, topic="birthday") == "granted"


def test_newer_grant_after_withdrawal_resubscribes(db: Engine) -> None:
    record(db, change("withdrawn", T0))
    record(db, change("granted", T0 + timedelta(minutes=1), source="preference-centre"))
    assert status(db) == "granted"


@pytest.mark.parametrize("same_batch", [True, False])
def test_equal_timestamp_withdrawn_wins(db: Engine, same_batch: bool) -> None:
    grant_change = change("granted", T0, source="checkout")
    withdrawal = change("withdrawn", T0, source="sms-stop")
    if same_batch:
        record(db, withdrawal, grant_change)
    else:
        record(db, withdrawal)
        record(db, grant_change)
    assert status(db) == "withdrawn"
    assert count(db, CONSENT_EVENT) == 2  # both facts are evidence; only one is the answer


def test_a_grant_dated_after_its_recording_loses_to_a_withdrawal_recorded_later(
    db: Engine,
) -> None:
    """An import may date a fact up to 5 minutes ahead (the source's clock runs fast).
    Ordered by that date, such a grant outranked the customer's unsubscribe made in the
    minutes after the import, for good: the operator was told 'withdrawn' and the state
    stayed granted. No one acted after the fact was recorded, so it counts from then."""
    ahead = RECORDED + timedelta(minutes=4)
    record(db, change("granted", ahead))
    with db.begin() as connection:
        later = RECORDED + timedelta(minutes=1)
        record_consent(connection, [change("withdrawn", later, source="web")], later)
    assert status(db) == "withdrawn"
    assert record(db, change("granted", ahead)).recorded == 0  # re-imported: nothing new
    assert status(db) == "withdrawn"


def test_equal_timestamp_pending_beats_granted(db: Engine) -> None:
    record(db, change("granted", T0), change("pending", T0, source="web"))
    assert status(db) == "pending"
    assert status(db, "c-zh") is None


def test_the_same_fact_is_recorded_once(db: Engine) -> None:
    facts = [change("granted", T0, wording="offers-v1"), change("withdrawn", T0 + timedelta(1))]
    first = record(db, *facts, facts[0])
    assert first == RecordResult(recorded=2, duplicates=1, state_changes=1)
    again = record(db, *facts)
    assert again == RecordResult(recorded=0, duplicates=2, state_changes=0)
    assert count(db, CONSENT_EVENT) == 2
    # The same instant given in another zone is the same fact.
    tehran = T0.astimezone(timezone(timedelta(hours=3, minutes=30)))
    assert record(db, change("granted", tehran, wording="offers-v1")).recorded == 0


def test_a_batch_of_1000_is_a_handful_of_statements(db: Engine) -> None:
    ids = [f"bulk-{n:04d}" for n in range(500)]
    add_customers(db, ids)
    changes = [change("granted", T0, customer_id=i) for i in ids]
    changes += [change("withdrawn", T0 + timedelta(hours=1), customer_id=i) for i in ids[::2]]
    changes += [change("granted", T0, customer_id=i, topic="birthday") for i in ids[:250]]
    assert len(changes) == 1000

    statements: list[str] = []

    def count_statement(*args: Any) -> None:
        statements.append(args[2])

    event.listen(db, "before_cursor_execute", count_statement)
    try:
        result = record(db, *changes)
    finally:
        event.remove(db, "before_cursor_execute", count_statement)
    assert result == RecordResult(recorded=1000, duplicates=0, state_changes=750)
    # Customer check, evidence insert, state upsert: paged by the driver, not per row.
    assert len(statements) < 20, len(statements)
    with db.connect() as connection:
        pairs = granted_pairs(connection, ids)
    assert pairs["bulk-0000"] == {("email", "birthday")}
    assert pairs["bulk-0001"] == {("email", "offers"), ("email", "birthday")}
    assert pairs["bulk-0499"] == {("email", "offers")}
    assert count(db, CONSENT_STATE) == 750


def test_unknown_customer_writes_nothing(db: Engine) -> None:
    with pytest.raises(NotFound, match="nobody"), db.begin() as connection:
        record_consent(
            connection,
            [change("granted", T0), change("granted", T0, customer_id="nobody")],
            recorded_at=RECORDED,
        )
    assert count(db, CONSENT_EVENT) == 0


def test_change_must_be_well_formed() -> None:
    with pytest.raises(ValueError, match="aware"):
        change("granted", T0.replace(tzinfo=None))
    with pytest.raises(ValueError, match="status"):
        change("maybe", T0)
    with pytest.raises(ValueError, match="source"):
        change("granted", T0, source="")


def test_grant_and_withdraw_record_operator_evidence(db: Engine) -> None:
    times = iter([T0, T0 + timedelta(minutes=5)])

    def clock() -> datetime:
        return next(times)

    with db.begin() as connection:
        granted = grant(connection, "c-zh", "sms", "birthday", source="operator", clock=clock)
        withdrawn = withdraw(connection, "c-zh", "sms", "birthday", source="operator", clock=clock)
    assert granted.recorded == withdrawn.recorded == 1
    with db.connect() as connection:
        assert current_status(connection, "c-zh", "sms", "birthday") == "withdrawn"
        trail = history(connection, "c-zh")
    assert [(e.status, e.source, e.captured_at, e.recorded_at) for e in trail] == [
        ("granted", "operator", T0, T0),
        ("withdrawn", "operator", T0 + timedelta(minutes=5), T0 + timedelta(minutes=5)),
    ]


def test_web_evidence_keeps_ip_user_agent_and_wording(db: Engine) -> None:
    with db.begin() as connection:
        grant(
            connection,
            "c-fa",
            "email",
            "newsletter",
            source="web",
            captured_at=T0,
            clock=lambda: RECORDED,
            wording="newsletter-fa-v3",
            ip="203.0.113.7",
            user_agent="Mozilla/5.0",
        )
        (entry,) = history(connection, "c-fa")
    assert (entry.wording, entry.ip, entry.user_agent) == (
        "newsletter-fa-v3",
        "203.0.113.7",
        "Mozilla/5.0",
    )
    assert (entry.captured_at, entry.recorded_at) == (T0, RECORDED)


def test_works_through_a_session(db: Engine) -> None:
    with Session(db) as session:
        record_consent(session, [change("granted", T0)], recorded_at=RECORDED)
        assert current_status(session, "c-fa", "email", "offers") == "granted"
        session.commit()
    assert status(db) == "granted"


def test_granted_pairs_chunks_and_answers_for_every_id(db: Engine) -> None:
    ids = [f"many-{n:04d}" for n in range(1200)]
    add_customers(db, ids)
    record(db, *(change("granted", T0, customer_id=i, channel="sms") for i in ids[::100]))
    record(db, change("withdrawn", T0 + timedelta(1), customer_id="many-0100", channel="sms"))
    with db.connect() as connection:
        pairs = granted_pairs(connection, [*ids, "unknown-id"])
    assert len(pairs) == 1201
    assert pairs["unknown-id"] == set()
    assert {i for i, granted in pairs.items() if granted} == set(ids[::100]) - {"many-0100"}
    assert pairs["many-1100"] == {("sms", "offers")}


def test_empty_batch_is_a_no_op(db: Engine) -> None:
    assert record(db) == RecordResult()
    assert count(db, CONSENT_EVENT) == count(db, CONSENT_STATE) == 0
