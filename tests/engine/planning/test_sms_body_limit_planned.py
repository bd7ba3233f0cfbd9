"""A real customer's SMS longer than the channel's adapter carries is not planned.

Twilio takes at most 1,600 characters (``max_body_chars``). ``campaigns validate``
measures the sample customers' texts; a real customer's (a long name) can run longer,
and was planned, then failed for good at sending. Planning measures every rendered
SMS: one too long is skipped as a render error naming the template and the customer.
"""

from __future__ import annotations

from pathlib import Path

from factories import DAY, PLAN_AT, TEST_SECRET, insert_customer, make_settings
from sqlalchemy import Engine, select

from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.models import OUTBOX
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.renderer import Renderer

#: 1,590 characters, the name, and the opt-out: Ann's text is 1,599 characters.
TEMPLATE = "{{ 'x' * 1590 }} {{ customer.first_name }} STOP"
TWILIO = {
    "adapter": "twilio",
    "kind": "sms",
    "account_sid": "AC1",
    "auth_token_env": "TWILIO_TOKEN",
    "from_number": "+15550100",
}


def test_an_sms_longer_than_the_adapter_carries_is_skipped_and_the_others_planned(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "templates" / "promo" / "en"
    folder.mkdir(parents=True)
    (folder / "sms.txt").write_text(TEMPLATE, encoding="utf-8")
    for customer_id, name in (("C1", "Ann"), ("C2", "Maximilian")):
        insert_customer(engine, customer_id, first_name=name, phone="+447700900123", locale="en")
        with engine.begin() as connection:
            grant(connection, customer_id, "sms", "offers", source="test")
    campaign = Campaign.model_validate(
        {
            "id": "promo",
            "name": "promo",
            "trigger": {"type": "recurring", "cron": f"0 10 {DAY.day} {DAY.month} *"},
            "topic": "offers",
            "channels": ["sms"],
            "templates": "promo",
            "send_window": {"start": "00:00", "end": "23:59"},
        }
    )
    settings = make_settings(
        base_dir=tmp_path,
        locales={"supported": ["en"], "default": "en"},
        channels={"sms": TWILIO},
    )
    report = run_plan(
        engine,
        settings,
        [campaign],
        DAY,
        PLAN_AT,
        renderer=Renderer(settings.templates_path, "en"),
        signer=Signer(TEST_SECRET),
    )
    with engine.connect() as connection:
        planned = list(connection.execute(select(OUTBOX.c.customer_id)).scalars())
    assert planned == ["C1"]
    [error] = report.render_errors
    assert "promo/en/sms.txt" in error and "TooLongForChannel" in error and "C2" in error
    assert "Maximilian" not in error
