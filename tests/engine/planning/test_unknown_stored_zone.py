"""A customer whose stored time zone this machine does not know (written before imports
checked zones, ``localtime`` from a host that had one, a name a tz database update
removed) stops nothing: `rapport plan` stopped with 'unexpected error in plan:
ZoneInfoNotFoundError' and planned no one, and explain, preview and report stopped the
same way. Their local hours cannot be told, so they are sent nothing (`quiet_hours`,
naming the zone) and a warning names their id; everyone else is planned. On SQLite and
PostgreSQL."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from factories import REPO, TEST_SECRET, insert_customer, run_rapport
from sqlalchemy import Engine, insert, select

from rapport.consent.store import grant
from rapport.engine.core import timeutil
from rapport.engine.core.models import ORDERS, OUTBOX

UNKNOWN = "Asia/Tehrann"


def _store(tmp_path: Path, migrated_url: str, engine: Engine, day: date) -> None:
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    born = date(1990, day.month, min(day.day, 28))
    for cid, zone in (("C1", UNKNOWN), ("C2", "Asia/Tehran")):
        insert_customer(
            engine,
            cid,
            first_name="سارا",
            email=f"{cid.lower()}@example.com",
            timezone=zone,
            country="IR",
            birthday=born,
        )
        with engine.begin() as connection:
            grant(connection, cid, "email", "birthday", source="test")
    with engine.begin() as connection:
        connection.execute(
            insert(ORDERS).values(
                id="O1",
                customer_id="C1",
                sku="TEA",
                quantity=1,
                amount=1000,
                currency="IRR",
                ordered_at=datetime.now(UTC) - timedelta(days=30),
            )
        )


def _day() -> date:
    day = datetime.now(UTC).date() + timedelta(days=3)
    return day if day.day <= 28 else day + timedelta(days=5)


def test_a_customer_in_an_unknown_time_zone_is_sent_nothing_and_the_others_are_planned(
    tmp_path: Path, migrated_url: str, engine: Engine
) -> None:
    day = _day()
    _store(tmp_path, migrated_url, engine, day)
    env = {"RAPPORT_SECRET_KEY": TEST_SECRET}
    timeutil._WARNED.clear()  # once a process, and the commands run in this one
    planned = run_rapport("plan", "--date", day.isoformat(), cwd=tmp_path, env=env)
    assert planned.returncode == 0, planned.stderr
    with engine.connect() as connection:
        messaged = set(connection.execute(select(OUTBOX.c.customer_id)).scalars())
    assert messaged == {"C2"}
    (warned,) = [line for line in planned.stderr.splitlines() if "time zone" in line]
    assert '"customer_id": "C1"' in warned


def test_explain_preview_and_report_answer_for_a_customer_in_an_unknown_time_zone(
    tmp_path: Path, migrated_url: str, engine: Engine
) -> None:
    day = _day().isoformat()
    _store(tmp_path, migrated_url, engine, _day())
    env = {"RAPPORT_SECRET_KEY": TEST_SECRET}
    explained = run_rapport("explain", "C1", "--date", day, cwd=tmp_path, env=env)
    assert explained.returncode == 0, explained.stderr
    (birthday,) = [line for line in explained.stdout.splitlines() if " birthday " in line]
    assert birthday.split()[:3] == ["no", "birthday", "quiet_hours"]
    assert f"the time zone '{UNKNOWN}' is not one this machine knows" in birthday
    for command in (("preview", "birthday", "--customer", "C1", "--date", day), ("report",)):
        shown = run_rapport(*command, cwd=tmp_path, env=env)
        assert shown.returncode == 0, (command, shown.stderr)
