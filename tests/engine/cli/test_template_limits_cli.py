"""Hostile templates through the commands a marketer and an operator run: ``campaigns
validate``, ``preview`` and ``plan`` each refuse them with FILE:LINE and the reason,
as real processes whose peak memory stays under 200 MB (issue 15, point 1).

How long each takes is measured by ``bench/template_limits.py``, not asserted here.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pytest
from factories import REPO

RAPPORT = str(Path(sys.executable).parent / "rapport")

#: Each case's first line is the one refused (the birthday e-mail's line 1).
CASES = {
    "nested loops": "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}"
    "{% endfor %}",
    "center": "{{ 'a'|center(10**9) }}",
    "printf width": "{{ '%01000000000d' % 1 }}",
    "str.format width": "{{ '{:>1000000000}'.format('a') }}",
    "doubling in a namespace": "{% set ns = namespace(s='ab') %}{% for i in range(40) %}"
    "{% set ns.s = ns.s ~ ns.s %}{% endfor %}{{ ns.s|length }}",
    "ljust": "{{ 'a'.ljust(500000000)|length }}",
    "lipsum": "{{ lipsum(10**6) }}",
    "a set block filled by loops": "{% set x %}{% for i in range(100000) %}"
    "{% for j in range(100000) %}x{% endfor %}{% endfor %}{% endset %}{{ x|length }}",
    "a set block kept by a loop of made strings": "{% set x %}{% for i in range(100000) %}"
    "{% for j in range(40) %}{{ i ~ 'x' * 200 }}{% endfor %}{% endfor %}{% endset %}{{ x|length }}",
}

#: Peak RSS of the rapport process, printed by a parent that runs nothing else.
MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:]).returncode\n"
    "print('MAXRSS_KB', resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def rapport(*args: str, cwd: Path) -> tuple[subprocess.CompletedProcess[str], int]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    done = subprocess.run(
        [sys.executable, "-c", MEASURED, RAPPORT, *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    last = done.stderr.rstrip().rsplit("\n", 1)[-1]
    assert last.startswith("MAXRSS_KB "), done.stderr
    return done, int(last.split()[1]) // 1024


@pytest.fixture(scope="module")
def day() -> date:
    # A day ahead of the real clock, so that `plan` sees every send window still open.
    day = date.today() + timedelta(days=3)
    return day + timedelta(days=1) if (day.month, day.day) == (2, 29) else day


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory, day: date) -> Path:
    """The shipped campaigns, one birthday campaign per hostile case, a customer whose
    birthday is ``day`` with consent, in a migrated SQLite database."""
    root = tmp_path_factory.mktemp("hostile")
    (root / "campaigns").mkdir()
    shutil.copytree(REPO / "templates", root / "templates")
    birthday = (REPO / "campaigns" / "birthday.yaml").read_text(encoding="utf-8")
    for index, body in enumerate(CASES.values()):
        name = f"hostile-{index}"
        (root / "campaigns" / f"{name}.yaml").write_text(
            birthday.replace("name:", "templates: birthday\nname:", 1).replace(
                "templates: birthday", f"templates: {name}", 1
            ),
            encoding="utf-8",
        )
        shutil.copytree(REPO / "templates" / "birthday", root / "templates" / name)
        email = root / "templates" / name / "en" / "email.txt"
        email.write_text(body + "\n" + email.read_text(encoding="utf-8"), encoding="utf-8")
    shutil.copy(REPO / "campaigns" / "birthday.yaml", root / "campaigns")
    (root / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n"
        "caps: {per_day: 20, per_week: 20}  # every campaign's greeting the same day\n"
    )
    assert subprocess.run([RAPPORT, "db", "upgrade"], cwd=root).returncode == 0
    (root / "customers.csv").write_text(
        "id,first_name,last_name,email,locale,timezone,country,birthday\n"
        f"H1,Zed,Morgan,zed@example.com,en_US,America/New_York,US,{day.replace(year=1990)}\n",
        encoding="utf-8",
    )
    (root / "consent.csv").write_text(
        "customer_id,channel,topic,status,source,captured_at,wording\n"
        "H1,email,birthday,granted,form,2025-01-01T00:00:00Z,v1\n",
        encoding="utf-8",
    )
    for kind, file in (("customers", "customers.csv"), ("consent", "consent.csv")):
        assert subprocess.run([RAPPORT, "import", kind, file], cwd=root).returncode == 0
    return root


def test_validate_refuses_every_hostile_template_at_its_line(tree: Path) -> None:
    result, peak_mb = rapport("campaigns", "validate", cwd=tree)
    assert result.returncode == 1, result.stdout
    for index in range(len(CASES)):
        assert f"templates/hostile-{index}/en/email.txt:1: " in result.stderr, (index, result)
    assert "Traceback" not in result.stderr
    assert "template_limits" in result.stderr
    assert peak_mb < 200, f"validate peaked at {peak_mb} MB"


@pytest.mark.parametrize("index", [0, 1, 7])
def test_preview_refuses_a_hostile_template_at_its_line(tree: Path, day: date, index: int) -> None:
    result, peak_mb = rapport(
        "preview", f"hostile-{index}", "--customer", "H1", "--date", str(day), cwd=tree
    )
    assert result.returncode == 1, result.stdout
    assert f"templates/hostile-{index}/en/email.txt:1: " in result.stderr
    assert "Traceback" not in result.stderr
    assert peak_mb < 200, f"preview peaked at {peak_mb} MB"


def test_plan_skips_each_hostile_message_and_plans_the_rest(tree: Path, day: date) -> None:
    result, peak_mb = rapport("plan", "--date", str(day), cwd=tree)
    assert result.returncode == 1, result.stdout
    for index in range(len(CASES)):
        assert f"templates/hostile-{index}/en/email.txt" in result.stderr
    assert "Traceback" not in result.stderr
    assert "1 new" in result.stdout  # the shipped birthday greeting is still planned
    assert peak_mb < 200, f"plan peaked at {peak_mb} MB"
