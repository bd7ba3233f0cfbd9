"""Personal offers: per-tier and per-segment values, and HMAC coupon codes."""

from __future__ import annotations

import doctest
import re
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from rapport.engine.campaigns import offers
from rapport.engine.campaigns.model import Offer, load_campaign
from rapport.engine.campaigns.offers import (
    CODE_ALPHABET,
    OfferError,
    coupon_code,
    offer_problems,
    personal_offer,
    resolve_offer,
)
from rapport.engine.core.config import Settings

TIERS = ["insider", "vib", "rouge"]
KEY = "a-secret-key-for-tests"


def code(**changes: Any) -> str:
    args: dict[str, Any] = {
        "key": KEY,
        "campaign_id": "birthday",
        "customer_id": "C-1",
        "occasion_key": "birthday:2026",
    }
    options = {k: changes.pop(k) for k in ("prefix", "length") if k in changes}
    args.update(changes)
    return coupon_code(**args, **options)


# --------------------------------------------------------------------------- coupon codes


def test_the_same_occasion_always_gets_the_same_code() -> None:
    assert code() == code()
    # Pinned: a change here would hand customers new codes for occasions already sent.
    assert code(key="k", prefix="BDAY", length=8) == "BDAY-Q2CK-N8VN"


def test_the_module_examples_hold() -> None:
    assert doctest.testmod(offers).failed == 0


@pytest.mark.parametrize(
    "change",
    [
        {"customer_id": "C-2"},
        {"campaign_id": "holiday-offer"},
        {"occasion_key": "birthday:2027"},
        {"key": KEY + "x"},
        {"key": b"another-key"},
    ],
)
def test_any_input_changes_the_code(change: dict[str, Any]) -> None:
    assert code(**change) != code()


def test_parts_cannot_run_into_each_other() -> None:
    """Length-framed parts: ("ab", "c") and ("a", "bc") are different messages."""
    assert code(campaign_id="ab", customer_id="c") != code(campaign_id="a", customer_id="bc")


def test_codes_use_an_unambiguous_alphabet_in_groups_of_four() -> None:
    assert len(CODE_ALPHABET) == 32 and len(set(CODE_ALPHABET)) == 32
    assert not set("01OI") & set(CODE_ALPHABET)
    symbols: Counter[str] = Counter()
    shape = re.compile(rf"^BDAY(-[{CODE_ALPHABET}]{{4}}){{3}}$")
    for n in range(2000):
        found = code(customer_id=f"C-{n}", prefix="BDAY")
        assert shape.match(found), found
        symbols.update(found[5:].replace("-", ""))
    # 24 000 symbols over 32 letters: every letter shows up, none dominates.
    assert set(symbols) == set(CODE_ALPHABET)
    assert max(symbols.values()) < 2 * min(symbols.values())


@pytest.mark.parametrize("length", [8, 12, 16, 20])
def test_code_length(length: int) -> None:
    found = code(length=length)
    assert len(found.replace("-", "")) == length
    assert found.count("-") == length // 4 - 1


def test_bad_lengths_and_empty_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="length"):
        code(length=10)
    with pytest.raises(ValueError, match="secret key"):
        code(key="")


# --------------------------------------------------------------------------- resolution

BY_TIER = {"discount_percent": {"insider": 10, "vib": 15, "rouge": 20}, "note": "Thanks"}


@pytest.mark.parametrize(("tier", "percent"), [("insider", 10), ("vib", 15), ("rouge", 20)])
def test_a_value_by_tier_is_the_customers_tier(tier: str, percent: int) -> None:
    assert resolve_offer(BY_TIER, tier) == {"discount_percent": percent, "note": "Thanks"}


def test_default_covers_the_tiers_and_segments_not_named() -> None:
    offer = {"gift": {"rouge": "Travel kit", "default": "Sample"}}
    assert resolve_offer(offer, "rouge") == {"gift": "Travel kit"}
    assert resolve_offer(offer, "insider", "champions") == {"gift": "Sample"}
    assert resolve_offer(offer, None, None) == {"gift": "Sample"}


def test_segments_resolve_when_the_tier_is_not_named() -> None:
    offer = {"gift": {"champions": "Travel kit", "at_risk": "We miss you", "default": "Sample"}}
    assert resolve_offer(offer, "vib", "at_risk") == {"gift": "We miss you"}
    assert resolve_offer(offer, "vib", "lost") == {"gift": "Sample"}
    mixed = {"gift": {"vib": "Tier gift", "champions": "Segment gift"}}
    assert resolve_offer(mixed, "vib", "champions") == {"gift": "Tier gift"}


