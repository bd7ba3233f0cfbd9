"""The ``rapport`` command as a user runs it: real files, messages, exit codes.

The commands run in this process through ``main()``, the console script's entry point
(``factories.run_rapport``); the console script itself runs as a real process for the
demo and for ``serve``.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from demo_store import shared_cli_demo
from factories import REPO, Ran, run_rapport

RAPPORT = str(Path(sys.executable).parent / "rapport")


def run(*args: str, cwd: Path, env: dict[str, str] | None = None) -> Ran:
    return run_rapport(*args, cwd=cwd, env=env)


@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    """A folder with a config.yaml that uses the repository's campaigns and templates,
    and a database at the head revision (a copy of the one migrated once per run)."""
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
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    return tmp_path


CUSTOMERS_CSV = """\
id,first_name,last_name,email,phone,locale,timezone,country,birthday,created_at
C1,سارا,احمدی,sara@example.com,+989121234567,fa_IR,Asia/Tehran,IR,1990-03-21,2024-01-02T10:00:00Z
C2,伟,王,not-an-email,+8613812345678,zh_CN,Asia/Shanghai,CN,1985-05-01,2024-01-02T10:00:00Z
C3,Alex,Morgan,alex@example.com,555-1234,en_US,America/New_York,US,1979-07-04,2024-01-02T10:00:00Z
C4,Emma,Smith,emma@example.com,,en_GB,Mars/Olympus,GB,1992-02-29,2024-01-02T10:00:00Z
C5,Liam,Brown,liam@example.com,+12025550123,en_US,America/Chicago,US,1988-12-24,2024-01-02T10:00:00Z
"""


def test_import_with_bad_rows_names_each_row_keeps_good_ones_and_exits_1(workdir: Path) -> None:
    (workdir / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    result = run("import", "customers", "customers.csv", cwd=workdir)
    assert result.returncode == 1
    errors = result.stderr.splitlines()
    assert any(line.startswith("customers.csv:3: email:") for line in errors), errors
    assert any(line.startswith("customers.csv:4: phone:") for line in errors), errors
    assert any(line.startswith("customers.csv:5: timezone:") for line in errors), errors
    with sqlite3.connect(workdir / "rapport.db") as db:
        kept = [row[0] for row in db.execute("select id from customer order by id")]
    assert kept == ["C1", "C5"]
    assert "2 accepted" in result.stdout and "3 rejected" in result.stdout


def test_reimporting_the_same_file_changes_nothing(workdir: Path) -> None:
    (workdir / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    run("import", "customers", "customers.csv", cwd=workdir)
    with sqlite3.connect(workdir / "rapport.db") as db:
        before = list(db.execute("select * from customer order by id"))
    again = run("import", "customers", "customers.csv", cwd=workdir)
    with sqlite3.connect(workdir / "rapport.db") as db:
        after = list(db.execute("select * from customer order by id"))
    assert before == after
    assert "0 inserted" in again.stdout


def test_missing_import_file_is_a_clear_error(workdir: Path) -> None:
    result = run("import", "orders", "nowhere.csv", cwd=workdir)
    assert result.returncode == 1
    assert "nowhere.csv" in result.stderr
    assert "Traceback" not in result.stderr


def test_malformed_date_is_a_usage_error(workdir: Path) -> None:
    result = run("plan", "--date", "tomorrow", cwd=workdir)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr


def test_invalid_config_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "database:\n  url: sqlite:///x.db\ndispatch:\n  batch_size: many\n", encoding="utf-8"
    )
    result = run("plan", cwd=tmp_path)
    assert result.returncode == 1
    assert "config.yaml:4: dispatch.batch_size:" in result.stderr


def bad_campaign_tree(tmp_path: Path) -> Path:
    campaigns, templates = tmp_path / "campaigns", tmp_path / "templates"
    campaigns.mkdir()
    for locale in ("en", "fa", "zh"):
        (templates / "broken" / locale).mkdir(parents=True)
        (templates / "broken" / locale / "email_subject.txt").write_text(
            "Hi {{ customer.first_name }}"
        )
        (templates / "broken" / locale / "email.txt").write_text(
            "Hello {{ customer.first_name }},\n\n{% if offer %}Your gift\n"
        )
        (templates / "undefined" / locale).mkdir(parents=True)
        (templates / "undefined" / locale / "email_subject.txt").write_text("Hi")
        (templates / "undefined" / locale / "email.txt").write_text(
            "Hello,\n\nyour code: {{ customer.coupon_code }}\n"
        )
    (campaigns / "unknown-key.yaml").write_text(
        "name: A\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\ncolour: red\n"
    )
    (campaigns / "wrong-type.yaml").write_text(
        "name: B\ntrigger:\n  type: birthday\n  days_before: soon\ntopic: birthday\n"
        "channels: [email]\n"
    )
    (campaigns / "broken.yaml").write_text(
        "name: C\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"
    )
    (campaigns / "undefined.yaml").write_text(
        "name: D\ntrigger: {type: birthday}\ntopic: birthday\nchannels: [email]\n"
    )
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n", encoding="utf-8"
    )
    return tmp_path


def test_campaigns_validate_names_file_line_and_problem(tmp_path: Path) -> None:
    root = bad_campaign_tree(tmp_path)
    result = run("campaigns", "validate", cwd=root)
    assert result.returncode == 1, result.stdout
    errors = result.stderr
    assert "campaigns/unknown-key.yaml:5: colour: unknown key" in errors
    assert "campaigns/wrong-type.yaml:4: trigger.days_before:" in errors
    assert "templates/broken/en/email.txt:3:" in errors
    assert "templates/undefined/en/email.txt:3:" in errors and "coupon_code" in errors
    assert "Traceback" not in errors


def test_shipped_campaigns_validate(workdir: Path) -> None:
    result = run("campaigns", "validate", cwd=workdir)
    assert result.returncode == 0, result.stderr
    shipped = len(list((REPO / "campaigns").glob("*.yaml")))
    assert f"{shipped} campaigns valid" in result.stdout


def test_demo_prints_summary_with_messages_in_english_persian_and_chinese(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    # `rapport demo --date 2026-11-26` as a process, run once per test run and shared
    # with test_demo_serve.py (demo_store.shared_cli_demo); it exits 0 or fails there.
    demo = shared_cli_demo(tmp_path_factory)
    out = demo.output
    assert "Thanksgiving Day (US)" in out
    for campaign in ("birthday", "holiday-offer", "reorder"):
        assert campaign in out
    assert "[en]" in out and "[fa]" in out and "[zh]" in out
    assert any("\u0600" <= ch <= "\u06ff" for ch in out)  # Persian script
    assert any("\u4e00" <= ch <= "\u9fff" for ch in out)  # Chinese characters
    outbox = demo.folder / "var" / "demo" / "outbox"
    assert len(list(outbox.glob("*.eml"))) > 0 and len(list(outbox.glob("*.json"))) > 0


def test_plan_twice_then_dispatch_once_sends_each_message_once_over_smtp(
    workdir: Path, smtp_sink
) -> None:
    sink, port = smtp_sink
    # A customer whose local time is around midday now, so today's window is open.
    offset = 12 - datetime.now(UTC).hour
    zone = f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"
    local_today = (datetime.now(UTC) + timedelta(hours=offset)).date()
    leap_day = (local_today.month, local_today.day) == (2, 29)
    birthday = date(1992, 2, 29) if leap_day else local_today.replace(year=1990)
    (workdir / "customers.csv").write_text(
        "id,first_name,last_name,email,phone,locale,timezone,country,birthday,created_at\n"
        f"N1,Noor,Ali,noor@example.com,,en_US,{zone},US,{birthday.isoformat()},\n"
        f"N2,Ning,Li,ning@example.com,,zh_CN,{zone},CN,{birthday.isoformat()},\n",
        encoding="utf-8",
    )
    (workdir / "consent.jsonl").write_text(
        "\n".join(
            json.dumps(
                {
                    "customer_id": c,
                    "channel": "email",
                    "topic": "birthday",
                    "status": "granted",
                    "source": "signup_form",
                    "captured_at": "2025-01-01T00:00:00Z",
                    "wording": "v1",
                }
            )
            for c in ("N1", "N2")
        )
        + "\n",
        encoding="utf-8",
    )
    assert run("import", "customers", "customers.csv", cwd=workdir).returncode == 0
    assert run("import", "consent", "consent.jsonl", cwd=workdir).returncode == 0
    env = {"RAPPORT_SMTP_URL": f"smtp://127.0.0.1:{port}"}
    day = local_today.isoformat()
    first = run("plan", "--date", day, "--json", cwd=workdir, env=env)
    second = run("plan", "--date", day, cwd=workdir, env=env)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    planned = [json.loads(line) for line in first.stdout.splitlines()]
    assert {p["customer_id"] for p in planned} == {"N1", "N2"}
    assert all(p["send_at"].endswith("Z") for p in planned)
    assert "0 new, 2 already planned" in second.stdout

    sent = run("dispatch", "--once", cwd=workdir, env=env)
    assert sent.returncode == 0, sent.stderr
    again = run("dispatch", "--once", cwd=workdir, env=env)
    assert "nothing due" in again.stdout
    assert sorted(m["rcpt_tos"][0] for m in sink.messages) == [
        "ning@example.com",
        "noor@example.com",
    ]


def test_explain_says_why_not(workdir: Path) -> None:
    (workdir / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    run("import", "customers", "customers.csv", cwd=workdir)
    result = run("explain", "C1", "--date", "2027-03-21", "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    decisions = {d["campaign"]: d for d in map(json.loads, result.stdout.splitlines())}
    assert decisions["birthday"]["reason"] == "no_consent"
    assert decisions["holiday-offer"]["reason"] == "stage"  # a prospect: no orders yet
    unknown = run("explain", "NOBODY", cwd=workdir)
    assert unknown.returncode == 1 and "NOBODY" in unknown.stderr


def test_operator_consent_edits_are_recorded_as_evidence(workdir: Path) -> None:
    (workdir / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    run("import", "customers", "customers.csv", cwd=workdir)
    granted = run(
        "consent",
        "grant",
        "C1",
        "--channel",
        "email",
        "--topic",
        "birthday",
        "--source",
        "paper_form",
        "--wording",
        "store-form-v1",
        cwd=workdir,
    )
    assert granted.returncode == 0, granted.stderr
    withdrawn = run(
        "consent", "withdraw", "C1", "--channel", "email", "--topic", "birthday", cwd=workdir
    )
    assert withdrawn.returncode == 0, withdrawn.stderr
    shown = run("consent", "show", "C1", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].split()[:3] == ["email", "birthday", "withdrawn"]
    evidence = [line for line in lines if "source=operator" in line]
    assert [line.split()[2] for line in evidence] == ["granted", "withdrawn"]


def test_consent_show_and_explain_never_print_raw_control_characters(workdir: Path) -> None:
    """A customer id and consent evidence stored before ids, sources and wordings were
    checked (inserted here straight into the tables): their bidi override (U+202E) and
    escape (ESC) are printed visibly, so they cannot reorder or drive the terminal."""
    from factories import insert_customer
    from sqlalchemy import create_engine

    from rapport.consent.store import grant

    engine = create_engine(f"sqlite:///{workdir / 'rapport.db'}")
    insert_customer(engine, "C5\u202e", email="c5@example.com")
    with engine.begin() as connection:
        grant(
            connection,
            "C5\u202e",
            "email",
            "birthday",
            source="check\u202eout",
            wording="v\x1b[2J1",
        )
    engine.dispose()
    shown = run("consent", "show", "C5\u202e", cwd=workdir)
    assert shown.returncode == 0, shown.stderr
    assert "source=check<U+202E>out wording=v\\x1b[2J1" in shown.stdout
    as_json = run("consent", "show", "C5\u202e", "--json", cwd=workdir)
    assert json.loads(as_json.stdout)["evidence"][0]["source"] == "check\u202eout"
    explained = run("explain", "C5\u202e", cwd=workdir)
    assert explained.returncode == 0, explained.stderr
    assert "customer C5<U+202E> on" in explained.stdout
    for out in (shown.stdout, as_json.stdout, explained.stdout):
        assert "\u202e" not in out and "\x1b" not in out


def test_consent_edit_with_unknown_topic_names_the_option(workdir: Path) -> None:
    (workdir / "customers.csv").write_text(CUSTOMERS_CSV, encoding="utf-8")
    run("import", "customers", "customers.csv", cwd=workdir)
    result = run(
        "consent",
        "grant",
        "C1",
        "--channel",
        "email",
        "--topic",
        "gossip",
        "--source",
        "paper_form",
        "--wording",
        "store-form-v1",
        cwd=workdir,
    )
    assert result.returncode == 1
    assert "--topic: unknown topic 'gossip'" in result.stderr


def test_run_once_plans_today_and_dispatches(workdir: Path) -> None:
    result = run("run", "--once", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "dispatch:" in result.stdout


def test_serve_runs_the_web_app(workdir: Path) -> None:
    import socket
    import time

    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    process = subprocess.Popen(
        [RAPPORT, "serve", "--port", str(port)],
        cwd=workdir,
        env=environment,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        assert response.json() == {"status": "ok"}
        assert httpx.get(f"http://127.0.0.1:{port}/unsubscribe/nope").status_code == 404
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_import_warns_about_unknown_columns_and_repeated_ids(workdir: Path) -> None:
    (workdir / "customers.csv").write_text(
        "id,first_name,locale,timezone,birth_date\n"
        "B1,Ann,en_US,America/New_York,1990-01-01\n"
        "B1,Anne,en_US,America/New_York,1990-01-01\n",
        encoding="utf-8",
    )
    result = run("import", "customers", "customers.csv", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "ignored unknown column: birth_date" in result.stderr
    assert "customers.csv:3: id: repeats the id of row 2" in result.stderr
    assert "1 repeated" in result.stdout


def test_import_prints_column_names_from_the_file_without_terminal_controls(
    workdir: Path,
) -> None:
    """A header's column names are the file's text: an unknown or repeated one is
    named on the operator's terminal, where an escape sequence (a title change, a
    cleared screen) or a bidi override would act. They are shown escaped, as ids and
    comments are elsewhere."""
    header = "id,first_name,locale,timezone,\x1b]0;pwned\x07,x\u202ey\n"
    (workdir / "customers.csv").write_text(
        header + "B1,Ann,en_US,America/New_York,1,2\n", encoding="utf-8"
    )
    (workdir / "twice.csv").write_text(
        "id,locale,timezone,\x1b[2J,\x1b[2J\nB2,en_US,UTC,1,2\n", encoding="utf-8"
    )
    unknown = run("import", "customers", "customers.csv", cwd=workdir)
    twice = run("import", "customers", "twice.csv", cwd=workdir)
    assert unknown.returncode == 0, unknown.stderr
    assert "ignored unknown columns: \\x1b]0;pwned\\x07, x<U+202E>y" in unknown.stderr
    assert twice.returncode == 1
    assert "column appears more than once: \\x1b[2j" in twice.stderr  # lower-cased
    for result in (unknown, twice):
        assert "\x1b" not in result.stderr + result.stdout
        assert "\u202e" not in result.stderr + result.stdout


def test_a_template_failing_for_one_customer_is_reported_without_personal_data(
    tmp_path: Path,
) -> None:
    import shutil

    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    subject = tmp_path / "templates" / "birthday" / "en" / "email_subject.txt"
    subject.write_text("Happy birthday {{ {}[customer.full_name] }}", encoding="utf-8")
    (tmp_path / "config.yaml").write_text("database: {url: 'sqlite:///rapport.db'}\n")
    assert run("db", "upgrade", cwd=tmp_path).returncode == 0
    # A day ahead of the real clock, so that `plan` sees every send window still open.
    day = date.today() + timedelta(days=3)
    if (day.month, day.day) == (2, 29):  # 1990 had no 29 February
        day += timedelta(days=1)
    birthday = day.replace(year=1990)
    (tmp_path / "customers.csv").write_text(
        "id,first_name,last_name,email,locale,timezone,country,birthday\n"
        f"H1,Zed,Secretname,zed@example.com,en_US,America/New_York,US,{birthday}\n"
        f"H2,سارا,احمدی,sara@example.com,fa_IR,Asia/Tehran,IR,{birthday}\n",
        encoding="utf-8",
    )
    (tmp_path / "consent.csv").write_text(
        "customer_id,channel,topic,status,source,captured_at,wording\n"
        "H1,email,birthday,granted,form,2025-01-01T00:00:00Z,v1\n"
        "H2,email,birthday,granted,form,2025-01-01T00:00:00Z,v1\n",
        encoding="utf-8",
    )
    assert run("import", "customers", "customers.csv", cwd=tmp_path).returncode == 0
    assert run("import", "consent", "consent.csv", cwd=tmp_path).returncode == 0
    result = run("plan", "--date", day.isoformat(), cwd=tmp_path)
    assert result.returncode == 1
    assert "templates/birthday/en/email_subject.txt:1" in result.stderr
    assert "H1" in result.stderr and "Secretname" not in result.stderr + result.stdout
    assert "1 new" in result.stdout  # the Persian customer's greeting was still planned


def test_a_past_date_can_be_dry_run_and_explained(workdir: Path) -> None:
    (workdir / "customers.csv").write_text(
        "id,first_name,last_name,email,locale,timezone,country,birthday\n"
        "OLD1,Mina,Rahimi,mina@example.com,fa_IR,Asia/Tehran,IR,1990-06-01\n",
        encoding="utf-8",
    )
    (workdir / "consent.csv").write_text(
        "customer_id,channel,topic,status,source,captured_at,wording\n"
        "OLD1,email,birthday,granted,form,2024-01-01T00:00:00Z,v1\n",
        encoding="utf-8",
    )
    run("import", "customers", "customers.csv", cwd=workdir)
    run("import", "consent", "consent.csv", cwd=workdir)
    planned = run("plan", "--date", "2025-06-01", "--dry-run", "--json", cwd=workdir)
    assert [json.loads(line)["customer_id"] for line in planned.stdout.splitlines()] == ["OLD1"]
    explained = run("explain", "OLD1", "--date", "2025-06-01", "--json", cwd=workdir)
    birthday = [json.loads(x) for x in explained.stdout.splitlines() if '"birthday"' in x]
    assert birthday[0]["selected"] is True
    with sqlite3.connect(workdir / "rapport.db") as db:  # a dry run writes nothing
        assert db.execute("select count(*) from outbox_message").fetchone() == (0,)
