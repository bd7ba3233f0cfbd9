"""Options and promises of the command line that the docs document and no other test
exercised: ``dispatch --interval``.

Each runs in this process through ``main()`` (``factories.run_rapport``), on a copy of
the migrated SQLite template."""

from __future__ import annotations

import shutil
import textwrap
from datetime import date
from pathlib import Path
from typing import Any, ClassVar

import pytest
from factories import REPO, run_rapport

#: A day with Mina's birthday (1990-06-01) and no other occasion of hers.
BIRTHDAY = date(2026, 6, 1)


def write_config(folder: Path, extra: str = "") -> None:
    (folder / "config.yaml").write_text(
        textwrap.dedent(
            f"""\
            database: {{url: "sqlite:///rapport.db"}}
            campaigns_dir: {REPO / "campaigns"}
            templates_dir: {REPO / "templates"}
            channels:
              email: {{adapter: file, kind: email, path: outbox}}
              sms: {{adapter: file, kind: sms, path: outbox}}
            """
        )
        + extra,
        encoding="utf-8",
    )


@pytest.fixture
def workdir(tmp_path: Path, sqlite_template: Path) -> Path:
    """A migrated store with Mina (fa_IR, Tehran, born 1990-06-01), who agreed to
    birthday messages by e-mail and SMS."""
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    write_config(tmp_path)
    (tmp_path / "customers.csv").write_text(
        "id,first_name,last_name,email,phone,locale,timezone,country,birthday\n"
        "M1,Mina,Rahimi,mina@example.com,+989121234567,fa_IR,Asia/Tehran,IR,1990-06-01\n",
        encoding="utf-8",
    )
    (tmp_path / "consent.csv").write_text(
        "customer_id,channel,topic,status,source,captured_at,wording\n"
        "M1,email,birthday,granted,form,2024-01-01T00:00:00Z,v1\n"
        "M1,sms,birthday,granted,form,2024-01-01T00:00:00Z,v1\n",
        encoding="utf-8",
    )
    for kind in ("customers", "consent"):
        imported = run_rapport("import", kind, f"{kind}.csv", cwd=tmp_path)
        assert imported.returncode == 0, imported.stderr
    return tmp_path


# -- dispatch --interval -------------------------------------------------------------------


class FakeDaemon:
    """Stands in for the daemon ``rapport dispatch`` starts: records its settings."""

    started: ClassVar[list[Any]] = []

    def __init__(self, settings: Any, engine: Any, **_: Any) -> None:
        FakeDaemon.started.append(settings)

    def run_forever(self) -> int:
        return 0


@pytest.fixture
def fake_daemon(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    FakeDaemon.started = []
    monkeypatch.setattr("rapport.engine.runtime.daemon.Daemon", FakeDaemon)
    return FakeDaemon.started


def test_dispatch_without_interval_waits_the_configured_dispatch_seconds(
    tmp_path: Path, sqlite_template: Path, fake_daemon: list[Any]
) -> None:
    """docs/configuration.md: daemon.dispatch_seconds is how long a channel waits after
    finding nothing due; `rapport dispatch` is that daemon's dispatch alone."""
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    write_config(tmp_path, "daemon: {dispatch_seconds: 42}\n")
    result = run_rapport("dispatch", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (settings,) = fake_daemon
    assert settings.daemon.dispatch_seconds == 42


def test_dispatch_interval_overrides_the_configured_dispatch_seconds(
    tmp_path: Path, sqlite_template: Path, fake_daemon: list[Any]
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    write_config(tmp_path, "daemon: {dispatch_seconds: 42}\n")
    result = run_rapport("dispatch", "--interval", "0.5", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    (settings,) = fake_daemon
    assert settings.daemon.dispatch_seconds == 0.5


@pytest.mark.parametrize("value", ["0", "-1", "nan", "inf", "3601"])
@pytest.mark.parametrize("once", [True, False])
def test_dispatch_interval_outside_dispatch_seconds_bounds_is_a_usage_error(
    tmp_path: Path, sqlite_template: Path, fake_daemon: list[Any], value: str, once: bool
) -> None:
    """The bounds of daemon.dispatch_seconds (> 0, <= 3600): 0 or less looked for due
    messages back to back, NaN and infinity stopped the daemon with an unexpected
    error, and --once took any of them."""
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    write_config(tmp_path)
    flags = ["--once"] if once else []
    result = run_rapport("dispatch", *flags, "--interval", value, cwd=tmp_path)
    assert result.returncode == 2, result.stdout + result.stderr
    assert "Invalid value for '--interval'" in result.stderr
    assert "daemon.dispatch_seconds" in result.stderr
    assert "Traceback" not in result.stderr and fake_daemon == []