def test_no_value_and_no_default_is_an_error_naming_the_key() -> None:
    with pytest.raises(OfferError) as caught:
        resolve_offer({"discount_percent": {"vib": 15}}, "rouge", source="campaigns/x.yaml")
    [problem] = caught.value.problems
    assert (problem.file, problem.field) == ("campaigns/x.yaml", "offer.discount_percent")
    assert "'rouge'" in problem.message and "default" in problem.message


def test_personal_offer_adds_a_code_only_with_coupon_on() -> None:
    common: dict[str, Any] = {
        "tier": "vib",
        "segment": None,
        "campaign_id": "birthday",
        "customer_id": "C-1",
        "occasion_key": "birthday:2026",
        "key": KEY,
    }
    assert "code" not in personal_offer(BY_TIER, **common)
    assert "code" not in personal_offer({**BY_TIER, "coupon": False}, **common)
    offer = {**BY_TIER, "coupon": True, "code_prefix": "BDAY", "code_length": 8}
    resolved = personal_offer(offer, **common)
    assert resolved["discount_percent"] == 15
    assert resolved["code"] == code(prefix="BDAY", length=8)
    assert personal_offer({"coupon": True}, **common)["code"] == code()
    with pytest.raises(ValueError, match="secret key"):
        personal_offer({"coupon": True}, **{**common, "key": None})


def test_the_offer_model_passes_per_tier_extra_keys_through(tmp_path: Path) -> None:
    """Extra keys may already be mappings by tier; the YAML loads and resolves."""
    path = tmp_path / "gift.yaml"
    path.write_text(
        "name: Gift\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"
        "offer:\n  discount_percent: 15\n  coupon: true\n  code_prefix: GIFT\n"
        "  gift: {insider: Sample, vib: Travel kit, rouge: Full size}\n",
        encoding="utf-8",
    )
    campaign = load_campaign(path, Settings(base_dir=tmp_path))
    plain = campaign.offer.model_dump(exclude_none=True)
    assert offer_problems(plain, TIERS) == []
    resolved = personal_offer(
        plain,
        tier="rouge",
        segment=None,
        campaign_id=campaign.id,
        customer_id="C-1",
        occasion_key="birthday:2026",
        key=KEY,
    )
    assert resolved["gift"] == "Full size" and resolved["code"].startswith("GIFT-")
    assert Offer().model_dump(exclude_none=True) == {}


def test_discount_percent_by_tier_in_a_campaign_file(tmp_path: Path) -> None:
    path = tmp_path / "tiered.yaml"
    path.write_text(
        "name: Tiered\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"
        "offer:\n  discount_percent: {insider: 10, vib: 15, rouge: 20}\n",
        encoding="utf-8",
    )
    campaign = load_campaign(path, Settings(base_dir=tmp_path))  # a CampaignError fails
    plain = campaign.offer.model_dump(exclude_none=True)
    assert offer_problems(plain, TIERS) == []
    assert resolve_offer(plain, "rouge") == {"discount_percent": 20}


# --------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    "offer",
    [
        {},
        {"discount_percent": 15},
        BY_TIER,
        {"discount_percent": {"vib": 15, "default": 10}},
        {"gift": {"champions": "Kit", "default": "Sample"}},
        {"coupon": True, "code_prefix": "BDAY26", "code_length": 16},
        {"coupon": False},
    ],
)
def test_valid_offers_have_no_problems(offer: dict[str, Any]) -> None:
    assert offer_problems(offer, TIERS) == []


@pytest.mark.parametrize(
    ("offer", "field", "words"),
    [
        ({"discount_percent": {"vib": 15}}, "offer.discount_percent", "no value for tier insider"),
        ({"gift": {"vib": "Kit", "gold": "Bar"}}, "offer.gift.gold", "unknown tier or segment"),
        ({"gift": {"vib": "Kit", "champions": "Bar", "default": "x"}}, "offer.gift", "not both"),
        ({"gift": {"champions": "Kit"}}, "offer.gift", "needs 'default'"),
        ({"gift": {}}, "offer.gift", "empty mapping"),
        ({"gift": {"default": ["a", "b"]}}, "offer.gift.default", "single value"),
        ({"gift": ["a", "b"]}, "offer.gift", "single value"),
        ({"discount_percent": 0}, "offer.discount_percent", "above 0"),
        ({"discount_percent": {"default": 150}}, "offer.discount_percent.default", "at most 100"),
        ({"coupon": "yes"}, "offer.coupon", "true or false"),
        ({"code_prefix": "BDAY"}, "offer.code_prefix", "without coupon: true"),
        ({"coupon": True, "code_prefix": "bd-ay"}, "offer.code_prefix", "upper-case"),
        ({"coupon": True, "code_length": 10}, "offer.code_length", "one of 8, 12, 16, 20"),
    ],
)
def test_offer_problems(offer: dict[str, Any], field: str, words: str) -> None:
    problems = offer_problems(offer, TIERS)
    assert any(p.field == field and words in p.message for p in problems), problems
