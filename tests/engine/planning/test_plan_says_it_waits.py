"""``rapport plan`` by hand that finds a planning run under way says it waits, then
plans: it waited for a daemon's run with no word and no end in sight (raised by the
reviewer of the planning-run lock)."""

from __future__ import annotations

import threading
from pathlib import Path

from factories import TEST_SECRET, run_rapport
from sqlalchemy import Engine

from rapport.engine.planning.run_lock import planning_run

CAMPAIGN = """name: offer
trigger: {type: recurring, cron: "0 10 1 12 *"}
topic: offers
channels: [email]
templates: t
"""


def configured(tmp_path: Path, url: str) -> Path:
    (tmp_path / "campaigns").mkdir()
    (tmp_path / "campaigns" / "offer.yaml").write_text(CAMPAIGN, encoding="utf-8")
    folder = tmp_path / "templates" / "t" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("Hello\n", encoding="utf-8")
    (folder / "email.txt").write_text("Hi {{ links.preferences }}\n", encoding="utf-8")
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{url}'}}\nsecret_key: {TEST_SECRET}\n"
        "locales: {default: en, supported: [en]}\n",
        encoding="utf-8",
    )
    return config


def test_a_plan_by_hand_says_it_waits_for_a_run_under_way_then_plans(
    engine: Engine, tmp_path: Path, migrated_url: str
) -> None:
    configured(tmp_path, migrated_url)
    held, release = threading.Event(), threading.Event()

    def daemon_run() -> None:
        with planning_run(engine):
            held.set()
            release.wait(30)

    running = threading.Thread(target=daemon_run)
    running.start()
    assert held.wait(30)
    threading.Timer(1.0, release.set).start()
    ran = run_rapport("plan", "--date", "2026-12-01", cwd=tmp_path)
    running.join(30)
    assert ran.returncode == 0, ran.stderr
    assert "waiting for the planning run under way" in ran.stderr


def test_a_plan_by_hand_with_no_run_under_way_says_nothing_of_waiting(
    tmp_path: Path, migrated_url: str
) -> None:
    configured(tmp_path, migrated_url)
    ran = run_rapport("plan", "--date", "2026-12-01", cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert "waiting" not in ran.stderr
