"""`rapport demo`'s summary prints a `rapport report` command, ready to paste, that
reports on the demo's own store up to the demo's day.

The README sends a new user to `rapport report` right after the demo; run as it stands
in the checkout, the command reads ./config.yaml's database (var/rapport.db), not the
demo's (var/demo/rapport.db), and fails with "no database ... run `rapport db
upgrade`". The printed command, run as printed (its variable assignments applied) in
the folder the demo ran in, shows the messages the demo sent in its campaign funnel.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from demo_store import DEMO_DAY, RAPPORT, environment, run_cli_demo


def test_the_printed_report_command_reports_on_the_demo_store_up_to_its_day(
    tmp_path: Path,
) -> None:
    # A smaller sample and a short history (as test_demo_serve's second demo).
    ran = run_cli_demo(tmp_path, *("--customers", "120", "--history-days", "3"))
    [line] = [
        line.strip() for line in ran.output.splitlines() if f" report --to {DEMO_DAY}" in line
    ]
    words = shlex.split(line)
    assignments = {}
    while "=" in words[0] and not words[0].startswith("/"):
        name, _, value = words.pop(0).partition("=")
        assignments[name] = value
    assert words[0] == RAPPORT and "report" in words

    report = subprocess.run(
        words,
        cwd=tmp_path,
        env=environment(**assignments),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert report.returncode == 0, report.stderr
    campaigns = report.stdout.split("\nCampaigns\n")[1].split("\n\n")[0].splitlines()[2:]
    sent = {row.split()[0]: int(row.split()[3]) for row in campaigns}
    assert sum(sent.values()) > 0, report.stdout
