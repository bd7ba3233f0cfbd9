"""``--json`` on ``import``, ``campaigns validate``, ``consent show``, ``dispatch --once``
and ``outbox prune`` (issue 16, point 10; README.md): one JSON document on stdout with the
same keys whatever happened, problems as file/line/field/message, and the exit codes the
commands have without it; a usage error prints no document."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from factories import REPO, insert_customer, run_rapport
from sqlalchemy import insert

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX, MessageStatus
from rapport.engine.customers.sample import generate
from rapport.engine.delivery.outbox import outbox_row

DAY = datetime.now(UTC).date() - timedelta(days=30)
PROBLEM_KEYS = {"file", "line", "field", "message"}
IMPORT_KEYS = {
    "ok",
    "kind",
    "file",
    "rows_read",
    "accepted",
    "inserted",
    "updated",
    "unchanged",
    "repeated",
    "conflicting",
    "rejected",
    "erased_skipped",
    "problems",
    "problems_not_listed",
    "warnings",
    "skipped",
    "ignored_columns",
}
VALIDATE_KEYS = {"ok", "campaigns", "locales", "problems", "warnings"}
CONSENT_KEYS = {"ok", "customer_id", "states", "evidence", "problems"}
DISPATCH_KEYS = {
    "ok",
    "outcomes",
    "reasons",
    "released",
    "lost_leases",
    "abandoned",
    "unwritten",
    "database_error",
    "waiting",
    "problems",
}
PRUNE_KEYS = {"ok", "cutoff", "older_than_seconds", "dry_run", "pruned", "problems"}


def write_config(folder: Path, extra: str = "", campaigns: Path = REPO / "campaigns") -> None:
    (folder / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{folder / 'rapport.db'}'}}\n"
        f"campaigns_dir: {campaigns}\ntemplates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n" + extra,
        encoding="utf-8",
    )


def document(result: Any, keys: set[str]) -> dict[str, Any]:
    """The one JSON document on stdout, with exactly ``keys``."""
    found = json.loads(result.stdout)
    assert set(found) == keys, result.stdout
    for problem in found.get("problems", []) + found.get("warnings", []):
        assert set(problem) == PROBLEM_KEYS
    return found


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite store with a sample's customers, orders and consent imported."""
    folder = tmp_path_factory.mktemp("json")
    write_config(folder)
    assert run_rapport("db", "upgrade", cwd=folder).returncode == 0
    files = generate(folder / "data", DAY, customers=24, seed=5)
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("consent", files.consent),
    ):
        result = run_rapport("import", kind, str(path), "--json", cwd=folder)
        assert result.returncode == 0, result.stdout + result.stderr
    return folder


# -- import ---------------------------------------------------------------------------------


def test_import_json_counts_the_rows(store: Path) -> None:
    again = run_rapport(
        "import", "customers", str(store / "data" / "customers.csv"), "--json", cwd=store
    )
    found = document(again, IMPORT_KEYS)
    assert again.returncode == 0 and again.stderr == ""
    assert found["ok"] is True and found["kind"] == "customers"
    assert found["rows_read"] == found["accepted"] == found["unchanged"] == 24
    assert found["problems"] == [] and found["rejected"] == 0


def test_import_json_lists_each_bad_row_with_line_field_and_message(store: Path) -> None:
    path = store / "bad-orders.csv"
    path.write_text(
        "id,customer_id,sku,quantity,amount,currency,ordered_at,colour\n"
        "J1,C00001,TEA,1,10,USD,2024-01-01T10:00:00Z,red\n"
        "J2,C00001,TEA,1,10,USD,2999-05-31T09:00:00Z,red\n"
        "J3,nobody,TEA,1,-4,ZZZ,2024-01-01T10:00:00Z,red\n",
        encoding="utf-8",
    )
    result = run_rapport("import", "orders", str(path), "--json", cwd=store)
    found = document(result, IMPORT_KEYS)
    assert result.returncode == 1
    assert found["ok"] is False and (found["accepted"], found["rejected"]) == (1, 2)
    assert found["ignored_columns"] == ["colour"]
    where = [(p["file"], p["line"], p["field"]) for p in found["problems"]]
    assert (str(path), 3, "ordered_at") in where
    assert {(str(path), 4, field) for field in ("amount", "currency", "customer_id")} <= set(where)
    future = next(p for p in found["problems"] if p["field"] == "ordered_at")
    assert future["message"].startswith("is more than a day in the future")


def test_import_json_reports_a_file_it_cannot_read(store: Path) -> None:
    result = run_rapport("import", "orders", str(store / "missing.csv"), "--json", cwd=store)
    found = document(result, IMPORT_KEYS)
    assert result.returncode == 1 and found["ok"] is False and found["rows_read"] == 0
    assert found["problems"] == [
        {
            "file": str(store / "missing.csv"),
            "line": None,
            "field": None,
            "message": "file not found",
        }
    ]


