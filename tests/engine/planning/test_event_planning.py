"""Campaigns that follow events plan like every other campaign (issue 19, point 3):
the pure planner honours consent, caps and holdout for an event occasion and says why;
end to end, an event posted through the real app is planned by ``rapport plan`` on the
customer's local day ``delay`` later, and on no other day, with ``rapport explain``
saying why; the SQL pre-filter keeps exactly the customers with such an event. On
SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from factories import REPO, TEST_SECRET, insert_customer, profile, run_rapport
from sqlalchemy import Engine, select

from rapport.consent.store import grant
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, OUTBOX
from rapport.engine.customers.profile import EventRecord
from rapport.engine.planning.caps import RecentMessage
from rapport.engine.planning.planner import Audiences, Reason, in_holdout, plan_customer
from rapport.engine.planning.prefilter import candidate_clause
from rapport.engine.web.api_tokens import create_token
from rapport.engine.web.app import create_app

SETTINGS = Settings()
#: The event occurred late on 1 December UTC: 2 December in Tehran.
SHIPPED = EventRecord("order_shipped", "S-1", datetime(2026, 12, 1, 22, 30, tzinfo=UTC))
DAY = date(2026, 12, 4)
NOW = datetime(2026, 12, 3, 12, tzinfo=UTC)
GRANTED = Audiences(granted={"C1": {("email", "feedback")}})
CAMPAIGN_FILE = """\
name: How did your delivery go?
trigger:
  type: event
  name: order_shipped
  delay: 2d
  sample_data: {carrier: DHL}
