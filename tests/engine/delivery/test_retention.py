"""Outbox retention (issue 16, point 10): the content of old, finished messages goes,
the rows and every figure the reports compute from them stay, and nothing still
waiting to be sent is touched; ``rapport outbox prune`` and the daemon's nightly job
apply it, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer, make_settings, run_rapport
from sqlalchemy import Engine, insert, select

from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.models import ORDERS, OUTBOX, MessageStatus
from rapport.engine.delivery.outbox import outbox_row
from rapport.engine.delivery.retention import (
    FINAL,
    AgeInvalid,
    parse_age,
    prune_outbox,
)
from rapport.engine.runtime.daemon import Daemon

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=120)
RECENT = NOW - timedelta(days=10)
CONTENT = {"subject": "Hello Shirin", "body_text": "Dear Shirin Ahmadi ...", "body_html": "<p>Dear"}
#: Everything but the content: what retention must leave exactly as it was.
KEPT = [
    c.name for c in OUTBOX.c if c.name not in ("subject", "body_text", "body_html", "pruned_at")
]


def seed(engine: Engine, base: datetime, prefix: str = "") -> None:
    """Two customers with orders and consent, and one message in every state at ``base``
    (a sent one delivered; a suppressed one with its reason), each with content, plus
    a held-out one (planned without content)."""
    for customer in ("C1", "C2"):
        insert_customer(engine, prefix + customer, email=f"{customer}@example.com")
    with engine.begin() as connection:
        connection.execute(
            insert(ORDERS),
            [
                {
                    "id": f"{prefix}O{n}",
                    "customer_id": prefix + ("C1" if n % 2 else "C2"),
                    "sku": "TEA",
                    "quantity": 1,
                    "amount": 10 + n,
                    "currency": "USD",
                    "ordered_at": base + timedelta(days=n),
                }
                for n in range(1, 5)
            ],
        )
        record_consent(
            connection,
            [
                ConsentChange(
                    prefix + "C1", "email", "offers", "granted", "web", base - timedelta(1)
                ),
                ConsentChange(
                    prefix + "C2", "email", "offers", "granted", "web", base - timedelta(1)
                ),
                ConsentChange(
                    prefix + "C2", "email", "offers", "withdrawn", "web", base + timedelta(2)
                ),
            ],
            recorded_at=base,
        )
        rows = []
        for n, status in enumerate(MessageStatus):
            row = outbox_row(
                customer_id=prefix + ("C1" if n % 2 else "C2"),
                campaign="offers",
                occasion=f"{prefix}{status}",
                channel="email",
                topic="offers",
                locale="en",
                status=status,
                send_at=base + timedelta(minutes=n),
                created_at=base - timedelta(hours=1),
                **({} if status == MessageStatus.HELD_OUT else CONTENT),
            )
            if status == MessageStatus.SENT:
                row.update(sent_at=base + timedelta(minutes=30), provider_id=f"<{prefix}m@x>")
                row.update(delivered_at=base + timedelta(hours=1))
            if status == MessageStatus.SUPPRESSED:
                row.update(last_error="address is on the suppression list")
            if status == MessageStatus.SENDING:
                row.update(claimed_by="worker-1", lease_until=NOW + timedelta(minutes=5))
            rows.append(row)
        connection.execute(insert(OUTBOX), rows)


def outbox(engine: Engine) -> dict[str, dict[str, Any]]:
    with engine.connect() as connection:
        rows = connection.execute(select(OUTBOX)).mappings().all()
    return {row["occasion"]: dict(row) for row in rows}


# -- the age ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "age"),
    [("90d", timedelta(days=90)), ("36h", timedelta(hours=36)), (" 1H ", timedelta(hours=1))],
)
def test_an_age_is_a_whole_number_of_days_or_hours(text: str, age: timedelta) -> None:
    assert parse_age(text) == age


@pytest.mark.parametrize(
    "text", ["90", "90 d", "1.5d", "90m", "2w", "-1d", "0d", "0h", "3651d", ""]
)
def test_anything_else_is_not_an_age(text: str) -> None:
    with pytest.raises(AgeInvalid):
        parse_age(text)


# -- what goes, what stays ------------------------------------------------------------------


def test_old_final_messages_lose_their_content_and_keep_everything_else(engine: Engine) -> None:
    seed(engine, OLD, prefix="old-")
    seed(engine, RECENT, prefix="new-")
    before = outbox(engine)

    report = prune_outbox(engine, older_than=timedelta(days=90), now=NOW, batch_size=2)

    after = outbox(engine)
    pruned = {key for key, row in after.items() if row["pruned_at"] is not None}
    assert pruned == {f"old-{status}" for status in FINAL}
    assert report.pruned == len(FINAL) and report.batches == 3  # batches of two
    for key, row in after.items():
        assert {c: row[c] for c in KEPT} == {c: before[key][c] for c in KEPT}, key
        if key in pruned:
            assert (row["subject"], row["body_text"], row["body_html"]) == (None, "", None)
            assert row["pruned_at"] == NOW
        else:
            assert row == before[key], key  # recent, or still queued/sending: untouched
    assert after["old-queued"]["body_text"] == CONTENT["body_text"]
    assert after["old-sending"]["subject"] == CONTENT["subject"]
    again = prune_outbox(engine, older_than=timedelta(days=90), now=NOW + timedelta(hours=1))
    assert again.pruned == 0


def test_a_dry_run_counts_and_changes_nothing(engine: Engine) -> None:
    seed(engine, OLD)
    before = outbox(engine)
    report = prune_outbox(engine, older_than=timedelta(days=90), now=NOW, dry_run=True)
    assert report.pruned == len(FINAL)
    assert outbox(engine) == before


def test_a_sent_message_is_as_old_as_its_sending(engine: Engine) -> None:
    """Due before the cutoff but sent after it (a long retry): kept until it ages."""
    seed(engine, OLD)
    with engine.begin() as connection:
        connection.execute(
            OUTBOX.update()
            .where(OUTBOX.c.status == MessageStatus.SENT)
            .values(sent_at=NOW - timedelta(days=5))
        )
    prune_outbox(engine, older_than=timedelta(days=90), now=NOW)
    assert outbox(engine)["sent"]["pruned_at"] is None
    assert outbox(engine)["sent"]["subject"] == CONTENT["subject"]


def test_a_stop_ends_the_prune_between_batches(engine: Engine) -> None:
    seed(engine, OLD)
    asked: list[int] = []

    def stop() -> bool:
        asked.append(1)
        return len(asked) > 1  # after the first batch

    report = prune_outbox(engine, older_than=timedelta(days=90), now=NOW, batch_size=2, stop=stop)
    assert (report.pruned, report.stopped) == (2, True)
    assert sum(row["pruned_at"] is not None for row in outbox(engine).values()) == 2


# -- the command, and the reports -----------------------------------------------------------


def write_config(folder: Path, url: str, extra: str = "") -> None:
    (folder / "config.yaml").write_text(
        f"database: {{url: '{url}'}}\ncampaigns_dir: {REPO / 'campaigns'}\n"
        f"templates_dir: {REPO / 'templates'}\n{extra}",
        encoding="utf-8",
    )


def test_rapport_report_gives_the_same_figures_before_and_after_a_prune(
    engine: Engine, migrated_url: str, tmp_path: Path
) -> None:
    """On the same data, every figure of ``rapport report --json`` is unchanged by
    ``rapport outbox prune --older-than 90d`` (run at the real clock)."""
    now = datetime.now(UTC)
    base = now - timedelta(days=150)
    seed(engine, base)
    write_config(tmp_path, migrated_url)
    period = ["--from", (base - timedelta(days=30)).date().isoformat()]
    period += ["--to", (base + timedelta(days=60)).date().isoformat()]

    before = run_rapport("report", "--json", *period, cwd=tmp_path)
    pruned = run_rapport("outbox", "prune", "--older-than", "90d", "--json", cwd=tmp_path)
    after = run_rapport("report", "--json", *period, cwd=tmp_path)

    assert before.returncode == pruned.returncode == after.returncode == 0, pruned.stderr
    assert json.loads(pruned.stdout)["pruned"] == len(FINAL)
    figures = json.loads(before.stdout)
    assert figures["campaigns"], figures  # the funnel has the rows to count
    assert json.loads(after.stdout) == figures
    assert all(row["body_text"] == "" for row in outbox(engine).values() if row["pruned_at"])


def test_rapport_outbox_prune_takes_the_configured_retention_and_says_what_it_did(
    engine: Engine, migrated_url: str, tmp_path: Path
) -> None:
    seed(engine, datetime.now(UTC) - timedelta(days=40))
    write_config(tmp_path, migrated_url, "retention: {outbox_days: 60}\n")
    kept = run_rapport("outbox", "prune", cwd=tmp_path)
    assert kept.returncode == 0 and "pruned the content of 0 finished" in kept.stdout
    write_config(tmp_path, migrated_url, "retention: {outbox_days: 30}\n")
    dry = run_rapport("outbox", "prune", "--dry-run", cwd=tmp_path)
    assert dry.returncode == 0 and f"would prune the content of {len(FINAL)}" in dry.stdout
    done = run_rapport("outbox", "prune", cwd=tmp_path)
    assert done.returncode == 0 and f"pruned the content of {len(FINAL)}" in done.stdout


@pytest.mark.parametrize("value", ["90", "ninety", "90m", "0d", "9999d"])
def test_a_bad_age_is_a_usage_error_naming_the_option(value: str, tmp_path: Path) -> None:
    write_config(tmp_path, f"sqlite:///{tmp_path / 'r.db'}")
    result = run_rapport("outbox", "prune", "--older-than", value, cwd=tmp_path)
    assert result.returncode == 2
    assert "--older-than" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize("days", [0, 3651, "forever"])
def test_the_retention_setting_is_bounded(days: object, tmp_path: Path) -> None:
    write_config(
        tmp_path, f"sqlite:///{tmp_path / 'r.db'}", f"retention: {{outbox_days: {days}}}\n"
    )
    result = run_rapport("outbox", "prune", "--dry-run", cwd=tmp_path)
    assert result.returncode == 1 and "retention.outbox_days" in result.stderr


# -- the daemon's nightly job ------------------------------------------------------------


class GrantedLock:
    def try_acquire(self) -> bool:
        return True

    def release(self) -> None:
        return None


def test_the_daemon_prunes_every_night_at_its_clock(
    engine: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The job is scheduled daily at 03:37 UTC; run at each of those moments of a fake
    clock, it prunes what ``retention.outbox_days`` before that moment makes old."""
    settings = make_settings(base_dir=tmp_path)
    settings = settings.model_copy(
        update={"retention": settings.retention.model_copy(update={"outbox_days": 30})}
    )
    clock = [NOW]
    seed(engine, NOW - timedelta(days=29))
    daemon = Daemon(settings, engine, clock=lambda: clock[0], lock=GrantedLock())
    monkeypatch.setattr(daemon.scheduler, "start", lambda *args, **kwargs: None)
    daemon.start()  # jobs added, no scheduler thread: the test is the clock
    try:
        job = daemon.scheduler.get_job("retention")
        assert job is not None
        fires, previous = [], None
        for _ in range(3):
            previous = job.trigger.get_next_fire_time(previous, previous or NOW)
            fires.append(previous)
        start = datetime(2026, 11, 27, 3, 37, tzinfo=UTC)
        assert fires == [start, start + timedelta(days=1), start + timedelta(days=2)]

        clock[0] = fires[0]  # 29 days 15 h after sending: not yet old
        job.func()
        assert not any(row["pruned_at"] for row in outbox(engine).values())
        clock[0] = fires[1]  # 30 days 15 h: old
        job.func()
        pruned = {key for key, row in outbox(engine).items() if row["pruned_at"] == fires[1]}
        assert pruned == {str(status) for status in FINAL}
    finally:
        daemon.stop(grace=0)


def test_a_dispatch_only_daemon_does_not_prune(engine: Engine, tmp_path: Path) -> None:
    seed(engine, OLD)
    daemon = Daemon(make_settings(base_dir=tmp_path), engine, clock=lambda: NOW, plan=False)
    try:
        assert daemon.prune_tick() is None
    finally:
        daemon.stop(grace=0)
    assert not any(row["pruned_at"] for row in outbox(engine).values())
