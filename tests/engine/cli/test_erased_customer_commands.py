"""``rapport explain``, ``preview --customer`` and ``send-test --customer`` refuse a
customer erased on request (exit 1, the id and the erasure's day, nothing of the
person), as ``consent grant`` does: they ran as for anyone else, on the emptied profile,
and never said the customer was gone (an explain of 'no consent', a preview greeting
nobody, a test message built on her id). ``customers export`` of an erased customer
still answers an access request with what the erasure kept. Run in this process on
SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
import textwrap
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from factories import REPO, Ran, insert_customer, run_rapport
from sqlalchemy import Engine

from rapport.consent.privacy import erase_customer
from rapport.engine.core.db import make_engine

GONE, KEPT = "مشتری۱", "C2"
REFUSED = f"error: customer {GONE!r} was erased on request on 2026-12-05: "
#: What the erased customer's row held: none of it may be said.
PERSONAL = ["شبنم", "نوری", "gone@example.com", "+989121234567"]


@pytest.fixture
def store(migrated_url: str) -> Iterator[Engine]:
    engine = make_engine(migrated_url)
    insert_customer(
        engine, GONE, first_name="شبنم", last_name="نوری\u200cزاده",
        email="gone@example.com", phone="+989121234567",
    )  # fmt: skip
    insert_customer(engine, KEPT, first_name="娜", last_name="王", email="c2@example.com")
    with engine.begin() as connection:
        erase_customer(connection, GONE, datetime(2026, 12, 5, 10, tzinfo=UTC))
    yield engine
    engine.dispose()


@pytest.fixture
def run(tmp_path: Path, migrated_url: str, store: Engine) -> Callable[..., Ran]:
    (tmp_path / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            campaigns_dir: {REPO / "campaigns"}
            templates_dir: {REPO / "templates"}
            channels:
              email: {{adapter: file, kind: email, path: outbox}}
              sms: {{adapter: file, kind: sms, path: outbox}}
            """
        ),
        encoding="utf-8",
    )

    def rapport(*args: str) -> Ran:
        return run_rapport(*args, cwd=tmp_path, env={"RAPPORT_DATABASE_URL": migrated_url})

    return rapport


def assert_refused(ran: Ran, consequence: str) -> None:
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert ran.stderr == REFUSED + consequence + "\n"
    assert ran.stdout == ""
    assert not any(value in ran.stderr for value in PERSONAL)


def test_explain_refuses_an_erased_customer(run: Callable[..., Ran]) -> None:
    assert_refused(
        run("explain", GONE, "--date", "2026-12-08"),
        "nothing is planned or sent for them",
    )


def test_explain_of_several_customers_refuses_when_one_is_erased(
    run: Callable[..., Ran],
) -> None:
    assert_refused(
        run("explain", KEPT, GONE, "--date", "2026-12-08", "--json"),
        "nothing is planned or sent for them",
    )


@pytest.mark.parametrize("options", [(), ("--json",), ("--channel", "sms")])
def test_preview_refuses_an_erased_customer(
    run: Callable[..., Ran], options: tuple[str, ...]
) -> None:
    assert_refused(
        run("preview", "birthday", "--customer", GONE, "--date", "2026-12-08", *options),
        "no message of theirs is rendered (leave out --customer with --html for sample customers)",
    )


def test_a_preview_page_refuses_an_erased_customer(run: Callable[..., Ran], tmp_path: Path) -> None:
    ran = run("preview", "birthday", "--customer", GONE, "--html", "page.html")
    assert_refused(
        ran,
        "no message of theirs is rendered (leave out --customer with --html for sample customers)",
    )
    assert not (tmp_path / "page.html").exists()


def test_send_test_refuses_an_erased_customer(run: Callable[..., Ran], tmp_path: Path) -> None:
    ran = run("send-test", "birthday", "--customer", GONE, "--to", "qa@example.com")
    assert_refused(ran, "no message of theirs is rendered (leave out --customer for a sample)")
    assert not (tmp_path / "outbox").exists() or not any((tmp_path / "outbox").iterdir())


def test_the_other_customer_is_still_explained_and_previewed(run: Callable[..., Ran]) -> None:
    assert run("explain", KEPT, "--date", "2026-12-08").returncode == 0
    shown = run("preview", "birthday", "--customer", KEPT, "--date", "2026-12-08", "--json")
    assert shown.returncode == 0, shown.stderr
    assert json.loads(shown.stdout)["customer_id"] == KEPT


def test_an_erased_customer_s_export_still_answers_an_access_request(
    run: Callable[..., Ran],
) -> None:
    ran = run("customers", "export", GONE)
    assert ran.returncode == 0, ran.stderr
    profile = json.loads(ran.stdout)["customer"]
    assert profile["id"] == GONE
    assert profile["erased_at"].startswith("2026-12-05T10:00:00")
    assert not any(value in ran.stdout for value in PERSONAL)
