"""A preview of a customer without an occasion that day shows the campaign's own kind
of occasion, and the note names it.

``rapport preview anniversary --customer C00179 --date 2026-12-01`` (docs/campaigns.md)
noted "shown with a stand-in birthday occasion" for the anniversary greeting, and the
templates saw ``occasion.kind == "birthday"``: every trigger without a stand-in of its
own (anniversary, welcome, win-back, tier reached, feedback, recurring) was shown as a
birthday.
"""

from __future__ import annotations

from datetime import date

import pytest
from factories import insert_customer
from sqlalchemy import Engine

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.planning.preview import prepare_preview

DAY = date(2026, 12, 7)  # the customer signed up on 1 January: no anniversary


def campaign(trigger: dict[str, object]) -> Campaign:
    return Campaign.model_validate(
        {
            "id": "greeting",
            "name": "Greeting",
            "trigger": trigger,
            "topic": "offers",
            "channels": ["email"],
        }
    )


@pytest.mark.parametrize(
    "trigger",
    [
        {"type": "anniversary"},
        {"type": "winback", "days_without_order": 150},
        {"type": "recurring", "cron": "0 10 1 1 *"},
    ],
    ids=lambda trigger: str(trigger["type"]),
)
def test_a_stand_in_occasion_is_of_the_campaign_s_own_kind(
    engine: Engine, trigger: dict[str, object]
) -> None:
    insert_customer(engine, "C1", email="c1@example.com")
    shown = prepare_preview(engine, Settings(), campaign(trigger), "C1", DAY)
    assert shown.decision.occasion is not None
    assert shown.decision.occasion.kind == trigger["type"]
    assert f"shown with a stand-in {trigger['type']} occasion" in (shown.note or "")
