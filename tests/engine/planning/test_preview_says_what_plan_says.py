"""``rapport preview`` notes why a customer would not be messaged whenever ``plan``
would not message them: for the holdout too, as ``explain`` says.

Preview asked only the first step of planning (occasion, audience, consent, window),
so a customer in a campaign's holdout group was shown the message with no note,
while explain said 'holdout: in the 50% holdout group' and plan recorded them
instead of messaging them.
"""

from __future__ import annotations

from datetime import date, time

from factories import insert_customer
from sqlalchemy import Engine

from rapport.consent.store import grant
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.planning.planner import in_holdout
from rapport.engine.planning.preview import prepare_preview

DAY = date(2026, 12, 7)
LETTER = Campaign.model_validate(
    {
        "id": "letter",
        "name": "Letter",
        "trigger": {"type": "recurring", "cron": "@daily"},
        "topic": "newsletter",
        "channels": ["email"],
        "send_window": {"start": "00:00", "end": "23:59"},
        "holdout_percent": 50,
    }
)


def customers(engine: Engine) -> tuple[str, str]:
    """(one customer in the holdout, one not), both with consent to the letter."""
    ids = [f"C{n}" for n in range(1, 40)]
    held = next(c for c in ids if in_holdout(LETTER, c))
    sent = next(c for c in ids if not in_holdout(LETTER, c))
    with engine.begin() as connection:
        for customer_id in (held, sent):
            insert_customer(connection, customer_id, email=f"{customer_id}@example.com")
            grant(connection, customer_id, "email", "newsletter", source="test")
    return held, sent


def test_a_customer_in_the_holdout_is_previewed_with_a_note_saying_so(engine: Engine) -> None:
    held, _ = customers(engine)
    shown = prepare_preview(engine, Settings(), LETTER, held, DAY)
    assert not shown.selected
    assert shown.note == f"not selected on {DAY}: in the 50% holdout group"


def test_a_customer_outside_the_holdout_is_previewed_without_a_note(engine: Engine) -> None:
    _, sent = customers(engine)
    shown = prepare_preview(engine, Settings(), LETTER, sent, DAY)
    assert shown.selected and shown.note is None


def test_a_window_that_opens_before_utc_midnight_is_previewed_as_explain_decides_it(
    engine: Engine,
) -> None:
    """Tehran's 00:00 to 00:30 is 20:30 to 21:00 UTC the day before: preview asked at
    the day's UTC midnight and said 'the send window closed', while plan and explain
    (planning_now: the earliest time zone's midnight) select the customer."""
    midnight = LETTER.model_copy(
        update={
            "send_window": LETTER.send_window.model_copy(update={"end": time(0, 30)}),
            "holdout_percent": 0,
        }
    )
    with engine.begin() as connection:
        insert_customer(connection, "T1", email="t1@example.com", timezone="Asia/Tehran")
        grant(connection, "T1", "email", "newsletter", source="test")
    ahead = date(2099, 1, 10)
    shown = prepare_preview(engine, Settings(), midnight, "T1", ahead)
    assert shown.selected and shown.note is None
