"""Heavy imports happen only where they are used (issue 20): ``rapport --help`` and every
command's ``--help`` import none of the big libraries, and ``rapport explain`` none
of those only sending, serving, rendering or migrating needs.

Start-up time itself is measured by the bench (bench/startup.py), never here: these
tests look at which modules a fresh process imported, which does not depend on the
machine's load. A new command keeps them passing by importing what it needs inside
its function (see engine/cli/app.py).
"""

from __future__ import annotations

import gc
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer, run_rapport
from sqlalchemy import create_engine

#: Libraries no ``--help`` needs; each costs from a few to a hundred milliseconds.
HEAVY = (
    "aiosmtplib",
    "alembic",
    "apscheduler",
    "babel",
    "dkim",
    "email_validator",
    "fastapi",
    "holidays",
    "httpx",
    "itsdangerous",
    "jdatetime",
    "jinja2",
    "phonenumbers",
    "prometheus_client",
    "psycopg",
    "pydantic",
    "sqlalchemy",
    "sqlmodel",
    "starlette",
    "uvicorn",
    "yaml",
)
#: What explain has no use for: it decides, and renders, sends, serves or migrates nothing.
NOT_FOR_EXPLAIN = (
    "aiosmtplib",
    "alembic",
    "apscheduler",
    # Babel's message catalogs and dates (and pytz with them) translate the product's
    # own pages; explain only checks locales.
    "babel.dates",
    "babel.messages",
    "babel.support",
    "dkim",
    "email_validator",
    "fastapi",
    "httpx",
    "jinja2",
    "phonenumbers",
    "prometheus_client",
    "pytz",
    "starlette",
    "uvicorn",
    # The configuration check reads an adapter's options, and writes no e-mail.
    "rapport.channels.mime",
    "rapport.engine.core.catalogs",
    "rapport.engine.delivery.outbox",
    "rapport.engine.rendering",
    "rapport.engine.runtime",
    "rapport.engine.web.app",
)

# Runs `rapport ARGS` once per argv given as JSON, as the console script does, in one
# fresh process, then prints the modules it imported.
_PROBE = """
import json, sys
from rapport.engine.cli.main import main
for argv in json.loads(sys.argv[1]):
    sys.argv = ["rapport", *argv]
    try:
        main()
    except SystemExit as exc:
        if exc.code not in (None, 0):
            raise
print(json.dumps(sorted(sys.modules)), file=sys.stderr)
"""


