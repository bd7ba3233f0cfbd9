"""`rapport demo` builds months of history with the engine's own planner and dispatcher,
so `rapport report` right after it has something to show (issue 18, point 1).

The demo runs once, as a user runs it (a process, default day, the repository's
config), into a temporary folder; the report then runs on its database for the
default period (the 90 days up to today) in text, JSON and HTML.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from demo_store import built_once
from factories import REPO
from sqlalchemy import Engine, distinct, func, select, text

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import (
    CONSENT_EVENT,
    FEEDBACK_ANSWER,
    ORDERS,
    OUTBOX,
    MessageStatus,
)
from rapport.engine.core.timeutil import utcnow

RAPPORT = str(Path(sys.executable).parent / "rapport")


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(extra)
    return env


class Demo:
    def __init__(self, folder: Path, output: str) -> None:
        self.folder = folder
        self.output = output
        self.url = f"sqlite:///{folder / 'rapport.db'}"

    def rapport(self, *args: str) -> str:
        done = subprocess.run(
            [RAPPORT, *args, "--config", "config.yaml"],
            cwd=REPO,
            env=environment(RAPPORT_DATABASE_URL=self.url),
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        return done.stdout

    def engine(self) -> Engine:
        return make_engine(self.url)


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Demo:
    """The demo run once per test run (whichever xdist worker comes first runs it); the
    tests here only read its output and its store."""

    def build(folder: Path) -> None:
        done = subprocess.run(
            [RAPPORT, "demo", "--dir", str(folder / "var"), "--config", "config.yaml"],
            cwd=REPO,
            env=environment(),
            capture_output=True,
            text=True,
            timeout=600,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        (folder / "output.txt").write_text(done.stdout, encoding="utf-8")

    folder = built_once(tmp_path_factory, "rapport-demo-default-day", build)
    return Demo(folder / "var", (folder / "output.txt").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def figures(demo: Demo) -> dict[str, Any]:
    found: dict[str, Any] = json.loads(demo.rapport("report", "--json"))
    return found


def by_campaign(figures: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {entry["campaign"]: entry for entry in figures["campaigns"]}


def test_the_demo_prints_a_summary_of_at_least_90_days_of_history(demo: Demo) -> None:
    found = re.search(r"History: (\d+) days, (\S+) to (\S+),", demo.output)
    assert found, demo.output
    days, first, last = int(found[1]), date.fromisoformat(found[2]), date.fromisoformat(found[3])
    assert days >= 90 and (last - first).days + 1 == days
    # The history covers the report's default period: the 90 days up to today.
    today = utcnow().date()
    assert first <= today - timedelta(days=89) and last >= today - timedelta(days=1)
    assert re.search(r"sent [1-9]\d* \(", demo.output)
    assert re.search(r"held out [1-9]", demo.output)
    assert re.search(
        r"[1-9]\d* delivery events, [1-9]\d* orders, [1-9]\d* unsubscribes", demo.output
    )
    assert re.search(r"[1-9]\d* NPS answers", demo.output)
    # What it did before stays: the demo day's plan and the serve command.
    assert "Planned " in demo.output and " serve" in demo.output


def test_report_json_has_funnels_uplift_variants_nps_and_cohorts(figures: dict[str, Any]) -> None:
    campaigns = by_campaign(figures)
    assert sum(c["sent"] for c in campaigns.values()) > 0
    assert sum(c["delivered"] for c in campaigns.values()) > 0
    assert sum(c["converted"] for c in campaigns.values()) > 0
    assert sum(c["unsubscribed"] for c in campaigns.values()) > 0
    held = [c for c in campaigns.values() if c["held_out"] > 0]
    assert held, "no campaign with a holdout in the default period"
    for entry in held:
        uplift = entry["uplift"]
        assert uplift is not None
        assert uplift["lower"] <= uplift["difference"] <= uplift["upper"]
    variants = [c["variants"] for c in campaigns.values() if c["variants"]]
    assert variants, "no A/B results in the default period"
    rows = variants[0]
    assert len(rows) >= 2 and rows[0]["control"] and all(row["sent"] > 0 for row in rows)
    assert rows[1]["vs_control"] is not None
    assert rows[1]["vs_control"]["lower"] <= rows[1]["vs_control"]["upper"]
    nps = figures["feedback"]["overall"]
    assert nps["answers"] > 0 and nps["nps"] is not None
    assert figures["cohorts"] and any(row["size"] > 0 for row in figures["cohorts"])
    assert figures["sends_per_day"]


def test_report_text_and_html_show_those_sections_with_numbers(demo: Demo, tmp_path: Path) -> None:
    text = demo.rapport("report")
    assert re.search(r"winback .* \d+ +-?\d+\.\d% \[-?\d+\.\d%, -?\d+\.\d%\]", text)
    assert re.search(r"feedback +\S+ +\d+ +\d+ +\d+\.\d% +-?\d+\.\d% \[", text)
    assert re.search(r"campaign +feedback +[1-9]\d* +-?\d", text)
    assert "Cohort retention" in text
    page = tmp_path / "report.html"
    demo.rapport("report", "--html", str(page))
    html = page.read_text(encoding="utf-8")
    for chart in ("uplift", "cohorts"):
        assert f'data-chart="{chart}"' in html
    assert "<h3>A/B variants</h3>" in html and "Feedback (NPS)" in html
    assert re.search(r"-?\d+(\.\d)?\s?% \[-?\d+(\.\d)?\s?%", html)
    assert "None" not in re.sub(r"<[^>]+>", " ", html).split()


def test_the_history_was_made_by_the_engine(demo: Demo) -> None:
    engine = demo.engine()
    with engine.connect() as connection:
        sent = connection.execute(
            select(OUTBOX.c.claimed_by, OUTBOX.c.attempts, OUTBOX.c.provider_id).where(
                OUTBOX.c.status == MessageStatus.SENT
            )
        ).all()
        days = connection.execute(select(func.count(distinct(OUTBOX.c.send_at)))).scalar_one()
        plan_days = connection.execute(text("select count(distinct day) from plan_run"))
        one_click = connection.execute(
            select(func.count()).where(
                CONSENT_EVENT.c.status == "withdrawn", CONSENT_EVENT.c.source == "one_click"
            )
        ).scalar_one()
        answers = connection.execute(
            select(FEEDBACK_ANSWER.c.customer_id, FEEDBACK_ANSWER.c.occasion)
        ).all()
        asked = set(
            connection.execute(
                select(OUTBOX.c.customer_id, OUTBOX.c.occasion).where(
                    OUTBOX.c.campaign == "feedback", OUTBOX.c.status == MessageStatus.SENT
                )
            ).all()
        )
        orders = connection.execute(select(func.count()).where(ORDERS.c.id.like("H%"))).scalar()
        plan_days_count = plan_days.scalar_one()
    engine.dispose()
    # Every sent message went through a dispatcher's claim: its worker id, an attempt
    # and the file channel's provider id.
    assert len(sent) > 300
    assert {row.claimed_by for row in sent} == {"demo-history", "demo"}
    assert all(row.attempts >= 1 and row.provider_id for row in sent)
    assert days > 90
    # The planner ran once a day (plan runs are the planner's own records).
    assert plan_days_count >= 91
    # Unsubscribes are the one-click link's withdrawals; answers answer a request sent.
    assert one_click > 0
    assert answers and {(a.customer_id, a.occasion) for a in answers} <= asked
    assert orders and orders > 0
