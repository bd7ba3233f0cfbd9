"""What the two trigger test modules share: a campaign around a trigger, a customer
(Persian, in Tehran, born 21 March 1990, signed up 1 June 2024) with the orders a test
gives, the question asked of ``find_occasion`` expecting an occasion or a miss, and the
problems a campaign file's trigger is refused with.

``test_date_triggers.py`` tests the calendar triggers, ``test_order_triggers.py`` the
triggers that follow orders. They import these from ``tests.engine.triggers.conftest``
(the name pytest gives this file).
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from factories import profile

from rapport.engine.campaigns.model import Campaign, load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError
from rapport.engine.customers.lifecycle import OrderHistory, OrderLine
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.triggers import Miss, Occasion, find_occasion

SETTINGS = Settings()


def campaign(trigger: dict[str, object]) -> Campaign:
    return Campaign.model_validate(
        {"name": "T", "trigger": trigger, "topic": "offers", "channels": ["email"]}
    ).model_copy(update={"id": "t"})


def customer(*orders: OrderLine, **overrides: object) -> CustomerProfile:
    data: dict[str, object] = {
        "birthday": date(1990, 3, 21),
        "created_at": datetime(2024, 6, 1, 8, tzinfo=UTC),
        "history": OrderHistory.from_orders(orders, datetime(2030, 1, 1, tzinfo=UTC)),
    }
    data.update(overrides)
    return profile(**data)


def occasion(trigger: dict[str, object], person: CustomerProfile, day: date) -> Occasion:
    found = find_occasion(campaign(trigger), person, day, SETTINGS)
    assert isinstance(found, Occasion), found
    return found


def miss(trigger: dict[str, object], person: CustomerProfile, day: date) -> Miss:
    found = find_occasion(campaign(trigger), person, day, SETTINGS)
    assert isinstance(found, Miss), found
    return found


def load_problems(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "t.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, SETTINGS, "t.yaml")
    return [str(p) for p in raised.value.problems]


HEADER = "name: T\ntopic: offers\nchannels: [email]\n"
