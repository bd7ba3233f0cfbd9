"""Scenarios written as data: tests/scenarios/*.yaml, run through the pure planner.

Each file holds customers (profile, consent, orders), campaigns (the same schema as
``campaigns/*.yaml``, inline, keyed by id) and one or more plans: a date, optionally
"now", and the expected decisions. Every expected decision is checked, and any
selection the file does not expect fails the test, so a file states the whole plan::

    customers:
      - id: C1
        locale: fa_IR
        timezone: Asia/Tehran
        country: IR
        email: sara@example.com
        birthday: 1990-03-21
        consent: {email: [birthday, offers]}   # channel -> granted topics
        suppressed: [sms]                      # address kinds on the suppression list
        orders:
          - {id: O1, sku: SERUM, amount: 60, at: 2027-01-05T10:00:00Z}
    campaigns:
      birthday: {name: Birthday, trigger: {type: birthday}, topic: birthday,
                 channels: [email]}
    plans:
      - date: 2027-03-21
        now: 2027-03-20T00:00:00Z   # default: 00:00 UTC the day before
        expect:
          - {customer: C1, campaign: birthday, channel: email, occasion: birthday:2027}
          - {customer: C2, campaign: birthday, reason: no_occasion}
          - {customer: C3, campaign: birthday, reason: [selected, cap_reached]}

``reason`` defaults to ``selected``; a list accepts any of its reasons.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
import yaml
from factories import TESTS

from rapport.engine.campaigns.model import Campaign, load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.timeutil import local_date
from rapport.engine.core.yamlsource import load_yaml
from rapport.engine.customers.lifecycle import OrderHistory, OrderLine
from rapport.engine.customers.profile import CustomerProfile
from rapport.engine.planning.planner import (
    Audiences,
    Decision,
    history_cutoff,
    plan,
)

SCENARIOS = TESTS / "scenarios"
SETTINGS = Settings()
PROFILE_KEYS = ("id", "locale", "timezone", "first_name", "last_name", "email", "phone")


def _moment(value: Any) -> datetime:
    moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _profile(data: dict[str, Any], cutoff: datetime) -> CustomerProfile:
    lines = [
        OrderLine(
            id=str(o["id"]),
            sku=str(o["sku"]),
            quantity=int(o.get("quantity", 1)),
            amount=Decimal(str(o["amount"])),
            currency=str(o.get("currency", "USD")),
            ordered_at=_moment(o["at"]),
            day=local_date(_moment(o["at"]), data["timezone"]),
        )
        for o in data.get("orders", [])
        if _moment(o["at"]) <= cutoff
    ]
    created = data.get("created_at")
    return CustomerProfile(
        **{key: data[key] for key in PROFILE_KEYS if key in data},
        country=data.get("country"),
        birthday=data.get("birthday"),
        created_at=_moment(created) if created is not None else None,
        history=OrderHistory.from_orders(lines, cutoff),
    )


def _audiences(customers: list[dict[str, Any]]) -> Audiences:
    granted = {
        c["id"]: {
            (channel, topic) for channel, topics in c.get("consent", {}).items() for topic in topics
        }
        for c in customers
    }
    suppressed = {
        (kind, c["email"] if kind == "email" else c["phone"])
        for c in customers
        for kind in c.get("suppressed", [])
    }
    return Audiences(granted=granted, suppressed=suppressed)


def _campaigns(data: dict[str, Any]) -> list[Campaign]:
    return [
        Campaign.model_validate(body).model_copy(update={"id": campaign_id})
        for campaign_id, body in data.items()
    ]


def _cases() -> Iterator[Any]:
    for path in sorted(SCENARIOS.glob("*.yaml")):
        scenario = load_yaml(path).data  # the same alias bound as campaigns and config
        for run in scenario["plans"]:
            yield pytest.param(scenario, run, id=f"{path.stem}-{run['date']}")


def _describe(decision: Decision) -> str:
    return f"{decision.reason.value} ({decision.detail})"


@pytest.mark.parametrize(("scenario", "run"), list(_cases()))
def test_scenario(scenario: dict[str, Any], run: dict[str, Any]) -> None:
    day: date = run["date"]
    now = (
        _moment(run["now"])
        if "now" in run
        else datetime.combine(day - timedelta(days=1), time(0), UTC)
    )
    cutoff = history_cutoff(day, now)
    customers = [_profile(c, cutoff) for c in scenario["customers"]]
    decisions = {
        (d.customer_id, d.campaign): d
        for d in plan(
            customers,
            _campaigns(scenario["campaigns"]),
            _audiences(scenario["customers"]),
            day,
            now,
            SETTINGS,
        )
    }
    problems = []
    for expected in run["expect"]:
        pair = (expected["customer"], expected["campaign"])
        decision = decisions.get(pair)
        if decision is None:
            problems.append(f"{pair}: no decision at all")
            continue
        allowed = expected.get("reason", "selected")
        allowed = allowed if isinstance(allowed, list) else [allowed]
        if decision.reason.value not in allowed:
            problems.append(f"{pair}: expected {' or '.join(allowed)}, got {_describe(decision)}")
        elif decision.selected:
            if "channel" in expected and decision.channel != expected["channel"]:
                problems.append(
                    f"{pair}: expected channel {expected['channel']}, got {decision.channel}"
                )
            key = decision.occasion.key if decision.occasion else None
            if "occasion" in expected and key != expected["occasion"]:
                problems.append(f"{pair}: expected occasion {expected['occasion']}, got {key}")
    listed = {(e["customer"], e["campaign"]) for e in run["expect"]}
    problems += [
        f"{pair}: selected but not expected ({d.detail})"
        for pair, d in decisions.items()
        if d.selected and pair not in listed
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("path", sorted(SCENARIOS.glob("*.yaml")), ids=lambda p: p.stem)
def test_scenario_campaigns_pass_the_campaign_loader(path: Path, tmp_path: Path) -> None:
    """The inline campaigns are real campaign files: the loader's checks accept them."""
    scenario = load_yaml(path).data
    for campaign_id, body in scenario["campaigns"].items():
        file = tmp_path / f"{campaign_id}.yaml"
        file.write_text(yaml.safe_dump(body, allow_unicode=True), encoding="utf-8")
        assert load_campaign(file, SETTINGS).id == campaign_id
