"""The command-line summaries count in English: "1 customer", "2 customers", never
"1 customers" or "message(s)". The CLI speaks English only (docs/localization.md
localizes messages to customers, not the operator's terminal).
"""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from factories import run_rapport

from rapport.consent.privacy import ErasureReport
from rapport.engine.cli.plan import print_plan_report
from rapport.engine.core.text import counted
from rapport.engine.delivery.retention import PruneReport
from rapport.engine.planning.decisions import DecisionPruneReport
from rapport.engine.planning.run import PlanReport

AT = datetime(2026, 12, 7, tzinfo=UTC)


@pytest.mark.parametrize(
    ("count", "said"),
    [(0, "0 messages"), (1, "1 message"), (2, "2 messages"), (1000, "1000 messages")],
)
def test_counted_says_one_thing_and_other_counts_of_things(count: int, said: str) -> None:
    assert counted(count, "message") == said


def test_counted_takes_an_irregular_plural() -> None:
    assert counted(1, "entry", "entries") == "1 entry"
    assert counted(3, "entry", "entries") == "3 entries"


def test_the_plan_summary_counts_one_customer_and_one_message(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = PlanReport(day=date(2026, 12, 7), customers=1, inserted=1)
    report.planned = Counter({("birthday", "email", "en"): 1})
    print_plan_report(report, dry_run=False)
    first = capsys.readouterr().out.splitlines()[0]
    assert first == "2026-12-07: 1 customer, planned 1 message, 1 new, 0 already planned"


def test_the_plan_summary_counts_other_numbers_in_the_plural(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = PlanReport(day=date(2026, 12, 7), customers=0)
    print_plan_report(report, dry_run=True)
    assert capsys.readouterr().out.splitlines()[0] == (
        "2026-12-07: 0 customers, would plan 0 messages"
    )


def test_the_outbox_prune_summary_counts_one_message() -> None:
    said = PruneReport(cutoff=AT, pruned=1).summary()
    assert said.startswith("outbox: pruned the content of 1 finished message older than ")


def test_the_decision_prune_summary_counts_one_decision_and_one_run() -> None:
    said = DecisionPruneReport(cutoff=date(2026, 12, 7), deleted=1, runs=1).summary()
    assert said.startswith("plan decisions: deleted 1 decision and 1 plan run of days before")
    said = DecisionPruneReport(cutoff=date(2026, 12, 7), deleted=2, runs=0).summary()
    assert said.startswith("plan decisions: deleted 2 decisions and 0 plan runs of days before")


def test_the_erasure_summary_counts_in_english() -> None:
    report = ErasureReport("C1", AT, 1, 0, 1, 2, 1, 1, events_deleted=1)
    assert report.summary() == (
        "customer C1 erased: 1 hashed suppression added (0 plain replaced), "
        "1 message cancelled, 2 blanked, 1 consent event cleared of IP and user agent, "
        "1 order kept, 1 event deleted"
    )


@pytest.mark.parametrize(("window", "said"), [(1, "1 day"), (7, "7 days")])
def test_the_text_report_counts_the_attribution_window_in_english(
    tmp_path: Path, sqlite_template: Path, window: int, said: str
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text('database: {url: "sqlite:///rapport.db"}\n')
    ran = run_rapport("report", "--window", str(window), cwd=tmp_path)
    assert ran.returncode == 0, ran.stderr
    assert f"(attribution window {said}, amounts in " in ran.stdout
