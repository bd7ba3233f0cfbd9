"""Exit codes and error lines as README.md and ``rapport.engine.cli.main`` promise them.

0 ok, 1 invalid input, 2 usage error, 3 runtime failure. An exception nobody expected
(a bug) is exit 3 with one line naming the command and the exception; the traceback is
printed only with ``RAPPORT_DEBUG=1``, and never for a user's mistake. A bad port, a bad
log level and ``run --once`` print no traceback.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from factories import REPO, run_rapport

from rapport.engine.cli.main import command_name, log_level

RAPPORT = str(Path(sys.executable).parent / "rapport")
HINT = "; set RAPPORT_DEBUG=1 for the traceback"


def run_process(*args: str, cwd: Path, env: dict[str, str] | None = None, timeout: float = 120):  # type: ignore[no-untyped-def]
    """The console script as a real process, without the caller's RAPPORT_* variables."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    environment.update(env or {})
    return subprocess.run(
        [RAPPORT, *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=timeout
    )


@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            database: {{url: "sqlite:///rapport.db"}}
            campaigns_dir: {REPO / "campaigns"}
            templates_dir: {REPO / "templates"}
            channels:
              email: {{adapter: file, kind: email, path: outbox}}
              sms: {{adapter: file, kind: sms, path: outbox}}
            """
        ),
        encoding="utf-8",
    )
    return tmp_path


@pytest.fixture
def broken_report(monkeypatch: pytest.MonkeyPatch) -> None:
    """``rapport report`` fails the way the cohort table once did."""

    def fail(*_: object, **__: object) -> None:
        raise IndexError("list index out of range")

    monkeypatch.setattr("rapport.engine.reports.text.compute", fail)


@pytest.mark.usefixtures("broken_report")
def test_an_unexpected_error_is_exit_3_and_one_line_naming_the_command(workdir: Path) -> None:
    result = run_rapport("report", "--json", cwd=workdir)
    assert result.returncode == 3
    assert result.stderr == (
        f"rapport: unexpected error in report: IndexError: list index out of range{HINT}\n"
    )
    assert result.stdout == ""


@pytest.mark.usefixtures("broken_report")
def test_rapport_debug_adds_the_traceback_and_keeps_exit_3(workdir: Path) -> None:
    result = run_rapport("report", cwd=workdir, env={"RAPPORT_DEBUG": "1"})
    assert result.returncode == 3
    assert result.stderr.startswith("Traceback (most recent call last):")
    assert "in fail" in result.stderr  # the frame that raised
    last = result.stderr.splitlines()[-1]
    assert last == "rapport: unexpected error in report: IndexError: list index out of range"


@pytest.mark.usefixtures("broken_report")
@pytest.mark.parametrize("value", ["0", "", "false", "no", "off"])
def test_rapport_debug_off_values_print_no_traceback(workdir: Path, value: str) -> None:
    result = run_rapport("report", cwd=workdir, env={"RAPPORT_DEBUG": value})
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert len(result.stderr.splitlines()) == 1


def test_a_runtime_failure_is_exit_3_with_the_traceback_only_on_request(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise FileNotFoundError(2, "No such file or directory", "rates.csv")

    monkeypatch.setattr("rapport.engine.reports.text.compute", fail)
    plain = run_rapport("report", cwd=workdir)
    assert (plain.returncode, plain.stderr) == (3, "error: No such file or directory: rates.csv\n")
    debug = run_rapport("report", cwd=workdir, env={"RAPPORT_DEBUG": "1"})
    assert debug.returncode == 3 and debug.stderr.startswith("Traceback")
    assert debug.stderr.splitlines()[-1] == "error: No such file or directory: rates.csv"


def test_ctrl_c_is_exit_130_without_a_traceback_not_a_runtime_failure(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ctrl-C (SIGINT, KeyboardInterrupt) reached the command as Click's Abort and
    exited 3, the code of a runtime failure; a shell reports an interrupted command as
    130 (128 + SIGINT), which main() meant to give and never did."""

    def interrupted(*_: object, **__: object) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr("rapport.engine.reports.text.compute", interrupted)
    ran = run_rapport("report", cwd=workdir, env={"RAPPORT_DEBUG": "1"})
    assert ran.returncode == 130, ran.stderr
    assert ran.stderr.strip() == "Aborted." and "Traceback" not in ran.stderr


def test_a_users_mistake_never_shows_a_traceback_even_with_rapport_debug(tmp_path: Path) -> None:
    result = run_rapport(
        "--config", "missing.yaml", "report", cwd=tmp_path, env={"RAPPORT_DEBUG": "1"}
    )
    assert result.returncode == 1
    assert result.stderr == "missing.yaml: config file not found\n"


def test_an_unknown_option_is_a_usage_error(workdir: Path) -> None:
    result = run_rapport("report", "--period", "3m", cwd=workdir)
    assert result.returncode == 2 and "No such option '--period'" in result.stderr


def test_an_unexpected_message_is_one_line_without_control_characters(
    workdir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fail(*_: object, **__: object) -> None:
        raise ValueError("first line\nsecond\x1b[2J line  " + "x" * 400)

    monkeypatch.setattr("rapport.engine.reports.text.compute", fail)
    result = run_rapport("report", cwd=workdir)
    (line,) = result.stderr.splitlines()
    assert line.startswith("rapport: unexpected error in report: ValueError: first line second")
    assert "\x1b" not in line and line.endswith("..." + HINT) and len(line) < 400


def test_an_unexpected_database_error_never_prints_the_row_it_quotes(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, postgres_url: str
) -> None:
    """PostgreSQL's DETAIL line quotes the failing key or row (a name, an address)."""
    from sqlalchemy import create_engine, exc

    engine = create_engine(postgres_url.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with engine.begin() as connection:
            connection.exec_driver_sql("CREATE TABLE t (email text UNIQUE)")
            connection.exec_driver_sql("INSERT INTO t VALUES ('ada@example.com')")
        with pytest.raises(exc.IntegrityError) as raised, engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO t VALUES ('ada@example.com')")
    finally:
        engine.dispose()
    assert "ada@example.com" in str(raised.value)  # what the driver's text holds

    def fail(*_: object, **__: object) -> None:
        raise raised.value

    monkeypatch.setattr("rapport.engine.reports.text.compute", fail)
    result = run_rapport("report", cwd=workdir)
    (line,) = result.stderr.splitlines()
    assert result.returncode == 3 and "IntegrityError" in line and "duplicate key" in line
    assert "ada@example.com" not in line


@pytest.mark.parametrize("value", ["verbose", "10", "warn ing"])
@pytest.mark.parametrize("command", [["report"], ["run", "--once"]])
def test_a_bad_log_level_is_one_line_naming_the_variable_and_the_levels(
    workdir: Path, value: str, command: list[str]
) -> None:
    result = run_rapport(*command, cwd=workdir, env={"RAPPORT_LOG_LEVEL": value})
    assert result.returncode == 1
    assert result.stderr == (
        f"error: RAPPORT_LOG_LEVEL={value!r} is not a log level: "
        "use one of DEBUG, INFO, WARNING, ERROR, CRITICAL\n"
    )


def test_log_levels_are_read_in_any_case_with_the_documented_defaults() -> None:
    assert log_level("debug", daemon=False) == "DEBUG"
    assert log_level(" Warning ", daemon=True) == "WARNING"
    assert log_level(None, daemon=True) == "INFO"  # run, serve, dispatch
    assert log_level("", daemon=False) == "WARNING"  # every other command
    assert log_level("verbose", daemon=False) is None


def test_the_command_named_in_the_error_line_is_the_one_run() -> None:
    assert command_name(["report", "--json"]) == "report"
    assert command_name(["--config", "run", "db", "upgrade"]) == "db upgrade"
    assert command_name(["--config=x.yaml", "customers", "erase", "C1", "--yes"]) == (
        "customers erase"
    )
    assert command_name(["--help"]) == ""
    assert command_name(["nonsense", "run"]) == ""


def test_serve_on_a_port_out_of_range_prints_no_traceback(workdir: Path) -> None:
    result = run_process("serve", "--port", "99999", cwd=workdir)
    assert result.returncode == 2, result.stderr  # a usage error, named at the option
    assert "Traceback" not in result.stderr
    last = result.stderr.splitlines()[-1]
    assert "'--port': 99999 is not in the range 1<=x<=65535" in last, last


@pytest.mark.parametrize(
    "host", ["not a host", "", "bad_host!", "-lead.example", "nowhere.invalid"]
)
def test_serve_on_a_host_that_is_no_address_is_a_usage_error_naming_it(
    workdir: Path, host: str
) -> None:
    """It was a DNS error naming no host, exit 3, after the server had started."""
    # (before, "" listened at web.host: a short timeout ends that server)
    result = run_process("serve", "--host", host, cwd=workdir, timeout=30)
    assert result.returncode == 2, result.stderr  # as a bad --port
    last = result.stderr.splitlines()[-1]
    assert f"Invalid value for '--host': {host!r} is not an address" in last


def test_serve_on_a_port_in_use_is_one_error_line(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = run_process("serve", "--port", str(port), cwd=workdir)
    assert result.returncode in (1, 3), result.stderr
    assert "Traceback" not in result.stderr


def test_run_once_prints_no_traceback(workdir: Path) -> None:
    result = run_process("run", "--once", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert "SchedulerNotRunning" not in result.stderr
    assert "dispatch:" in result.stdout


def test_a_report_written_where_no_folder_is_names_the_path_and_exits_1(workdir: Path) -> None:
    target = workdir / "no" / "such" / "folder" / "report.html"
    result = run_rapport("report", "--html", str(target), cwd=workdir)
    assert result.returncode == 1, result.stderr
    assert f"--html: cannot write {target}" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize(
    ("command", "option"),
    [
        (("plan", "--date"), "--date"),
        (("explain", "C1", "--date"), "--date"),
        (("preview", "birthday", "--customer", "C1", "--date"), "--date"),
        (("send-test", "birthday", "--to", "a@example.com", "--date"), "--date"),
        (("report", "--from"), "--from"),
        (("report", "--to"), "--to"),
    ],
)
@pytest.mark.parametrize("day", ["0001-01-01", "9999-12-31"])
def test_a_day_outside_the_years_the_pages_accept_is_a_usage_error(
    workdir: Path, command: tuple[str, ...], option: str, day: str
) -> None:
    """Years 2000 to 2100, as the admin pages (one constant, timeutil.DAY_YEARS): a day
    beyond them overflowed a date computation further on (exit 3)."""
    result = run_rapport(*command, day, cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert f"'{option}': '{day}': must lie in the years 2000 to 2100" in result.stderr


DAY_OPTIONS = [
    (("plan", "--dry-run", "--date"), "--date"),
    (("explain", "C1", "--date"), "--date"),
    (("report", "--json", "--to"), "--to"),
    (("report", "--json", "--to", "2026-12-31", "--from"), "--from"),
]


@pytest.mark.parametrize(("command", "option"), [o for o in DAY_OPTIONS if o[0][0] != "explain"])
@pytest.mark.parametrize("day", ["۲۰۲۶-۱۱-۲۶", "٢٠٢٦-١١-٢٦", "２０２６-１１-２６"])
def test_a_day_option_reads_digits_of_any_script_as_the_importer_does(
    workdir: Path, command: tuple[str, ...], option: str, day: str
) -> None:
    """docs/import.md: a date in Persian (or other) digits is read as 0-9; the day
    options refused it ('not a date in YYYY-MM-DD form')."""
    result = run_rapport(*command, day, cwd=workdir)
    assert result.returncode == 0, result.stderr


@pytest.mark.parametrize(("command", "option"), DAY_OPTIONS)
@pytest.mark.parametrize("day", ["20261126", "2026-W48-4", "26-11-2026"])
def test_a_day_option_takes_only_the_form_the_importer_takes(
    workdir: Path, command: tuple[str, ...], option: str, day: str
) -> None:
    result = run_rapport(*command, day, cwd=workdir)
    assert result.returncode == 2, result.stderr
    assert f"'{option}': '{day}': not a date in YYYY-MM-DD form" in result.stderr


@pytest.mark.parametrize("as_json", [False, True])
def test_importing_a_directory_is_invalid_input_naming_it(workdir: Path, as_json: bool) -> None:
    """docs/import.md: a file that cannot be read, a directory among them, is exit 1 and
    with --json still the document. Click refused the directory first, as a usage error
    (exit 2, no document), before the importer's own message could say what it is."""
    (workdir / "customers.csv").mkdir()
    flags = ["--json"] if as_json else []
    result = run_rapport("import", "customers", "customers.csv", *flags, cwd=workdir)
    assert result.returncode == 1, result.stderr
    if as_json:
        document = json.loads(result.stdout)
        assert document["ok"] is False
        assert document["problems"][0]["message"] == "is a directory, not a file"
    else:
        assert result.stderr.strip() == "customers.csv: is a directory, not a file"


def test_a_pass_whose_sends_were_cut_off_does_not_say_nothing_was_due(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """SIGTERM during `rapport dispatch --once` with sends still at the provider when
    the grace period ended: stderr listed the messages cut off, exit 75, and stdout
    said 'dispatch: nothing due'. Messages were due, and were claimed and sent."""
    from rapport.engine.cli.daemon import _print_dispatch_report
    from rapport.engine.delivery.outcomes import DispatchReport

    _print_dispatch_report(DispatchReport(abandoned=[2, 3], released=5))
    out, err = capsys.readouterr()
    assert "nothing due" not in out
    assert out == "dispatch: no message finished (5 handed back unsent)\n"
    assert "sends cut off at the end of the grace period" in err and "messages 2, 3" in err

    _print_dispatch_report(DispatchReport())
    assert capsys.readouterr().out == "dispatch: nothing due\n"
