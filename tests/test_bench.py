"""The benchmark's code paths on a tiny data set: right counts, no timing assertions."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import pytest
from factories import REPO

if str(REPO) not in sys.path:  # `bench` is a top-level folder, not an installed package
    sys.path.insert(0, str(REPO))

from bench import report, scenarios
from bench.run import run, save

#: The bench's own import path, kept before the fixture below replaces it.
FULL_IMPORT_PATH = scenarios.import_path


@pytest.fixture(autouse=True)
def _rapports_own_bytecode_only(monkeypatch: pytest.MonkeyPatch) -> None:
    """These runs check the bench's code paths, not start-up time: compiling the
    standard library and site-packages into the bench's bytecode cache, about 40 s of
    CPU on a fresh checkout, is left to real runs (its folders are checked below)."""
    monkeypatch.setattr(scenarios, "import_path", lambda env: scenarios.rapport_folders())


def test_a_tiny_run_plans_delivers_and_repeats_nothing(tmp_path: Path) -> None:
    result = run("sqlite", 300, deliver_limit=40, concurrency=2)

    assert result["data"]["customer"] == 300
    assert result["data"]["consent_state"] > 0
    # Every twentieth customer starts the broadcast day at the daily cap.
    assert result["data"]["outbox_message"] == 15

    broadcast = result["scenarios"]["broadcast"]
    assert broadcast["customers"] == 300
    assert broadcast["planned"] > 0
    assert broadcast["inserted"] == broadcast["planned"]
    assert broadcast["render_errors"] == 0
    # The pre-filter reads only customers with consent to offers; the rest are counted.
    assert 0 < broadcast["candidates"] < broadcast["customers"]
    assert "no_consent" not in broadcast["skipped"]
    assert broadcast["skipped"].get("cap_reached", 0) > 0
    # The one-process pass (for stage timings) planned the same messages.
    one_process = result["scenarios"]["broadcast_one_process"]
    assert one_process["inserted"] == broadcast["inserted"]
    assert broadcast["stages"]["select"]["items"] == broadcast["candidates"]
    # Every eighth message was also rendered with raw Jinja, for the paired ceiling.
    pairs = broadcast["stages"]["render_pairs_raw"]["items"]
    assert pairs == broadcast["stages"]["render_pairs_engine"]["items"]
    assert pairs >= broadcast["planned"] // 8 - 2
    summary = broadcast["render_pairs"]
    assert summary["pairs"] == pairs
    assert 0 < summary["p25"] <= summary["median"] <= summary["p75"]
    # Batched reads: a handful of statements for the whole run, not one per customer.
    assert broadcast["statements"] < 50

    repeat = result["scenarios"]["repeat"]
    assert repeat["inserted"] == 0
    assert repeat["planned"] == 0
    assert repeat["customers"] == 300

    email = result["delivery"]["email"]
    sms = result["delivery"]["sms"]
    assert email["sink_count"] == email["outcomes"].get("email:sent", 0) > 0
    assert email["sink_count"] <= 40
    assert sms["sink_count"] == sms["outcomes"].get("sms:sent", 0) > 0

    ceilings = result["ceilings"]
    assert ceilings["fetch"]["customers"] == broadcast["candidates"]
    assert ceilings["render"]["messages"] == broadcast["planned"]
    assert ceilings["insert"]["rows"] == broadcast["inserted"]
    assert ceilings["smtp"]["messages"] == email["sink_count"]
    assert ceilings["http"]["messages"] == sms["sink_count"]
    assert ceilings["http_wire"]["messages"] == sms["sink_count"]

    path = save(result, tmp_path)
    assert json.loads(path.read_text(encoding="utf-8"))["customers"] == 300
    latest = report.write_latest(tmp_path).read_text(encoding="utf-8")
    assert "render >= 0.8 of raw Jinja (paired, median)" in latest
    assert "repeat tick adds 0 rows | 0 | yes" in latest
    assert "sms vs raw loop on the adapter's own wire (reported)" in latest


def test_the_mime_ceiling_builds_messages_that_parse_back() -> None:
    import email
    import email.policy

    from bench.ceilings import minimal_mime

    data = minimal_mime(
        "Rapport <hello@example.com>",
        "c1@example.com",
        "تخفیف ۲۰٪ برای شما — 节日快乐",
        "<k1@rapport.example>",
        "سلام سارا\nLine two",
        "<p>سلام</p>",
    )
    assert b"\n" not in data.replace(b"\r\n", b"")
    parsed = email.message_from_bytes(data, policy=email.policy.default)
    assert str(parsed["Subject"]) == "تخفیف ۲۰٪ برای شما — 节日快乐"
    text = parsed.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    html = parsed.get_body(("html",)).get_content()  # type: ignore[union-attr]
    assert text.replace("\r\n", "\n") == "سلام سارا\nLine two"
    assert html == "<p>سلام</p>"


def test_the_startup_run_times_help_and_the_demos_explain(tmp_path: Path) -> None:
    from bench import startup

    small = ("--customers", "20", "--history-days", "1")
    result = startup.measure(tmp_path, runs=1, demo_args=small, compiled=False)

    help_, explain = result["commands"]["help"], result["commands"]["explain"]
    assert help_["command"] == "rapport --help"
    assert explain["command"].startswith("rapport --config config.yaml explain C0")
    assert len(help_["samples"]) == len(explain["samples"]) == 1
    assert help_["min"] <= help_["median"] <= help_["max"]
    assert startup.latest(tmp_path) is None
    startup.save(result, tmp_path)
    assert startup.latest(tmp_path) == result
    table = report.write_latest(tmp_path).read_text(encoding="utf-8")
    assert "| `rapport --help` |" in table and "<= 0.6 s" in table


def test_with_postfixs_sink_the_dispatch_command_sends_and_smtp_source_is_measured() -> None:
    from bench import postfix

    try:
        postfix.unpacked()
    except (postfix.PostfixUnavailable, OSError) as exc:  # no apt-get here (not Debian)
        pytest.skip(f"postfix cannot be unpacked here: {exc}")
    result = run("sqlite", 300, deliver_limit=40, concurrency=2, email_sink="smtp-sink")

    email = result["delivery"]["email"]
    assert email["command"] is True
    assert email["sink_count"] == email["outcomes"]["email:sent"] > 0
    sources = result["ceilings"]["smtp_source"]
    assert sources["connect"]["messages"] == sources["reuse"]["messages"] == email["sink_count"]
    # The command runs with an smtp:// URL's defaults, and smtp-source as many sessions.
    assert sources["reuse"]["sessions"] == 16
    targets = {name for name, _, _ in report.targets(result)}
    assert "email >= 0.5 of smtp-source (its default: a connection a message)" in targets


def test_the_statement_profile_times_each_statement_of_a_broadcast(tmp_path: Path) -> None:
    from bench import statements

    out = tmp_path / "statements.txt"
    assert statements.main(["--customers", "300", "--db", "sqlite", "--out", str(out)]) == 0
    text = out.read_text(encoding="utf-8")
    assert text.startswith("# sqlite, 300 customers: broadcast in one process")
    assert "FROM customer WHERE" in text
    assert "[call] rapport.engine.delivery.outbox.enqueue" in text


def _sizing_phases_hold_together(result: dict[str, Any]) -> dict[str, Any]:
    """What every sizing run must show, whatever the database: the broadcast planned
    once, nothing more the second time, and both channels' messages in their sinks."""
    phases = {name: value for name, value in result.items() if isinstance(value, dict)}
    first, again = phases["broadcast_one_process"], phases["repeat_one_process"]
    assert first["planned"] == first["inserted"] > 0
    assert again["inserted"] == 0 and again["already_planned"] == first["planned"]
    assert phases["broadcast_all_processes"]["inserted"] == first["planned"]
    assert first["client_cpu_seconds"] > 0
    email, sms = phases["dispatch_email"], phases["dispatch_sms"]
    assert email["command"] is True
    assert email["sink_count"] == email["outcomes"]["email:sent"] > 0
    assert sms["sink_count"] == sms["outcomes"]["sms:sent"] > 0
    return phases


