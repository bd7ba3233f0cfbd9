"""A real customer's SMS over its campaign's ``sms_max_segments`` is not planned.

``rapport campaigns validate`` measures each SMS template against the limit with its
sample customers; a real customer's text (a long name) can run longer, and each
segment is billed. Planning measures every rendered SMS too: one over the limit is
skipped as a render error naming the template and the customer, the others planned.
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
from rapport.engine.rendering.sms_encoding import count_sms

TEMPLATE = "Hi {{ customer.first_name }}, 10% off all week. Reply STOP to opt out"


def test_an_sms_over_the_campaigns_segments_is_skipped_and_the_others_planned(
    engine: Engine, tmp_path: Path
) -> None:
    folder = tmp_path / "templates" / "promo" / "en"
    folder.mkdir(parents=True)
    (folder / "sms.txt").write_text(TEMPLATE + "\n", encoding="utf-8")
    long_name = "Maximilian" * 14  # 140 letters: the text takes two segments
    for customer_id, name in (("C1", "Ann"), ("C2", long_name)):
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
            "sms_max_segments": 1,
        }
    )
    settings = make_settings(base_dir=tmp_path, locales={"supported": ["en"], "default": "en"})
    assert count_sms(TEMPLATE.replace("{{ customer.first_name }}", long_name)).segments == 2

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
    assert "promo/en/sms.txt" in error and "TooManySegments" in error and "C2" in error
    assert long_name not in error
