"""``rapport consent grant`` needs the proof: where the person agreed and to which text.

Without ``--source`` or ``--wording`` a grant is refused as a usage error (exit 2) that
names the missing options, and nothing is recorded; with them the evidence carries
``operator:<SOURCE>`` and the wording version, and ``consent show`` prints both. A
withdrawal needs neither. Run in this process against SQLite and PostgreSQL (the
``migrated_url`` fixture, given as ``RAPPORT_DATABASE_URL``).
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import REPO, Ran, consent_trail, insert_customer, run_rapport
from sqlalchemy import Engine

from rapport.consent.privacy import erase_customer
from rapport.engine.core.db import make_engine


@pytest.fixture
def store(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    insert_customer(engine, "C1", locale="fa_IR", timezone="Asia/Tehran", phone="+989121234567")
    yield engine
    engine.dispose()


@pytest.fixture
def run(tmp_path: Path, migrated_url: str, store: Engine):  # type: ignore[no-untyped-def]
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            campaigns_dir: {REPO / "campaigns"}
            templates_dir: {REPO / "templates"}
            """
        ),
        encoding="utf-8",
    )

    def rapport(*args: str) -> Ran:
        return run_rapport(*args, cwd=tmp_path, env={"RAPPORT_DATABASE_URL": migrated_url})

    return rapport


GRANT = ("consent", "grant", "C1", "--channel", "sms", "--topic", "offers")


@pytest.mark.parametrize(
    ("options", "named"),
    [
        ((), "--source and --wording are required"),
        (("--source", "paper_form"), "--wording is required"),
        (("--wording", "store-form-2025-03"), "--source is required"),
        (("--source", "", "--wording", "v1"), "--source is required"),
        (("--source", "  ", "--wording", "v1"), "--source: must not be empty"),
        (("--source", "paper_form", "--wording", "x" * 201), "--wording: longer than 200"),
        (("--source", "p" * 60, "--wording", "v1"), "--source: longer than 55 characters"),
    ],
)
def test_a_grant_without_its_source_and_wording_is_a_usage_error_naming_them(
    run, store: Engine, options: tuple[str, ...], named: str
) -> None:  # type: ignore[no-untyped-def]
    result = run(*GRANT, *options)

    assert result.returncode == 2, result.stdout
    assert named in result.stderr
    assert consent_trail(store, "C1") == []


def test_a_grant_records_operator_source_and_wording_and_counts_at_once(run, store: Engine) -> None:  # type: ignore[no-untyped-def]
    result = run(*GRANT, "--source", "paper_form", "--wording", "store-form-2025-03")
    assert result.returncode == 0, result.stderr

    [event] = consent_trail(store, "C1")
    assert (event.status, event.source, event.wording) == (
        "granted",
        "operator:paper_form",
        "store-form-2025-03",
    )
    shown = run("consent", "show", "C1")
    assert shown.stdout.splitlines()[0].split()[:3] == ["sms", "offers", "granted"]
    assert "source=operator:paper_form wording=store-form-2025-03" in shown.stdout


def test_a_withdrawal_needs_no_source_but_records_one_given(run, store: Engine) -> None:  # type: ignore[no-untyped-def]
    withdraw = ("consent", "withdraw", "C1", "--channel", "sms", "--topic", "offers")
    assert run(*withdraw).returncode == 0
    assert run(*withdraw, "--source", "phone_call").returncode == 0

    assert [(e.status, e.source, e.wording) for e in consent_trail(store, "C1")] == [
        ("withdrawn", "operator", None),
        ("withdrawn", "operator:phone_call", None),
    ]


def test_the_help_names_both_options(run) -> None:  # type: ignore[no-untyped-def]
    result = run("consent", "grant", "--help")
    assert "--source" in result.stdout and "--wording" in result.stdout
    assert "required" in result.stdout


@pytest.mark.parametrize(
    "edit",
    [
        (*GRANT, "--source", "paper_form", "--wording", "store-form-2025-03"),
        ("consent", "withdraw", "C1", "--channel", "sms", "--topic", "offers"),
    ],
)
def test_nothing_is_recorded_for_a_customer_erased_on_request(
    run, store: Engine, edit: tuple[str, ...]
) -> None:  # type: ignore[no-untyped-def]
    """As import and the API skip their rows (issue 16, point 4): an erasure is never
    refilled, by an operator's edit either; a new sign-up is a new customer id."""
    with store.begin() as connection:
        erase_customer(connection, "C1", datetime(2026, 12, 5, 10, tzinfo=UTC))
    before = consent_trail(store, "C1")

    result = run(*edit)

    assert result.returncode == 1, result.stdout
    assert result.stderr == (
        "error: customer 'C1' was erased on request on 2026-12-05: nothing is recorded "
        "for them (a new sign-up is a new customer id)\n"
    )
    assert consent_trail(store, "C1") == before


def test_consent_show_gives_a_web_grants_ip_address_user_agent_and_recording_time(
    run, store: Engine
) -> None:  # type: ignore[no-untyped-def]
    """The proof of a consent given on the web includes where it came from (SPEC: "for
    web, IP and user agent"); the operator's view shows them, and when the fact was
    recorded beside when it was captured (an import may bring an old fact late)."""
    from rapport.consent.store import grant

    captured = datetime(2026, 3, 1, 9, 30, tzinfo=UTC)
    recorded = datetime(2026, 3, 2, 8, 0, tzinfo=UTC)
    with store.begin() as connection:
        grant(
            connection,
            "C1",
            "email",
            "offers",
            source="preference_center",
            captured_at=captured,
            clock=lambda: recorded,
            wording="preference-center-v2",
            ip="203.0.113.7",
            user_agent="Mozilla/5.0 (Android 14) \x1b[2J",
        )

    shown = run("consent", "show", "C1")
    assert shown.returncode == 0, shown.stderr
    [line] = [line for line in shown.stdout.splitlines() if "source=" in line]
    assert "recorded=2026-03-02T08:00:00Z" in line
    assert "ip=203.0.113.7" in line
    assert 'user_agent="Mozilla/5.0 (Android 14) \\x1b[2J"' in line
    as_json = run("consent", "show", "C1", "--json")
    [event] = json.loads(as_json.stdout)["evidence"]
    assert event["ip"] == "203.0.113.7"
    assert event["user_agent"] == "Mozilla/5.0 (Android 14) \x1b[2J"
    assert event["recorded_at"] == "2026-03-02T08:00:00Z"