topic: feedback
channels: [email]
templates: feedback
send_window: {start: "00:00", end: "23:59"}
priority: 55
"""


def campaign(**changes: object) -> Campaign:
    data: dict[str, object] = {
        "id": "delivery",
        "name": "Delivery",
        "trigger": {"type": "event", "name": "order_shipped", "delay": "2d"},
        "topic": "feedback",
        "channels": ["email"],
        "send_window": {"start": "10:00", "end": "18:00"},
        **changes,
    }
    return Campaign.model_validate(data)


def decide_for(audiences: Audiences = GRANTED, day: date = DAY, **changes: object) -> object:
    person = profile(email="c1@example.com", events=(SHIPPED,))
    (decision,) = plan_customer(person, [campaign(**changes)], audiences, day, NOW, SETTINGS)
    return decision


def test_an_event_occasion_is_selected_with_consent_and_names_the_event_s_day() -> None:
    decision = decide_for()
    assert decision.reason is Reason.SELECTED
    assert decision.detail == "event on 2026-12-04 via email"
    assert decision.occasion.key == "event:order_shipped:2026-12-02"
    assert decision.send_at == datetime(2026, 12, 4, 6, 30, tzinfo=UTC)  # 10:00 in Tehran


def test_without_consent_or_on_another_day_it_is_not_planned_and_says_why() -> None:
    refused = decide_for(Audiences(granted={}))
    assert refused.reason is Reason.NO_CONSENT
    early = decide_for(day=DAY - timedelta(days=1))
    assert early.reason is Reason.NO_OCCASION
    assert early.detail == "no order_shipped event on 2026-12-01 (2d before)"


def test_the_caps_and_the_holdout_apply_to_event_occasions() -> None:
    recent = {"C1": [RecentMessage("other", "email", DAY)]}
    capped = decide_for(Audiences(granted=GRANTED.granted, recent=recent))
    assert capped.reason is Reason.CAP_REACHED
    held = campaign(holdout_percent=Decimal("99.9"))
    assert in_holdout(held, "C1")
    assert decide_for(holdout_percent=Decimal("99.9")).reason is Reason.HOLDOUT


def test_the_pre_filter_keeps_exactly_the_customers_with_the_event_on_that_day(
    engine: Engine,
) -> None:
    insert_customer(engine, "C1", email="c1@example.com")
    insert_customer(engine, "C2", email="c2@example.com")
    with engine.begin() as connection:
        for cid in ("C1", "C2"):
            grant(connection, cid, "email", "feedback", source="test")
    post_event(engine, SHIPPED.occurred_at, clock=NOW)

    def candidates(day: date) -> list[str]:
        clause = candidate_clause([campaign()], day, NOW, SETTINGS)
        with engine.connect() as connection:
            return list(connection.execute(select(CUSTOMER.c.id).where(clause)).scalars())

    assert candidates(DAY) == ["C1"]
    assert candidates(DAY + timedelta(days=3)) == []


def post_event(engine: Engine, occurred_at: datetime, clock: datetime | None = None) -> None:
    """POST one order_shipped event for C1 through the real app with an ingest token."""
    from starlette.testclient import TestClient

    app = create_app(
        Settings(base_dir=REPO, secret_key="test"),
        engine,
        **({"clock": lambda: clock} if clock else {}),
    )
    token = create_token(engine, "shop", "ingest", occurred_at)
    item = {
        "id": "SHIP-1",
        "customer_id": "C1",
        "name": "order_shipped",
        "occurred_at": occurred_at.isoformat(),
        "data": {"carrier": "DHL"},
    }
    with TestClient(app) as client:
        answer = client.post(
            "/api/v1/events",
            json={"events": [item]},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["inserted"] == 1


def rapport(cwd: Path, *args: str) -> str:
    ran = run_rapport(*args, cwd=cwd, env={"RAPPORT_SECRET_KEY": TEST_SECRET})
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def test_an_event_posted_to_the_api_is_planned_by_rapport_plan_two_local_days_later(
    tmp_path: Path, migrated_url: str, engine: Engine
) -> None:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "delivery-feedback.yaml").write_text(CAMPAIGN_FILE, encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\n"
        f"campaigns_dir: {campaigns}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    insert_customer(engine, "C1", email="c1@example.com", locale="en", first_name="Ada")
    with engine.begin() as connection:
        grant(connection, "C1", "email", "feedback", source="test")
    # 12:00 UTC today is 15:30 in Tehran: the event's local day is today there.
    today = datetime.now(UTC).date()
    post_event(engine, datetime.combine(today, time(12), tzinfo=UTC))
    after = today + timedelta(days=2)

    for day in (today + timedelta(days=1), today + timedelta(days=3)):
        assert "0 new" in rapport(tmp_path, "plan", "--date", day.isoformat())
    why = rapport(tmp_path, "explain", "C1", "--date", (today + timedelta(days=1)).isoformat())
    assert f"no order_shipped event on {(today - timedelta(days=1)).isoformat()} (2d before)" in why

    assert "1 new" in rapport(tmp_path, "plan", "--date", after.isoformat())
    with engine.connect() as connection:
        (message,) = connection.execute(select(OUTBOX)).all()
    assert (message.campaign, message.occasion) == (
        "delivery-feedback",
        f"event:order_shipped:{today.isoformat()}",
    )
    assert message.customer_id == "C1" and "Ada" in message.body_text
    explained = rapport(tmp_path, "explain", "C1", "--date", after.isoformat())
    assert f"event on {after.isoformat()} via email" in explained


def test_a_preview_shows_the_real_event_else_the_campaign_s_sample_data(engine: Engine) -> None:
    from rapport.engine.planning.preview import prepare_preview

    insert_customer(engine, "C1", email="c1@example.com")
    post_event(engine, SHIPPED.occurred_at, clock=NOW)
    trigger = {"type": "event", "name": "order_shipped", "delay": "2d"}
    follows = campaign(trigger={**trigger, "sample_data": {"carrier": "X"}})
    real = prepare_preview(engine, SETTINGS, follows, "C1", DAY).decision.occasion
    assert real is not None and real.event is not None
    assert (real.event.key, real.event.data) == ("SHIP-1", {"carrier": "DHL"})
    stand_in = prepare_preview(engine, SETTINGS, follows, "C1", DAY + timedelta(days=1))
    shown = stand_in.decision.occasion
    assert shown is not None and shown.kind == "event" and shown.event is not None
    assert shown.event.data == {"carrier": "X"} and "stand-in event occasion" in (
        stand_in.note or ""
    )


def test_the_pre_filter_keeps_every_event_at_the_edges_of_a_local_day(engine: Engine) -> None:
    """Events a few seconds inside and outside local 2 December in the zones furthest
    from UTC: the clause keeps everyone the finder gives an occasion on 4 December."""
    from zoneinfo import ZoneInfo

    from rapport.engine.core.models import CUSTOMER_EVENT
    from rapport.engine.customers.profiles import iter_profile_batches
    from rapport.engine.triggers import Occasion, event_query, find_occasion

    edges = {"first": (2, 0, 0, 30), "last": (2, 23, 59, 30), "before": (1, 23, 59, 30)}
    rows = []
    zones = ("Pacific/Kiritimati", "Pacific/Pago_Pago", "Asia/Tehran")
    for zone in zones:
        for edge, (day, hour, minute, second) in edges.items():
            cid = f"{zone.split('/')[1]}-{edge}"
            insert_customer(engine, cid, email=f"{cid}@example.com", timezone=zone)
            local = datetime(2026, 12, day, hour, minute, second, tzinfo=ZoneInfo(zone))
            rows.append(
                {
                    "customer_id": cid,
                    "name": "order_shipped",
                    "event_key": "S-1",
                    "occurred_at": local.astimezone(UTC),
                    "recorded_at": NOW,
                }
            )
            with engine.begin() as connection:
                grant(connection, cid, "email", "feedback", source="test")
    with engine.begin() as connection:
        connection.execute(CUSTOMER_EVENT.insert(), rows)
    follows = campaign()
    clause = candidate_clause([follows], DAY, NOW, SETTINGS)
    with engine.connect() as connection:
        kept = set(connection.execute(select(CUSTOMER.c.id).where(clause)).scalars())
        query = event_query([follows.trigger], DAY)
        found = {
            person.id
            for batch in iter_profile_batches(connection, SETTINGS, NOW, events=query)
            for person in batch
            if isinstance(find_occasion(follows, person, DAY, SETTINGS), Occasion)
        }
    assert found == {f"{zone.split('/')[1]}-{edge}" for zone in zones for edge in ("first", "last")}
    assert found <= kept
