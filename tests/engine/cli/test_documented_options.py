"""Options and promises of the command line that README.md, docs/campaigns.md and
docs/reports.md document and no other test exercised: ``dispatch --interval``,
``report --window``, ``demo --seed``, the keys of ``preview --json`` and ``plan --json``,
``preview``'s note on a stand-in occasion and ``customers export -o``.

Each runs in this process through ``main()`` (``factories.run_rapport``), on a copy of
the migrated SQLite template."""

from __future__ import annotations

import json
import shutil
import stat
import textwrap
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest
from factories import REPO, run_rapport
from sqlalchemy import insert

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import ORDERS, OUTBOX

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


# -- report --window -----------------------------------------------------------------------


def test_report_window_is_the_attribution_window_in_days(workdir: Path) -> None:
    """docs/reports.md: converted = an order in (sent_at, sent_at + window], 7 days
    unless --window."""
    sent = datetime(2026, 4, 10, 9, tzinfo=UTC)
    engine = make_engine(f"sqlite:///{workdir / 'rapport.db'}")
    try:
        with engine.begin() as connection:
            connection.execute(
                insert(OUTBOX).values(
                    idempotency_key="M1:birthday:w:email",
                    customer_id="M1",
                    campaign="birthday",
                    occasion="w",
                    channel="email",
                    topic="birthday",
                    locale="fa_IR",
                    body_text="x",
                    status="sent",
                    send_at=sent,
                    sent_at=sent,
                    created_at=sent,
                )
            )
            connection.execute(
                insert(ORDERS).values(
                    id="O1",
                    customer_id="M1",
                    sku="TEA",
                    quantity=1,
                    amount=10,
                    currency="USD",
                    ordered_at=sent + timedelta(days=5),
                )
            )
    finally:
        engine.dispose()

    def converted(*window: str) -> tuple[int, int]:
        result = run_rapport(
            "report", "--json", "--from", "2026-04-01", "--to", "2026-04-30", *window, cwd=workdir
        )
        assert result.returncode == 0, result.stderr
        found = json.loads(result.stdout)
        (birthday,) = [c for c in found["campaigns"] if c["campaign"] == "birthday"]
        return found["attribution_window_days"], birthday["converted"]

    assert converted() == (7, 1)
    assert converted("--window", "5") == (5, 1)  # the window's end is in it
    assert converted("--window", "4") == (4, 0)


def test_report_window_out_of_range_is_a_usage_error(workdir: Path) -> None:
    for value in ("0", "366"):
        result = run_rapport("report", "--window", value, cwd=workdir)
        assert result.returncode == 2 and "'--window'" in result.stderr, result.stderr


# -- preview -------------------------------------------------------------------------------


def test_preview_json_gives_subject_headers_text_and_html(workdir: Path) -> None:
    """README.md and docs/campaigns.md: `--json`: subject, headers, text and html."""
    args = ("preview", "birthday", "--customer", "M1", "--date", BIRTHDAY.isoformat())
    email = run_rapport(*args, "--channel", "email", "--json", cwd=workdir)
    assert email.returncode == 0, email.stderr
    found = json.loads(email.stdout)
    assert {"subject", "headers", "text", "html"} <= set(found)
    assert (found["campaign"], found["channel"]) == ("birthday", "email")
    assert "Mina" in found["subject"] and "Mina" in found["headers"]["Subject"]
    assert found["headers"]["To"].endswith("<mina@example.com>")
    assert found["text"] and found["html"].lstrip().lower().startswith("<!doctype html")

    sms = run_rapport(*args, "--channel", "sms", "--json", cwd=workdir)
    assert sms.returncode == 0, sms.stderr
    found = json.loads(sms.stdout)
    assert found["subject"] is None and found["html"] is None and found["text"]
    assert found["headers"] == {"To": "+989121234567"}


def test_preview_on_a_day_without_the_occasion_says_on_stderr_why_no_message(
    workdir: Path,
) -> None:
    """docs/campaigns.md: a stand-in occasion is used and a note on stderr says why
    they would not actually be messaged."""
    other_day = (BIRTHDAY + timedelta(days=3)).isoformat()
    result = run_rapport(
        "preview", "birthday", "--customer", "M1", "--date", other_day, cwd=workdir
    )
    assert result.returncode == 0, result.stderr
    assert result.stderr.startswith(f"note: not selected on {other_day}: ")
    assert "stand-in" in result.stderr and result.stdout

    on_the_day = run_rapport(
        "preview", "birthday", "--customer", "M1", "--date", BIRTHDAY.isoformat(), cwd=workdir
    )
    assert on_the_day.returncode == 0 and "note:" not in on_the_day.stderr


