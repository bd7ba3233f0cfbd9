"""``rapport explain`` shows what a real ``rapport plan`` decided, not what recomputing
says later (issue 18): a campaign that lost the daily cap to a higher priority is
``lost_to_priority``, although recomputing after the plan (the winner now counted
under the cap) says ``cap_reached``; where nothing was stored it says it recomputed."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from factories import REPO, TEST_SECRET, insert_customer, run_rapport
from sqlalchemy import Engine, func, select

from rapport.consent.store import grant
from rapport.engine.core.models import PLAN_DECISION

DAY = datetime.now(UTC).date() + timedelta(days=20)  # ahead: every window still open

CAMPAIGN = """\
name: {cid}
trigger:
  type: recurring
  cron: "0 10 {day} {month} *"
topic: offers
channels: [email]
templates: holiday-offer
send_window: {{start: "00:00", end: "23:59"}}
offer: {{discount_percent: 20}}
priority: {priority}
"""


def store(tmp_path: Path, url: str, engine: Engine) -> Path:
    """Two offers on DAY ("first" wins the daily cap), C1 with consent, C2 without."""
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    for cid, priority in (("first", 10), ("second", 20)):
        (campaigns / f"{cid}.yaml").write_text(
            CAMPAIGN.format(cid=cid, day=DAY.day, month=DAY.month, priority=priority),
            encoding="utf-8",
        )
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{url}'}}\n"
        f"campaigns_dir: {campaigns}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    for cid in ("C1", "C2"):
        insert_customer(engine, cid, email=f"{cid.lower()}@example.com", locale="en")
    with engine.begin() as connection:
        grant(connection, "C1", "email", "offers", source="test")
    return tmp_path


def rapport(cwd: Path, *args: str) -> str:
    ran = run_rapport(*args, cwd=cwd, env={"RAPPORT_SECRET_KEY": TEST_SECRET})
    assert ran.returncode == 0, ran.stderr
    return ran.stdout


def test_explain_shows_the_stored_lost_to_priority_after_a_real_plan(
    tmp_path: Path, migrated_url: str, engine: Engine
) -> None:
    cwd = store(tmp_path, migrated_url, engine)
    before = rapport(cwd, "explain", "C1", "--date", DAY.isoformat())
    heading = f"customer C1 on {DAY.isoformat()}: stage prospect, tier insider: "
    assert before.splitlines()[0] == heading + "recomputed (no stored decision)"
    assert before.count("recomputed (no stored decision)") == 1
    assert "lost_to_priority" in before

    planned = rapport(cwd, "plan", "--date", DAY.isoformat())
    assert "1 new" in planned
    with engine.connect() as connection:
        stored = connection.execute(select(func.count()).select_from(PLAN_DECISION)).scalar()
    assert stored == 2  # C1's two; C2, without consent, is not a candidate

    after = rapport(cwd, "explain", "C1", "C2", "--date", DAY.isoformat())
    lines = after.splitlines()
    second = next(i for i, line in enumerate(lines) if " second " in line and "C1" not in line)
    assert "lost_to_priority" in lines[second] and "lost to first" in lines[second]
    assert "stored by plan run" in lines[second + 1]
    assert "recomputed now: cap_reached" in lines[second + 1]
    first = next(i for i, line in enumerate(lines) if " first " in line)
    assert lines[first].lstrip().startswith("yes") and "selected" in lines[first]
    assert "recomputed now: already_planned" in lines[first + 1]
    # C2 was never a candidate: nothing stored, explain recomputes and says so.
    c2 = after[after.index("customer C2") :]
    assert c2.count("recomputed (no stored decision)") == 1 and "no_consent" in c2

    rows = [
        json.loads(line)
        for line in rapport(cwd, "explain", "C1", "--date", DAY.isoformat(), "--json").splitlines()
    ]
    by_campaign = {row["campaign"]: row for row in rows}
    assert by_campaign["second"]["reason"] == "lost_to_priority"
    assert by_campaign["second"]["source"] == "stored"
    assert by_campaign["second"]["recomputed_reason"] == "cap_reached"
    assert by_campaign["second"]["plan_run"] is not None
    assert by_campaign["first"]["selected"] is True


def test_a_dry_run_stores_nothing_and_explain_recomputes(
    tmp_path: Path, migrated_url: str, engine: Engine
) -> None:
    cwd = store(tmp_path, migrated_url, engine)
    rapport(cwd, "plan", "--date", DAY.isoformat(), "--dry-run")
    rows = [
        json.loads(line)
        for line in rapport(cwd, "explain", "C1", "--date", DAY.isoformat(), "--json").splitlines()
    ]
    assert {row["source"] for row in rows} == {"recomputed"}
    assert {row["reason"] for row in rows} == {"selected", "lost_to_priority"}
