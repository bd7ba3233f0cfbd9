"""``rapport plan`` by hand waits for a daemon's planning run, so caps hold across days.

Caps are counted from what the outbox holds when a batch is planned. A daemon planning
today while ``rapport plan --date`` planned tomorrow each counted the other's messages
as not there: with ``caps.per_week: 1``, 19,793 of 20,000 customers got two marketing
e-mails in two days (found by the sequence tester, on SQLite and PostgreSQL). Here the
daemon's run is held inside its first render while the command runs; the command must
wait for it and then find every customer capped.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from factories import TEST_SECRET, insert_customer, run_rapport
from sqlalchemy import Engine, func, select

from rapport.consent.store import grant
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.config import load_settings
from rapport.engine.core.models import OUTBOX
from rapport.engine.planning.shared import day_planner
from rapport.engine.rendering.renderer import Renderer

CAMPAIGN = """name: {name}
trigger: {{type: recurring, cron: "0 10 {day} {month} *"}}
topic: offers
channels: [email]
templates: t
send_window: {{start: "00:00", end: "23:59"}}
"""


class HeldRenderer(Renderer):
    """Renders as usual, but the first render waits until ``go`` is set."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.inside, self.go = threading.Event(), threading.Event()

    def render(self, *args: Any, **kwargs: Any) -> Any:
        self.inside.set()
        assert self.go.wait(60)
        return super().render(*args, **kwargs)


def test_a_plan_by_hand_waits_for_the_daemon_s_run_and_caps_hold(
    engine: Engine, tmp_path: Path, migrated_url: str
) -> None:
    now = datetime.now(UTC)
    first = now.date() + timedelta(days=1)  # days to come: `rapport plan` plans them now
    second = first + timedelta(days=1)
    (tmp_path / "campaigns").mkdir()
    for name, day in (("first", first), ("second", second)):
        text = CAMPAIGN.format(name=name, day=day.day, month=day.month)
        (tmp_path / "campaigns" / f"{name}.yaml").write_text(text, encoding="utf-8")
    folder = tmp_path / "templates" / "t" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("Hello\n", encoding="utf-8")
    (folder / "email.txt").write_text("Hi {{ customer.first_name }}\n", encoding="utf-8")
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\nsecret_key: {TEST_SECRET}\n"
        "locales: {default: en, supported: [en]}\ncaps: {per_day: 1, per_week: 1}\n",
        encoding="utf-8",
    )
    for n in range(3):
        insert_customer(engine, f"C{n}", first_name="Ann", email=f"c{n}@example.com", locale="en")
        with engine.begin() as connection:
            grant(connection, f"C{n}", "email", "offers", source="test")
    settings = load_settings(tmp_path / "config.yaml")
    renderer = HeldRenderer(settings.templates_path, "en")
    daemon = day_planner(
        engine, settings, renderer, Signer(TEST_SECRET), lambda: now, threading.Event()
    )
    running = threading.Thread(target=daemon, args=(require_campaigns(settings), first, now, None))
    running.start()
    assert renderer.inside.wait(30)
    threading.Timer(1.5, renderer.go.set).start()

    ran = run_rapport("plan", "--date", second.isoformat(), cwd=tmp_path)
    running.join(30)

    assert ran.returncode == 0, ran.stderr
    with engine.connect() as connection:
        planned = connection.execute(
            select(OUTBOX.c.campaign, func.count()).group_by(OUTBOX.c.campaign)
        ).all()
    assert planned == [("first", 3)], ran.stdout