# -- plan --json ---------------------------------------------------------------------------


def test_plan_json_gives_each_message_s_documented_keys_in_utc(workdir: Path) -> None:
    """docs/campaigns.md: customer_id, campaign, channel, locale, template_locale,
    send_at and expires_at (UTC), occasion and idempotency_key."""
    result = run_rapport("plan", "--date", BIRTHDAY.isoformat(), "--dry-run", "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    (line,) = result.stdout.splitlines()
    planned = json.loads(line)
    assert {
        "customer_id",
        "campaign",
        "channel",
        "locale",
        "template_locale",
        "send_at",
        "expires_at",
        "occasion",
        "idempotency_key",
    } <= set(planned)
    assert (planned["customer_id"], planned["campaign"]) == ("M1", "birthday")
    assert (planned["locale"], planned["template_locale"]) == ("fa_IR", "fa")
    for key in ("send_at", "expires_at"):
        moment = datetime.fromisoformat(planned[key].replace("Z", "+00:00"))
        assert planned[key].endswith("Z") and moment.utcoffset() == timedelta(0)
    assert planned["idempotency_key"].startswith("M1:birthday:")


# -- customers export -o -------------------------------------------------------------------


def test_customers_export_short_o_writes_a_private_file(workdir: Path) -> None:
    result = run_rapport("customers", "export", "M1", "-o", "m1.json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    assert "mina@example.com" not in result.stdout + result.stderr
    assert stat.S_IMODE((workdir / "m1.json").stat().st_mode) == 0o600
    exported = (workdir / "m1.json").read_text(encoding="utf-8")
    assert "mina@example.com" in exported and json.loads(exported)


# -- demo --seed ---------------------------------------------------------------------------


def test_demo_seed_makes_the_same_sample_and_another_seed_another(tmp_path: Path) -> None:
    def sample(seed: int, name: str) -> str:
        result = run_rapport(
            "--config", str(REPO / "config.yaml"), "demo", "--dir", name,
            "--customers", "6", "--history-days", "1", "--date", "2026-11-26",
            "--seed", str(seed),
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        return (tmp_path / name / "data" / "customers.csv").read_text(encoding="utf-8")

    assert sample(3, "a") == sample(3, "b")
    assert sample(3, "a") != sample(4, "c")


# -- explain --json ------------------------------------------------------------------------


def test_explain_json_gives_one_object_per_campaign_in_priority_order(workdir: Path) -> None:
    """docs/campaigns.md: for every campaign, in priority order; customer_id, campaign,
    selected, reason, detail, channel, send_at, stage, tier, variant, source, plan_run
    and planned_at (null when recomputed)."""
    result = run_rapport("explain", "M1", "--date", BIRTHDAY.isoformat(), "--json", cwd=workdir)
    assert result.returncode == 0, result.stderr
    rows = [json.loads(line) for line in result.stdout.splitlines()]
    validated = run_rapport("campaigns", "validate", "--json", cwd=workdir)
    assert sorted(row["campaign"] for row in rows) == sorted(
        json.loads(validated.stdout)["campaigns"]
    )
    priority = {
        path.stem: int(line.split(":")[1])
        for path in (REPO / "campaigns").glob("*.yaml")
        for line in path.read_text(encoding="utf-8").splitlines()
        if line.startswith("priority:")
    }
    order = [priority[row["campaign"]] for row in rows]
    assert order == sorted(order)
    for row in rows:
        assert {
            "customer_id",
            "campaign",
            "selected",
            "reason",
            "detail",
            "channel",
            "send_at",
            "stage",
            "tier",
            "variant",
            "source",
            "plan_run",
            "planned_at",
        } <= set(row)
        assert row["customer_id"] == "M1" and row["source"] == "recomputed"
        assert row["plan_run"] is None and row["planned_at"] is None
    (birthday,) = [row for row in rows if row["campaign"] == "birthday"]
    assert birthday["selected"] is True and birthday["reason"] == "selected"
    assert birthday["send_at"].endswith("Z")