# -- campaigns validate ---------------------------------------------------------------------


def test_validate_json_lists_the_campaigns(store: Path) -> None:
    result = run_rapport("campaigns", "validate", "--json", cwd=store)
    found = document(result, VALIDATE_KEYS)
    assert result.returncode == 0, result.stdout
    assert found["ok"] is True and found["problems"] == []
    assert "birthday" in found["campaigns"] and found["locales"] == ["en", "fa", "zh"]


def test_validate_json_gives_each_problem_its_file_and_line(tmp_path: Path) -> None:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "broken.yaml").write_text(
        "name: Broken\ntrigger:\n  type: birthday\ntopic: birthday\nchannels: [pigeon]\n",
        encoding="utf-8",
    )
    write_config(tmp_path, campaigns=campaigns)
    result = run_rapport("campaigns", "validate", "--json", cwd=tmp_path)
    found = document(result, VALIDATE_KEYS)
    assert result.returncode == 1 and found["ok"] is False
    assert any(p["file"].endswith("broken.yaml") and p["line"] == 5 for p in found["problems"])


def test_validate_json_reports_an_invalid_configuration(tmp_path: Path) -> None:
    write_config(tmp_path, "dispatch: {batch_sise: 10}\n")
    result = run_rapport("campaigns", "validate", "--json", cwd=tmp_path)
    found = document(result, VALIDATE_KEYS)
    assert result.returncode == 1 and found["ok"] is False
    assert [p["file"].endswith("config.yaml") for p in found["problems"]] == [True]
    assert found["problems"][0]["line"] is not None


# -- consent show --------------------------------------------------------------------------


def test_consent_show_json_has_the_states_and_the_trail(store: Path) -> None:
    text = run_rapport("consent", "show", "C00001", cwd=store)
    result = run_rapport("consent", "show", "C00001", "--json", cwd=store)
    found = document(result, CONSENT_KEYS)
    assert result.returncode == text.returncode == 0
    assert found["ok"] is True and found["customer_id"] == "C00001"
    assert len(found["evidence"]) == text.stdout.count("source=")
    assert len(found["states"]) == len(text.stdout.split("evidence:")[0].splitlines())
    for state in found["states"]:
        assert set(state) == {"channel", "topic", "status", "since"}
        assert state["since"].endswith("Z")
    for event in found["evidence"]:
        assert {"captured_at", "channel", "topic", "status", "source", "wording"} <= set(event)


def test_consent_show_json_filters_like_the_text(store: Path) -> None:
    result = run_rapport("consent", "show", "C00001", "--channel", "sms", "--json", cwd=store)
    found = document(result, CONSENT_KEYS)
    assert all(item["channel"] == "sms" for item in found["states"] + found["evidence"])


def test_consent_show_json_for_an_unknown_customer_is_exit_1_with_the_problem(store: Path) -> None:
    result = run_rapport("consent", "show", "nobody", "--json", cwd=store)
    found = document(result, CONSENT_KEYS)
    assert result.returncode == 1 and found["ok"] is False
    assert found["states"] == found["evidence"] == []
    assert "nobody" in found["problems"][0]["message"]


# -- dispatch ------------------------------------------------------------------------------


def test_dispatch_once_json_counts_the_outcomes(store: Path) -> None:
    engine = make_engine(f"sqlite:///{store / 'rapport.db'}")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(OUTBOX),
            [
                outbox_row(
                    customer_id=f"C{n:05d}",
                    campaign="json-test",
                    occasion="json-test",
                    channel="email",
                    topic="offers",
                    locale="en",
                    status=MessageStatus.QUEUED,
                    send_at=now - timedelta(minutes=1),
                    expires_at=now - timedelta(seconds=1) if n == 1 else None,
                    created_at=now,
                    subject="Hi",
                    body_text="Hello",
                )
                for n in (1, 2, 3)
            ],
        )
    engine.dispose()
    result = run_rapport("dispatch", "--once", "--json", cwd=store)
    found = document(result, DISPATCH_KEYS)
    assert result.returncode == 0, result.stderr
    assert found["ok"] is True and found["abandoned"] == found["unwritten"] == []
    counted = sum(outcome["count"] for outcome in found["outcomes"])
    assert counted == 3
    assert {"channel": "email", "status": "expired", "count": 1} in found["outcomes"]
    assert all(set(r) == {"channel", "status", "reason", "count"} for r in found["reasons"])

    nothing = run_rapport("dispatch", "--once", "--json", cwd=store)
    assert document(nothing, DISPATCH_KEYS)["outcomes"] == []


