"""`rapport report` works for any period on the demo data: one day, three months, two
years, as text (the default), JSON, and HTML with the comments printed.

The demo store has two years of orders, so a long period has cohorts of every age: a
cohort's row has one cell per later month, and the newest cohorts' rows are shorter
than the table's header (the case that once crashed the text report with IndexError).
"""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path

import pytest
from demo_store import DEMO_DAY, demo_store
from factories import REPO, run_rapport

from rapport.engine.reports.text import _table

DAY = DEMO_DAY
PERIODS = {
    "1 day": (DAY, DAY),
    "3 months": (DAY - timedelta(days=91), DAY),
    "2 years": (DAY - timedelta(days=730), DAY),
}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder whose config.yaml names the demo's store, after the demo ran."""
    folder = tmp_path_factory.mktemp("demo-report")
    store = demo_store(tmp_path_factory, folder)
    (folder / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{store}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    return folder


def period_args(name: str) -> list[str]:
    start, end = PERIODS[name]
    return ["--from", start.isoformat(), "--to", end.isoformat()]


@pytest.mark.parametrize("name", list(PERIODS))
def test_the_text_report_prints_every_section_for_any_period(workdir: Path, name: str) -> None:
    result = run_rapport("report", *period_args(name), cwd=workdir)
    assert result.returncode == 0, result.stderr
    start, end = PERIODS[name]
    assert result.stdout.startswith(f"Report {start} to {end}")
    for title in ("Customers", "Cohort retention", "Stages", "Campaigns", "Consent health"):
        assert f"\n{title}" in result.stdout
    assert result.stderr == ""


def test_over_two_years_the_newest_cohorts_have_shorter_rows_and_print(workdir: Path) -> None:
    as_json = run_rapport("report", "--json", *period_args("2 years"), cwd=workdir)
    figures = json.loads(as_json.stdout)
    lengths = [len(cohort["months"]) for cohort in figures["cohorts"]]
    assert len(lengths) > 6 and min(lengths) < max(lengths), lengths  # ragged, as in the bug
    text = run_rapport("report", *period_args("2 years"), cwd=workdir).stdout
    section = text.split("\nCohort retention")[1].split("\n\n")[0].splitlines()
    header, rows = section[1], section[3:]
    assert header.split()[-1] == f"+{max(lengths) - 1}"
    assert [row.split()[0] for row in rows] == [c["cohort"] for c in figures["cohorts"]]


def test_the_default_period_ends_today(workdir: Path) -> None:
    result = run_rapport("report", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Cohort retention" in result.stdout


@pytest.mark.parametrize("name", list(PERIODS))
def test_html_with_comments_writes_the_page_and_prints_the_text(workdir: Path, name: str) -> None:
    page = workdir / f"report-{name.replace(' ', '-')}.html"
    result = run_rapport(
        "report", "--html", str(page), "--comments", *period_args(name), cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    assert page.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert "\nComments\n" in result.stdout and f"report written to {page}" in result.stderr


def test_a_table_row_shorter_than_its_header_gets_blank_cells() -> None:
    assert _table("T", ["a", "b", "c"], [["1", "22", "333"], ["4"]]).splitlines() == [
        "T",
        "a  b   c",
        "-  --  ---",
        "1  22  333",
        "4",
    ]
