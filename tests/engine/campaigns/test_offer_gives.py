"""A campaign gives something when its ``offer`` has a key with a value: what decides
that an offer waits out a day of mourning and counts under the holiday-offer gap.
``Offer.gives`` answers it without dumping the model (asked per customer planned) and
must agree with ``model_dump(exclude_none=True)``, extra keys included; a key written
with no value (``free_gift: null``) gives nothing, in both places that ask.
"""

from __future__ import annotations

from typing import Any

import pytest

from rapport.engine.campaigns.model import Offer

OFFERS: list[dict[str, Any]] = [
    {},
    {"coupon": True},
    {"coupon": False},
    {"coupon": None},
    {"discount_percent": 10},
    {"discount_percent": {"default": 5, "vib": 15}},
    {"code_prefix": "NOWRUZ", "code_length": 8},
    {"free_gift": "چای زعفرانی"},
    {"free_gift": None},
    {"free_gift": {}},
    {"free_gift": None, "coupon": None, "discount_percent": None},
]


@pytest.mark.parametrize("keys", OFFERS, ids=repr)
def test_offer_gives_when_a_key_has_a_value(keys: dict[str, Any]) -> None:
    offer = Offer(**keys)
    assert offer.gives is bool(offer.model_dump(exclude_none=True))


def test_a_key_written_without_a_value_gives_nothing() -> None:
    assert not Offer(free_gift=None).gives
    assert Offer(free_gift="a candle").gives
