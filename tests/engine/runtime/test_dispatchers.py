"""Several dispatcher processes in one ``rapport dispatch --once`` (dispatch.processes):
every message sent exactly once, the channel's limits kept over all of them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from factories import PERSIAN, outbox_statuses, seed_due_messages
from sqlalchemy import select

from rapport.engine.core.config import ChannelConfig, DispatchConfig, Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX
from rapport.engine.delivery.outcomes import DispatchReport
from rapport.engine.runtime.dispatchers import (
    process_count,
    run_in_processes,
    share,
    signals_ready,
)

MESSAGES = 300
RAPPORT = str(Path(sys.executable).parent / "rapport")


def dispatch_once_in(
    tmp_path: Path, migrated_url: str, port: int, sms_url: str, connections: str, dispatch: str
) -> subprocess.CompletedProcess[str]:
    """``rapport dispatch --once --json`` with e-mail into ``port`` and SMS into
    ``sms_url``; ``connections`` is added to each channel, ``dispatch`` is that section."""
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: {{url: '{migrated_url}'}}\n"
        "channels:\n"
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{port}'{connections}}}\n"
        f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_url}'{connections}}}\n"
        f"dispatch: {dispatch}\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["RAPPORT_SECRET_KEY"] = "fanout"
    return subprocess.run(
        [RAPPORT, "--config", str(config), "dispatch", "--once", "--json"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )


def assert_each_message_sent_once(
    done: subprocess.CompletedProcess[str], migrated_url: str, sink, sms_sink
) -> None:
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout)
    assert {(o["channel"], o["status"]): o["count"] for o in report["outcomes"]} == {
        ("email", "sent"): MESSAGES // 2,
        ("sms", "sent"): MESSAGES // 2,
    }
    e_mails = Counter(sink.message_ids())
    assert len(e_mails) == MESSAGES // 2 and max(e_mails.values()) == 1
    texts = Counter(str(r["key"]) for r in sms_sink.requests)
    assert len(texts) == MESSAGES // 2 and max(texts.values()) == 1
    assert outbox_statuses(migrated_url) == {"sent": MESSAGES}


def test_three_dispatcher_processes_send_every_message_exactly_once(
    migrated_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    sink, port = smtp_sink
    seed_due_messages(migrated_url, MESSAGES, 60, PERSIAN, "fanout")

    done = dispatch_once_in(
        tmp_path,
        migrated_url,
        port,
        sms_sink.url,
        ", concurrency: 6",
        "{processes: 3, batch_size: 10}",
    )

    assert_each_message_sent_once(done, migrated_url, sink, sms_sink)


def test_by_default_one_dispatcher_process_a_core_sends_every_message_once(
    migrated_url: str, tmp_path: Path, smtp_sink, sms_sink
) -> None:
    """No ``dispatch.processes`` and the channels' default concurrency (16): one
    dispatcher per core, on SQLite taking turns for the database (Turns)."""
    cores = os.cpu_count() or 1
    if cores < 2:
        pytest.skip("one core: one dispatcher process")
    sink, port = smtp_sink
    seed_due_messages(migrated_url, MESSAGES, 60, PERSIAN, "fanout")

    done = dispatch_once_in(tmp_path, migrated_url, port, sms_sink.url, "", "{batch_size: 10}")

    assert_each_message_sent_once(done, migrated_url, sink, sms_sink)
    assert len(senders(migrated_url)) == min(cores, 16)


def senders(url: str) -> set[str]:
    """The worker ids that sent the outbox's messages (one per dispatcher process)."""
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            return set(connection.execute(select(OUTBOX.c.claimed_by).distinct()).scalars())
    finally:
        engine.dispose()


def _one_sends_the_other_finds_nothing(index: int) -> DispatchReport:
    report = DispatchReport()
    if index == 0:
        report.outcomes[("email", "sent")] = 1
    return report


def test_a_process_that_found_nothing_due_is_not_a_failed_one() -> None:
    # A pass with fewer messages than processes: an empty report (falsy) is a report.
    report = run_in_processes(2, _one_sends_the_other_finds_nothing, lambda: None)

    assert report.outcomes == {("email", "sent"): 1}


def _stops_on_sigterm(index: int) -> DispatchReport:
    """A job as _dispatch_once is: its handler in, then signals_ready(); it reports
    whether the SIGTERM reached that handler."""
    received: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    signals_ready()
    deadline = time.monotonic() + 10  # bounds the run of a failing test only
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    report = DispatchReport()
    report.outcomes[("sigterm", "handled" if received else "not received")] = 1
    return report


def test_a_sigterm_before_a_process_has_its_handler_waits_for_it() -> None:
    # The widest window there is: SIGTERM reaches each child right after the fork,
    # before its job has installed anything (it used to kill the child: exit 3).
    default = signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        report = run_in_processes(
            2, _stops_on_sigterm, lambda: os.kill(os.getpid(), signal.SIGTERM)
        )
    finally:
        signal.signal(signal.SIGTERM, default)

    assert report.outcomes == {("sigterm", "handled"): 2}


SIGTERM_WHILE_FORKING = """
import os, signal, sys
from multiprocessing import context
sys.path[:0] = sys.argv[1:]  # this folder, and tests/ for its imports
from test_dispatchers import _stops_on_sigterm
from rapport.engine.runtime.dispatchers import run_in_processes

start = context.ForkProcess.start

def start_then_sigterm(self):
    start(self)
    os.kill(os.getpid(), signal.SIGTERM)  # to the parent, before it forwards signals

context.ForkProcess.start = start_then_sigterm
print(dict(run_in_processes(2, _stops_on_sigterm, lambda: None).outcomes))
"""