@pytest.fixture
def push_waiting(tmp_path: Path) -> Path:
    """A store whose outbox holds 2 due messages of channel "push", which its
    config.yaml does not configure (a newer daemon planned them)."""
    write_config(tmp_path)
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    engine = make_engine(f"sqlite:///{tmp_path / 'rapport.db'}")
    insert_customer(engine, "C1")
    now = datetime.now(UTC)
    with engine.begin() as connection:
        connection.execute(
            insert(OUTBOX),
            [
                outbox_row(
                    customer_id="C1",
                    campaign="push-test",
                    occasion=str(n),
                    channel="push",
                    topic="offers",
                    locale="en",
                    status=MessageStatus.QUEUED,
                    send_at=now - timedelta(minutes=1),
                    created_at=now,
                    body_text="Hello",
                )
                for n in (1, 2)
            ],
        )
    engine.dispose()
    return tmp_path


def test_dispatch_once_json_counts_the_messages_waiting_for_an_unconfigured_channel(
    push_waiting: Path,
) -> None:
    result = run_rapport("dispatch", "--once", "--json", cwd=push_waiting)
    found = document(result, DISPATCH_KEYS)
    assert result.returncode == 0, result.stderr
    assert found["ok"] is True and found["outcomes"] == []
    assert found["waiting"] == [{"channel": "push", "count": 2}]


def test_dispatch_once_says_how_many_messages_wait_for_an_unconfigured_channel(
    push_waiting: Path,
) -> None:
    result = run_rapport("dispatch", "--once", cwd=push_waiting)
    assert result.returncode == 0, result.stderr
    assert "nothing due" not in result.stdout
    assert "push: 2 due messages wait" in result.stdout, result.stdout


def test_dispatch_json_needs_once(store: Path) -> None:
    result = run_rapport("dispatch", "--json", cwd=store)
    assert result.returncode == 2 and result.stdout == ""
    assert "--json needs --once" in result.stderr


def test_dispatch_json_on_a_database_without_schema_is_exit_1_with_the_problem(
    tmp_path: Path,
) -> None:
    write_config(tmp_path)
    result = run_rapport("dispatch", "--once", "--json", cwd=tmp_path)
    found = document(result, DISPATCH_KEYS)
    assert result.returncode == 1 and found["ok"] is False
    assert "rapport db upgrade" in found["problems"][0]["message"]


# -- outbox prune --------------------------------------------------------------------------


def test_outbox_prune_json_says_what_it_would_prune(store: Path) -> None:
    result = run_rapport("outbox", "prune", "--older-than", "36h", "--dry-run", "--json", cwd=store)
    found = document(result, PRUNE_KEYS)
    assert result.returncode == 0 and result.stderr == ""
    assert found["ok"] is True and found["dry_run"] is True and found["problems"] == []
    assert found["older_than_seconds"] == 36 * 3600 and found["cutoff"].endswith("Z")
    assert isinstance(found["pruned"], int)


def test_outbox_prune_json_on_a_database_without_schema_is_exit_1_with_the_problem(
    tmp_path: Path,
) -> None:
    write_config(tmp_path)
    result = run_rapport("outbox", "prune", "--json", cwd=tmp_path)
    found = document(result, PRUNE_KEYS)
    assert result.returncode == 1 and found["ok"] is False and found["pruned"] == 0
    assert "rapport db upgrade" in found["problems"][0]["message"]


def test_outbox_prune_json_prints_no_document_for_a_usage_error(store: Path) -> None:
    result = run_rapport("outbox", "prune", "--older-than", "0d", "--json", cwd=store)
    assert result.returncode == 2 and result.stdout == ""
    assert "'--older-than'" in result.stderr


# -- the environment -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("command", "keys"),
    [
        (("import", "customers", "data/customers.csv"), IMPORT_KEYS),
        (("campaigns", "validate"), VALIDATE_KEYS),
        (("consent", "show", "C00001"), CONSENT_KEYS),
        (("dispatch", "--once"), DISPATCH_KEYS),
        (("outbox", "prune", "--dry-run"), PRUNE_KEYS),
    ],
)
def test_a_bad_log_level_is_a_problem_of_the_json_document(
    store: Path, command: tuple[str, ...], keys: set[str]
) -> None:
    """docs/configuration.md: another RAPPORT_LOG_LEVEL is refused, exit 1: a user's
    mistake, which --json reports in the document. It printed only its stderr line."""
    result = run_rapport(*command, "--json", cwd=store, env={"RAPPORT_LOG_LEVEL": "verbose"})
    found = document(result, keys)
    assert result.returncode == 1 and found["ok"] is False, result.stderr
    (problem,) = found["problems"]
    assert problem["message"].startswith("RAPPORT_LOG_LEVEL='verbose' is not a log level")


def test_a_bad_log_level_stops_a_command_without_json_before_it_does_anything(
    tmp_path: Path,
) -> None:
    result = run_rapport("init", "here", cwd=tmp_path, env={"RAPPORT_LOG_LEVEL": "verbose"})
    assert result.returncode == 1 and result.stdout == ""
    assert result.stderr.startswith("error: RAPPORT_LOG_LEVEL='verbose' is not a log level")
    assert not (tmp_path / "here").exists()
