"""Feedback answers belong to the data subject: exported, and their comments erased."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, insert, select

from rapport.consent.privacy import erase_customer, export_customer
from rapport.engine.core.models import CUSTOMER, FEEDBACK_ANSWER

NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)


def test_feedback_is_exported_and_its_comment_erased(engine: Engine) -> None:
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER).values(
                id="FB1",
                first_name="سارا",
                last_name="احمدی",
                email="sara@example.com",
                locale="fa_IR",
                timezone="Asia/Tehran",
                created_at=NOW,
            )
        )
        connection.execute(
            insert(FEEDBACK_ANSWER).values(
                customer_id="FB1",
                occasion="feedback:O1",
                campaign="feedback",
                score=9,
                comment="سارا هستم، بسته‌بندی عالی بود",
                locale="fa_IR",
                stage="repeat",
                tier="vib",
                answered_at=NOW,
            )
        )
        exported = export_customer(connection, "FB1", now=NOW)
        assert [(f["score"], f["comment"]) for f in exported["feedback"]] == [
            (9, "سارا هستم، بسته‌بندی عالی بود")
        ]
        erase_customer(connection, "FB1", NOW)
        kept = connection.execute(select(FEEDBACK_ANSWER.c.score, FEEDBACK_ANSWER.c.comment)).one()
    assert tuple(kept) == (9, None)  # the score still counts in the NPS, the words are gone