def test_a_sigterm_to_the_command_while_it_forks_reaches_every_process() -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            SIGTERM_WHILE_FORKING,
            str(Path(__file__).parent),
            str(Path(__file__).parents[2]),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "{('sigterm', 'handled'): 2}"


IMPORTS_AT_FORK = """
import sys
from rapport.engine.cli import daemon
from rapport.engine.core.config import ChannelConfig, DispatchConfig, Settings
from rapport.engine.core.db import make_engine
from rapport.engine.runtime import dispatchers

needed = ["rapport.engine.delivery.dispatch", "rapport.engine.runtime.services"]
assert not any(name in sys.modules for name in needed)
dispatchers.run_in_processes = lambda processes, job, before: print(
    processes, [name for name in needed if name not in sys.modules]
)

class App:
    settings = Settings().model_copy(update={
        "channels": {"email": ChannelConfig(adapter="smtp", url="smtp://h")},
        "dispatch": DispatchConfig(processes=2),
    })

daemon._dispatch_in_processes(App(), make_engine("sqlite:///" + sys.argv[1]))
"""


def test_what_a_dispatcher_imports_is_imported_once_before_the_fork(tmp_path: Path) -> None:
    # Not once in each process after it: one import of the dispatcher's modules a pass.
    done = subprocess.run(
        [sys.executable, "-c", IMPORTS_AT_FORK, str(tmp_path / "rapport.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip() == "2 []"


def settings(**channels: ChannelConfig) -> Settings:
    return Settings().model_copy(
        update={"channels": channels, "dispatch": DispatchConfig(processes=0)}
    )


def test_a_channel_with_a_rate_limit_keeps_the_pass_in_one_process() -> None:
    limited = settings(
        email=ChannelConfig(adapter="smtp", url="smtp://h", concurrency=8, rate_per_second=50)
    )

    assert process_count(limited) == 1


def test_each_process_takes_its_share_of_a_channels_connections() -> None:
    both = settings(
        email=ChannelConfig(adapter="smtp", url="smtp://h"),  # 16 by default
        sms=ChannelConfig(adapter="file", kind="sms", path="out"),  # 1: not shared
    )

    processes = process_count(both)
    shared, served = share(both, processes)

    assert processes == min(os.cpu_count() or 1, 16)
    assert served == {"email"}
    if processes > 1:
        assert shared.channels["email"].concurrency == 16 // processes
    assert shared.channels["sms"].concurrency is None


def test_a_dispatcher_process_that_died_is_reported_as_such_not_as_a_bug(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A process killed mid-pass (the OOM killer, a kill -9) ends the command with exit
    3 and what happened, not "unexpected error ... set RAPPORT_DEBUG=1"."""
    import shutil

    from factories import run_rapport

    from rapport.engine.runtime import dispatchers

    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{tmp_path / 'rapport.db'}'}}\n", encoding="utf-8"
    )

    def killed(*_args: object) -> DispatchReport:
        raise dispatchers.DispatcherProcessFailed(
            "1 of 2 dispatcher processes failed: ended without a report (exit code -9)"
        )

    monkeypatch.setattr(dispatchers, "run_in_processes", killed)

    ran = run_rapport("dispatch", "--once", cwd=tmp_path, env={"RAPPORT_SECRET_KEY": "k"})

    assert ran.returncode == 3, ran.stderr
    assert "ended without a report (exit code -9)" in ran.stderr
    assert "unexpected error" not in ran.stderr


def _writes_whether_sigterm_came(index: int) -> DispatchReport:
    """As _stops_on_sigterm, but says so in a file of its own (its parent is dead by
    then): ``started-N`` once its handler is in, then ``N`` holding the outcome."""
    folder = Path(os.environ["SIGNAL_TEST_DIR"])
    received: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _frame: received.append(signum))
    signals_ready()
    (folder / f"started-{index}").write_text(str(os.getpid()))
    deadline = time.monotonic() + 10  # bounds the run of a failing test only
    while not received and time.monotonic() < deadline:
        time.sleep(0.01)
    (folder / str(index)).write_text("handled" if received else "not received")
    return DispatchReport()


SIGKILLED_PARENT = """
import sys
sys.path[:0] = sys.argv[1:]  # this folder, and tests/ for its imports
from test_dispatchers import _writes_whether_sigterm_came
from rapport.engine.runtime.dispatchers import run_in_processes
run_in_processes(2, _writes_whether_sigterm_came, lambda: None)
"""


def test_dispatcher_processes_stop_when_the_command_is_sigkilled(tmp_path: Path) -> None:
    """`kill -9` of `rapport dispatch --once` (a supervisor's timeout, an operator)
    left its dispatcher processes running as orphans, sending the rest of the pass:
    the sink got 240 messages before the kill and 729 in all. Each now gets SIGTERM
    when the command dies, and stops as on a SIGTERM to the command."""
    command = subprocess.Popen(
        [
            sys.executable,
            "-c",
            SIGKILLED_PARENT,
            str(Path(__file__).parent),
            str(Path(__file__).parents[2]),
        ],
        env={**os.environ, "SIGNAL_TEST_DIR": str(tmp_path)},
    )
    try:
        deadline = time.monotonic() + 30
        while len(list(tmp_path.glob("started-*"))) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert len(list(tmp_path.glob("started-*"))) == 2
    finally:
        command.kill()
        command.wait()
    deadline = time.monotonic() + 15
    while not all((tmp_path / str(i)).exists() for i in (0, 1)) and time.monotonic() < deadline:
        time.sleep(0.05)

    assert [(tmp_path / str(i)).read_text() for i in (0, 1)] == ["handled", "handled"]
