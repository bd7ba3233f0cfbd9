"""The ``event`` trigger: the customer's local day ``delay`` after the local day an
event occurred on, never the day before or after; closed configuration with the file
and line; the events planning reads are only those the event campaigns can follow."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from rapport.engine.customers.profile import EventRecord
from rapport.engine.triggers import event_query
from rapport.engine.triggers.models import EventTrigger
from tests.engine.triggers.conftest import HEADER, customer, load_problems, miss, occasion

SHIPPED = {"type": "event", "name": "order_shipped", "delay": "2d"}
#: 22:30 UTC on 1 December: already 2 December in Tehran (UTC+3:30), still 1 December
#: in New York.
LATE = datetime(2026, 12, 1, 22, 30, tzinfo=UTC)


def shipped(at: datetime = LATE, key: str = "S-1", **data: object) -> EventRecord:
    return EventRecord("order_shipped", key, at, dict(data) or None)


def test_the_occasion_is_delay_after_the_event_s_local_day_in_the_customer_s_zone() -> None:
    tehran = customer(events=(shipped(carrier="DHL"),))
    found = occasion(SHIPPED, tehran, date(2026, 12, 4))
    assert (found.kind, found.key, found.date) == (
        "event",
        "event:order_shipped:2026-12-02",
        date(2026, 12, 4),
    )
    assert found.event is not None and found.event.data == {"carrier": "DHL"}
    new_york = customer(timezone="America/New_York", events=(shipped(),))
    assert occasion(SHIPPED, new_york, date(2026, 12, 3)).key == "event:order_shipped:2026-12-01"


@pytest.mark.parametrize("day", [date(2026, 12, 3), date(2026, 12, 5)])
def test_not_a_day_before_nor_after(day: date) -> None:
    found = miss(SHIPPED, customer(events=(shipped(),)), day)
    assert found.code == "no_occasion"
    wanted = (day - timedelta(days=2)).isoformat()
    assert found.detail == f"no order_shipped event on {wanted} (2d before)"


def test_another_event_name_or_no_event_is_no_occasion() -> None:
    other = EventRecord("trial_ended", "T-1", LATE)
    assert miss(SHIPPED, customer(events=(other,)), date(2026, 12, 4)).code == "no_occasion"
    assert miss(SHIPPED, customer(), date(2026, 12, 4)).code == "no_occasion"


def test_several_events_on_one_local_day_are_one_occasion_about_the_first() -> None:
    first = shipped(LATE, key="S-1")
    second = shipped(LATE + timedelta(hours=20), key="S-2")  # 18:00 in Tehran, 2 December
    found = occasion(SHIPPED, customer(events=(first, second)), date(2026, 12, 4))
    assert found.key == "event:order_shipped:2026-12-02" and found.event == first


def test_delay_in_weeks_and_zero_delay() -> None:
    person = customer(events=(shipped(),))
    assert occasion({**SHIPPED, "delay": "1w"}, person, date(2026, 12, 9)).event is not None
    assert occasion({**SHIPPED, "delay": "0d"}, person, date(2026, 12, 2)).event is not None
    assert occasion({"type": "event", "name": "order_shipped"}, person, date(2026, 12, 2))


def test_planning_reads_only_the_followed_names_since_the_longest_delay() -> None:
    triggers = [
        EventTrigger(type="event", name="order_shipped", delay="2d"),
        EventTrigger(type="event", name="trial_ended", delay="1w"),
        object(),
    ]
    query = event_query(triggers, date(2026, 12, 10))
    assert query is not None
    assert query.names == ("order_shipped", "trial_ended")
    # The earliest local day is 3 December; some zone's 3 December starts on 2 December UTC.
    assert query.since == datetime(2026, 12, 2, tzinfo=UTC)
    assert event_query([object()], date(2026, 12, 10)) is None


@pytest.mark.parametrize(
    ("trigger", "problem"),
    [
        (
            "  name: Order-Shipped\n",
            "t.yaml:6: trigger.name: must be a lower-case letter then up to 63 lower-case "
            "letters, digits or _",
        ),
        (
            "  name: order_shipped\n  delay: 2 days\n",
            "t.yaml:7: trigger.delay: '2 days' is not a delay: write days or weeks from 0d "
            "to 365d, e.g. 2d or 1w",
        ),
        (
            "  name: order_shipped\n  delay: 400d\n",
            "t.yaml:7: trigger.delay: '400d' is not a delay: write days or weeks from 0d "
            "to 365d, e.g. 2d or 1w",
        ),
        ("  name: order_shipped\n  when: later\n", "t.yaml:7: trigger.when: unknown key"),
        ("  delay: 2d\n", "t.yaml:4: trigger.name: required key is missing"),
    ],
)
def test_a_bad_event_trigger_is_refused_at_its_line(
    tmp_path: Path, trigger: str, problem: str
) -> None:
    text = HEADER + "trigger:\n  type: event\n" + trigger
    assert problem in load_problems(tmp_path, text)


def test_sample_data_must_be_small_json(tmp_path: Path) -> None:
    big = "x" * 5000
    text = HEADER + f"trigger:\n  type: event\n  name: a\n  sample_data: {{note: {big}}}\n"
    (found,) = load_problems(tmp_path, text)
    assert found.startswith("t.yaml:7: trigger.sample_data: ") and "4096 bytes" in found


def test_a_delay_the_event_retention_cannot_reach_is_refused_at_its_line(tmp_path: Path) -> None:
    from rapport.engine.campaigns.model import load_campaign
    from rapport.engine.core.config import Settings
    from rapport.engine.core.errors import CampaignError

    path = tmp_path / "t.yaml"
    path.write_text(HEADER + "trigger:\n  type: event\n  name: a\n  delay: 5w\n", encoding="utf-8")
    settings = Settings(retention={"event_days": 30})
    with pytest.raises(CampaignError) as raised:
        load_campaign(path, settings, "t.yaml")
    assert [str(p) for p in raised.value.problems] == [
        "t.yaml:7: trigger.delay: 5w is not shorter than retention.event_days (30): "
        "the event is deleted before its occasion"
    ]
    assert load_campaign(path, Settings(), "t.yaml").trigger.days == 35