def probed(probe: str, argument: object, cwd: Path, env: dict[str, str] | None) -> Any:
    """What ``probe``, run in a fresh interpreter with ``argument`` as JSON, printed as
    JSON on its last line of standard error."""
    done = subprocess.run(
        [sys.executable, "-c", probe, json.dumps(argument)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stderr.strip().splitlines()[-1])


def imported_by(*runs: list[str], cwd: Path = REPO, env: dict[str, str] | None = None) -> set[str]:
    return set(probed(_PROBE, runs, cwd, env))


def loaded(modules: set[str], names: tuple[str, ...]) -> list[str]:
    return sorted(
        name for name in names if any(m == name or m.startswith(name + ".") for m in modules)
    )


def every_command() -> list[list[str]]:
    """The argv of every command and group, as the user types them."""
    import click

    from rapport.engine.cli.main import cli

    found: list[list[str]] = []

    def walk(group: click.Group, path: list[str]) -> None:
        for name, command in group.commands.items():
            found.append([*path, name])
            if isinstance(command, click.Group):
                walk(command, [*path, name])

    walk(cli, [])
    return found


def test_help_imports_none_of_the_heavy_libraries() -> None:
    modules = imported_by(["--help"], ["--version"])
    assert loaded(modules, HEAVY) == []


def test_no_commands_help_imports_a_heavy_library() -> None:
    commands = every_command()
    assert ["explain"] in commands and ["db", "upgrade"] in commands
    modules = imported_by(*([*command, "--help"] for command in commands))
    assert loaded(modules, HEAVY) == []


@pytest.fixture(scope="module")
def explain_run(
    sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> tuple[list[str], Path, dict[str, str]]:
    """``rapport explain`` for a customer in Iran on SQLite, with the shipped campaigns
    and the default channels (the file adapter): its argv, folder and environment."""
    folder = tmp_path_factory.mktemp("explain")
    database = folder / "rapport.db"
    shutil.copy(sqlite_template, database)
    engine = create_engine(f"sqlite:///{database}")
    insert_customer(engine, "C1", country="IR")
    engine.dispose()
    config = folder / "config.yaml"
    config.write_text(
        f"database: {{url: 'sqlite:///{database}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    run = ["--config", str(config), "explain", "C1", "--date", "2026-12-23"]
    return run, folder, env


@pytest.fixture(scope="module")
def explain_imports(explain_run: tuple[list[str], Path, dict[str, str]]) -> set[str]:
    """The modules a fresh process imported to run ``rapport explain``."""
    run, folder, env = explain_run
    modules = imported_by(run, cwd=folder, env=env)
    assert "rapport.engine.planning.planner" in modules  # it did decide
    return modules


def test_every_command_is_listed_under_its_own_name() -> None:
    from rapport.engine.cli.main import cli

    assert all(command.name == name for name, command in cli.commands.items())


def test_explain_imports_no_other_command_module(explain_imports: set[str]) -> None:
    modules = {m for m in explain_imports if m.startswith("rapport.engine.cli.")}
    assert modules - {"rapport.engine.cli.main", "rapport.engine.cli.app"} == {
        "rapport.engine.cli.plan"
    }


def test_explain_imports_nothing_for_rendering_sending_serving_or_migrating(
    explain_imports: set[str],
) -> None:
    assert loaded(explain_imports, NOT_FOR_EXPLAIN) == []


def test_explain_on_sqlite_imports_no_postgresql_dialect(explain_imports: set[str]) -> None:
    assert loaded(explain_imports, ("sqlalchemy.dialects.postgresql", "psycopg")) == []


def test_explain_reads_through_core_without_sqlmodel_or_the_orm(explain_imports: set[str]) -> None:
    assert loaded(explain_imports, ("sqlmodel", "sqlalchemy.orm")) == []


def test_explain_imports_the_holiday_calendar_of_the_customers_country_only(
    explain_imports: set[str],
) -> None:
    countries = sorted(m for m in explain_imports if m.startswith("holidays.countries."))
    assert countries == ["holidays.countries.iran"]


# Runs `rapport ARGS` as the console script does, noting whether the garbage collector
# was on when the configuration was read and after the command.
_COLLECTOR_PROBE = """
import gc, json, sys
import rapport.engine.core.config as config
from rapport.engine.cli.main import main
real, loading = config.load_settings, []
def load_settings(*args, **kwargs):
    loading.append(gc.isenabled())
    return real(*args, **kwargs)
config.load_settings = load_settings
sys.argv = ["rapport", *json.loads(sys.argv[1])]
try:
    main()
except SystemExit as exc:
    if exc.code not in (None, 0):
        raise
print(json.dumps([loading, gc.isenabled(), gc.get_freeze_count()]), file=sys.stderr)
"""


def test_start_up_runs_without_the_garbage_collector_until_the_configuration_is_read(
    explain_run: tuple[list[str], Path, dict[str, str]],
) -> None:
    run, folder, env = explain_run
    loading, enabled_after, frozen = probed(_COLLECTOR_PROBE, run, folder, env)
    assert loading == [False]  # paused while the modules are imported and the file read
    assert enabled_after and frozen > 0  # back on, with what start-up built frozen


def test_a_command_run_in_this_process_leaves_the_collector_as_it_found_it(
    explain_run: tuple[list[str], Path, dict[str, str]],
) -> None:
    """The tests run commands in their own process (run_rapport): nothing stays frozen."""
    run, folder, _ = explain_run
    frozen = gc.get_freeze_count()
    ran = run_rapport(*run, cwd=folder)
    assert ran.returncode == 0, ran.stderr
    assert gc.isenabled() and gc.get_freeze_count() == frozen