def test_the_sizing_run_measures_each_phase_on_sqlite(tmp_path: Path) -> None:
    from bench import sizing

    result = sizing.measure("sqlite", 300, deliver_limit=20)

    phases = _sizing_phases_hold_together(result)
    assert phases["sizes_after_broadcast"]["database_bytes"] > 0
    written = sizing.save(result, tmp_path)
    assert written.name.endswith("-sqlite-300.json")


def test_the_sizing_run_counts_rows_wal_and_table_sizes_on_postgresql(
    postgres_admin: Any,
) -> None:
    from bench import sizing

    result = sizing.measure("postgresql", 300, deliver_limit=20, settle=0.0)

    phases = _sizing_phases_hold_together(result)
    first = phases["broadcast_one_process"]
    # The WAL is read between the phase's LSNs (the counters may lag without the wait).
    assert first["wal"]["records"] > 0 and first["wal"]["bytes"] > first["wal"]["fpi_bytes"]
    outbox = phases["sizes_after_broadcast"]["tables"]["outbox_message"]
    preloaded = phases["sizes_after_load"]["tables"]["outbox_message"]["rows"]
    assert outbox["rows"] == preloaded + first["planned"]
    assert outbox["total"] == outbox["heap_toast"] + outbox["indexes"]


def test_the_dispatch_command_starts_with_compiled_bytecode_as_an_install_does(
    tmp_path: Path,
) -> None:
    import rapport.channels
    import rapport.engine
    from bench.scenarios import installed_bytecode

    ours = [str(p) for pkg in (rapport.engine, rapport.channels) for p in pkg.__path__]
    env = installed_bytecode(
        {"PYTHONDONTWRITEBYTECODE": "1", "PATH": "/usr/bin"}, tmp_path, folders=ours
    )

    assert "PYTHONDONTWRITEBYTECODE" not in env
    assert env["PYTHONPYCACHEPREFIX"] == str(tmp_path)
    compiled = {p.name for p in tmp_path.rglob("*.pyc")}
    tag = sys.implementation.cache_tag
    assert {f"dispatch.{tag}.pyc", f"smtp_wire.{tag}.pyc", f"main.{tag}.pyc"} <= compiled


def test_bytecode_is_compiled_for_the_libraries_and_standard_library_too() -> None:
    """PYTHONPYCACHEPREFIX moves every module's bytecode, not only Rapport's: without
    the libraries compiled into it, the measured command compiled SQLAlchemy and the
    rest from source, about 1.6 s of CPU."""
    import asyncio

    import sqlalchemy

    import rapport.channels

    folders = {str(Path(p).resolve()) for p in FULL_IMPORT_PATH(dict(os.environ))}

    assert str(Path(sqlalchemy.__file__).resolve().parent.parent) in folders
    assert str(Path(asyncio.__file__).resolve().parent.parent) in folders
    assert {str(Path(p).resolve()) for p in rapport.channels.__path__} <= folders
