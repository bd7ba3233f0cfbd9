"""Shared fixtures: every database test runs on SQLite and on PostgreSQL.

The schema is migrated once per test run, by the real migrations, and copied for each
test: for SQLite a migrated file that each test gets a copy of, for PostgreSQL a
template database that each test's own uniquely named database is created from (and
dropped after the test). Tests of the migrations themselves ask for ``database_url``
(an empty database) and migrate it.

In CI (the environment variable CI is exactly ``true``) PostgreSQL and Chromium are
required: an unreachable server or a missing browser fails the tests that need them,
so a green CI run always includes them. Anywhere else those tests are skipped.
"""

from __future__ import annotations

import os
import queue
import shutil
import threading
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, create_engine, text

from rapport.engine.core.db import make_engine, upgrade

PG_ADMIN_URL = os.environ.get(
    "RAPPORT_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)
IN_CI = os.environ.get("CI") == "true"  # the one CI check; any other value is not CI


#: Tests that take 5-40 s each (pytest --durations), started first. pytest-xdist hands
#: out tests in collection order, so one of these collected last (tests/test_bench.py,
#: tests/test_packaging.py, the demo builds) kept one worker busy long after the others
#: had finished; started first, they overlap with the many short tests instead. The
#: order of everything else is unchanged. A node id prefix: a module, or one test.
SLOW_FIRST = (
    # one test per build of a demo store that other tests wait for (demo_store.py),
    # each on its own worker
    "tests/engine/cli/test_cli.py::test_demo_prints_summary_with_messages",
    "tests/engine/cli/test_demo_history.py::test_the_demo_prints_a_summary_of_at_least",
    "tests/engine/reports/test_report_demo.py::test_customer_figures_on_demo_data_equal",
    "tests/engine/planning/test_prefilter_superset.py::test_planning_only_the_candidates",
    "tests/engine/delivery/test_crash.py",
    "tests/engine/core/test_logs.py::test_no_personal_data_or_token_reaches_the_logs",
    "tests/engine/runtime/test_operations.py",
    "tests/engine/planning/test_planner_properties.py::test_planner_invariants",
    "tests/test_bench.py",
    "tests/test_packaging.py",
    "tests/engine/planning/test_shards.py",
    "tests/engine/delivery/test_delivery.py::test_planning_twice_then_dispatch",
    "tests/faults/test_database_outages.py",
    "tests/engine/runtime/test_shared_planning.py",
    "tests/engine/runtime/test_shutdown.py",
    "tests/engine/web/test_access_log.py",
    # the rest of those stores' readers, by then built or being built
    "tests/engine/cli/test_demo_serve.py",
    "tests/engine/cli/test_demo_history.py",
    "tests/engine/reports/test_report_demo.py",
    "tests/engine/cli/test_docs_commands.py",
    "tests/engine/reports/test_report_periods.py",
    "tests/engine/reports/test_report_html_charts.py",
    "tests/faults/test_leases.py",
    "tests/engine/cli/test_template_limits_cli.py",
    "tests/engine/planning/test_stored_decisions.py",
    "tests/engine/cli/test_exit_codes.py",
    "tests/engine/cli/test_plan_explain_agree.py",
    "tests/engine/planning/test_shard_leases.py",
    "tests/engine/customers/test_import_files.py::test_big_file",
    "tests/faults/test_processes.py",
    "tests/engine/planning/test_prefilter_superset.py",
)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Moves the tests :data:`SLOW_FIRST` names to the front, in its order (a stable
    sort: the rest keep theirs)."""

    def rank(item: pytest.Item) -> int:
        for index, prefix in enumerate(SLOW_FIRST):
            if item.nodeid.startswith(prefix):
                return index
        return len(SLOW_FIRST)

    items.sort(key=rank)


def _unavailable(message: str) -> None:
    """In CI a missing service fails the test; elsewhere it skips it."""
    if IN_CI:
        pytest.fail(f"{message} (required in CI)")
    pytest.skip(message)


def _database_url(name: str) -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name


@pytest.fixture(scope="session")
def postgres_admin() -> Iterator[Engine]:
    """An AUTOCOMMIT connection pool to the server's maintenance database."""
    admin = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as connection:
            connection.execute(text("select 1"))
    except Exception as exc:  # any connection failure means "no server"
        admin.dispose()
        _unavailable(f"PostgreSQL unreachable: {exc}")
    try:
        yield admin
    finally:
        admin.dispose()


def _create_database(admin: Engine, template: str | None = None) -> str:
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    source = f' TEMPLATE "{template}"' if template else ""
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"{source}'))
    return name


def _drop_database(admin: Engine, name: str) -> None:
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def postgres_template(postgres_admin: Engine, postgres_drops: Drops) -> Iterator[str]:
    """The name of a PostgreSQL database migrated once per run (to copy, never to use);
    dropped with the last copies, side by side (:class:`Drops`)."""
    name = _create_database(postgres_admin)
    try:
        db = make_engine(_database_url(name))
        try:
            upgrade(db)
        finally:
            db.dispose()  # CREATE DATABASE ... TEMPLATE needs it free of connections
        yield name
    finally:
        postgres_drops.put(name)


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A SQLite file migrated once per run (to copy, never to use)."""
    path = tmp_path_factory.mktemp("template") / "rapport.db"
    db = make_engine(f"sqlite:///{path}")
    try:
        upgrade(db)
        with db.connect() as connection:  # everything in the main file, none in the WAL
            connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        db.dispose()
    for leftover in (path.with_name(path.name + "-wal"), path.with_name(path.name + "-shm")):
        assert not leftover.exists() or leftover.stat().st_size == 0, leftover
    return path


class Drops:
    """Databases dropped by background threads, so that a test's teardown does not wait
    for its DROP DATABASE (each waits for every server process to absorb a barrier: 1 s
    to over 20 s when other sessions keep the server busy).

    :data:`WORKERS` threads drop side by side, each on one connection of the admin pool
    (five, and ten more on demand, shared with the creations): one thread fell behind a
    busy server, and the hundreds of drops left at the session's end, started all at
    once, waited past the pool's 30 s for a connection, failed in their threads and
    left their databases behind (466 after one loaded run), while the last test's
    teardown waited for them. The last drops finish before the session ends.
    """

    WORKERS = 4

    def __init__(self, admin: Engine) -> None:
        self.admin = admin
        self.names: queue.Queue[str | None] = queue.Queue()
        self.errors: list[Exception] = []
        self.threads = [
            threading.Thread(target=self._work, name=f"database-drops-{n}", daemon=True)
            for n in range(self.WORKERS)
        ]
        for thread in self.threads:
            thread.start()

    def _work(self) -> None:
        while (name := self.names.get()) is not None:
            try:
                _drop_database(self.admin, name)
            except Exception as exc:  # raised by close(), at the end of the session
                self.errors.append(exc)

    def put(self, name: str) -> None:
        self.names.put(name)

    def close(self, more: Sequence[str] = ()) -> None:
        """Drops what is still queued, and ``more``, then stops the threads."""
        for name in more:
            self.names.put(name)
        for _ in self.threads:
            self.names.put(None)
        for thread in self.threads:
            thread.join(timeout=300)
        if self.errors:
            raise self.errors[0]


@pytest.fixture(scope="session")
def postgres_drops(postgres_admin: Engine) -> Iterator[Drops]:
    drops = Drops(postgres_admin)
    try:
        yield drops
    finally:
        drops.close()


@pytest.fixture
def postgres_url(postgres_admin: Engine, postgres_drops: Drops) -> Iterator[str]:
    """A fresh, empty PostgreSQL database, dropped after the test (in the background:
    :class:`Drops`)."""
    name = _create_database(postgres_admin)
    try:
        yield _database_url(name)
    finally:
        postgres_drops.put(name)


class Copies:
    """Copies of the template database, made ahead of need by a background thread and
    dropped after use by another (:class:`Drops`), so that a test waits for neither
    (a copy takes ~0.3 s; a drop 1-20 s on a busy server; in one thread, a test whose
    copy was queued behind drops waited for them).

    Every database is still the test's own, uniquely named, and dropped after it; the
    last drops finish before the session ends.
    """

    AHEAD = 6

    def __init__(self, admin: Engine, template: str, drops: Drops) -> None:
        self.admin, self.template, self.drops = admin, template, drops
        self.ready: queue.Queue[str | BaseException] = queue.Queue()
        self.creates: queue.Queue[bool | None] = queue.Queue()
        for _ in range(self.AHEAD):
            self.creates.put(True)
        self.thread = threading.Thread(target=self._work, name="database-copies", daemon=True)
        self.thread.start()

    def _work(self) -> None:
        while self.creates.get() is not None:
            try:
                self.ready.put(_create_database(self.admin, template=self.template))
            except BaseException as exc:  # handed to the test that waits for a copy
                self.ready.put(exc)

    def take(self) -> str:
        self.creates.put(True)  # the next test's copy
        found = self.ready.get(timeout=300)
        if isinstance(found, BaseException):
            raise found
        return found

    def give_back(self, name: str) -> None:
        self.drops.put(name)

    def close(self) -> None:
        """Makes no more copies; those made ahead and never used go to :class:`Drops`."""
        while True:
            try:
                self.creates.get_nowait()
            except queue.Empty:
                break
        self.creates.put(None)
        self.thread.join(timeout=300)
        while not self.ready.empty():
            found = self.ready.get()
            if isinstance(found, str):
                self.drops.put(found)


@pytest.fixture(scope="session")
def postgres_copies(
    postgres_admin: Engine, postgres_template: str, postgres_drops: Drops
) -> Iterator[Copies]:
    copies = Copies(postgres_admin, postgres_template, postgres_drops)
    try:
        yield copies
    finally:
        copies.close()


@pytest.fixture
def migrated_postgres_url(postgres_copies: Copies) -> Iterator[str]:
    """A fresh PostgreSQL database at the head revision (a copy of the template),
    dropped after the test."""
    name = postgres_copies.take()
    try:
        yield _database_url(name)
    finally:
        postgres_copies.give_back(name)


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'rapport.db'}"
    return request.getfixturevalue("postgres_url")


@pytest.fixture(params=["sqlite", "postgresql"])
def migrated_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of a database of each kind at the head revision, the test's own copy."""
    if request.param == "sqlite":
        path = tmp_path / "rapport.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        return f"sqlite:///{path}"
    return request.getfixturevalue("migrated_postgres_url")


@pytest.fixture
def engine(migrated_url: str) -> Iterator[Engine]:
    """A migrated database of each kind."""
    db = make_engine(migrated_url)
    try:
        yield db
    finally:
        db.dispose()


class SMTPSink:
    """A real SMTP server on loopback (aiosmtpd) that keeps what it receives."""

    def __init__(self) -> None:
        self.messages: list[dict[str, object]] = []

    async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
        import email
        import email.policy

        content = envelope.content  # type: ignore[attr-defined]
        parsed = email.message_from_bytes(content, policy=email.policy.default)
        self.messages.append(
            {
                "mail_from": envelope.mail_from,  # type: ignore[attr-defined]
                "rcpt_tos": list(envelope.rcpt_tos),  # type: ignore[attr-defined]
                "message": parsed,
            }
        )
        return "250 OK"

    def message_ids(self) -> list[str]:
        return [str(m["message"]["Message-ID"]) for m in self.messages]  # type: ignore[index]


@pytest.fixture
def smtp_sink() -> Iterator[tuple[SMTPSink, int]]:
    """A running SMTP sink and its port."""
    import socket

    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sink = SMTPSink()
    controller = Controller(sink, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield sink, port
    finally:
        controller.stop()


CHROMIUM = os.environ.get("RAPPORT_TEST_CHROMIUM", "/usr/bin/chromium")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's headless Chromium driven by Playwright (no browser download needed).

    Module-scoped: Playwright's sync API keeps an event loop running in this thread
    while it lives, which would stop later async tests from starting their own.
    """
    if not Path(CHROMIUM).exists():
        _unavailable(f"{CHROMIUM} is not installed (scripts/test.sh installs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        try:
            yield instance
        finally:
            instance.close()


class SMSSink:
    """A real HTTP SMS provider on loopback that honours idempotency keys.

    ``script`` holds status codes to answer next (then 200); a repeated idempotency
    key is accepted again but not delivered twice, as real providers do.
    """

    def __init__(self) -> None:
        import threading

        self.lock = threading.Lock()
        self.script: list[int] = []
        self.requests: list[dict[str, object]] = []
        self.delivered: dict[str, dict[str, object]] = {}
        self.duplicates = 0
        self.server: object = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/sms"  # type: ignore[attr-defined]


@pytest.fixture
def sms_sink() -> Iterator[SMSSink]:
    import json
    import threading
    import time
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    sink = SMSSink()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key") or body.get("idempotency_key")
            with sink.lock:
                sink.requests.append({"key": key, "at": time.monotonic(), "body": body})
                status = sink.script.pop(0) if sink.script else 200
                if status == 200:
                    if key in sink.delivered:
                        sink.duplicates += 1
                    else:
                        sink.delivered[key] = body
            payload = json.dumps({"id": f"msg-{key}"} if status == 200 else {"error": "x"})
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload.encode())

        def log_message(self, format: str, *args: object) -> None:
            return None

    class Server(ThreadingHTTPServer):
        # A provider's backlog, not socketserver's 5: the dispatcher opens 16 at once.
        request_queue_size = 128

    server = Server(("127.0.0.1", 0), Handler)
    sink.server = server
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield sink
    finally:
        server.shutdown()
        server.server_close()
