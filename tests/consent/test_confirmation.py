"""Confirming pending grants (``rapport.consent.confirmation``), on both databases.

Only ``pending`` topics on the given channels, made since the window's start, become
grants; a second confirmation records nothing; a withdrawal captured after the
confirmation still wins.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from factories import consent_trail, insert_customer
from sqlalchemy import Engine

from rapport.consent.confirmation import (
    SMS_CONFIRM_WORDING,
    SMS_REPLY_SOURCE,
    confirm_pending,
    pending_grants,
    sms_reply_wording,
)
from rapport.consent.state import current_states, granted_pairs
from rapport.consent.store import ConsentChange, record_consent, withdraw

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def seed(engine: Engine) -> None:
    insert_customer(engine, "C1", locale="fa_IR", timezone="Asia/Tehran", phone="+989121234567")
    facts = [
        ("sms", "offers", "pending", T0),
        ("sms", "birthday", "pending", T0 - timedelta(days=8)),  # older than the window
        ("sms", "reorder", "granted", T0),
        ("email", "offers", "pending", T0),  # another channel
    ]
    with engine.begin() as connection:
        record_consent(
            connection,
            [ConsentChange("C1", c, t, s, "preference_center", at) for c, t, s, at in facts],
            recorded_at=T0,
        )


def test_only_recent_pending_topics_of_the_channels_are_confirmed(engine: Engine) -> None:
    seed(engine)
    now = T0 + timedelta(days=1)
    with engine.begin() as connection:
        since = now - timedelta(days=7)
        assert [s.topic for s in pending_grants(connection, "C1", ["sms"], since=since)] == [
            "offers"
        ]
        confirmed = confirm_pending(
            connection,
            "C1",
            ["sms"],
            source=SMS_REPLY_SOURCE,
            wording=sms_reply_wording("بله"),
            now=now,
            since=since,
            locale="fa_IR",
        )
        again = confirm_pending(
            connection,
            "C1",
            ["sms"],
            source=SMS_REPLY_SOURCE,
            wording=sms_reply_wording("بله"),
            now=now + timedelta(minutes=1),
            since=since,
        )
    assert [s.topic for s in confirmed] == ["offers"] and again == []
    with engine.connect() as connection:
        states = {(s.channel, s.topic): s.status for s in current_states(connection, "C1")}
        assert granted_pairs(connection, ["C1"])["C1"] == {("sms", "offers"), ("sms", "reorder")}
    assert states[("sms", "birthday")] == "pending"  # expired: never counts
    assert states[("email", "offers")] == "pending"
    [grant] = [e for e in consent_trail(engine, "C1") if e.source == SMS_REPLY_SOURCE]
    assert (grant.wording, grant.locale) == (f"{SMS_CONFIRM_WORDING} keyword:بله", "fa_IR")


def test_a_later_withdrawal_beats_the_confirmation(engine: Engine) -> None:
    seed(engine)
    now = T0 + timedelta(hours=1)
    with engine.begin() as connection:
        confirm_pending(connection, "C1", ["sms"], source=SMS_REPLY_SOURCE, wording="w", now=now)
        withdraw(connection, "C1", "sms", "offers", source="operator", clock=lambda: now)
        # the same instant: the less permissive status wins
    with engine.connect() as connection:
        assert ("sms", "offers") not in granted_pairs(connection, ["C1"])["C1"]
