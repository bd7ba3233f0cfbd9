"""`plan --dry-run --json` and `explain --json` must tell the same story."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner
from factories import REPO
from sqlalchemy import select

from rapport.engine.cli.main import cli
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.core.models import CUSTOMER
from rapport.engine.customers.importer import import_file
from rapport.engine.customers.sample import generate


def test_plan_and_explain_agree_for_thirty_consecutive_dates(tmp_path: Path) -> None:
    start = datetime.now(UTC).date() + timedelta(days=20)  # future: every window still open
    database = tmp_path / "rapport.db"
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{database}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    settings = Settings(base_dir=tmp_path)
    files = generate(tmp_path / "data", start + timedelta(days=5), customers=72, seed=11)
    # Imported as of the sample's day: its latest orders are still to come today.
    planted = datetime.combine(start + timedelta(days=5), datetime.min.time(), tzinfo=UTC)
    for kind, path in (
        ("customers", files.customers),
        ("orders", files.orders),
        ("consent", files.consent),
    ):
        assert import_file(engine, settings, kind, path, clock=lambda: planted).rejected == 0
    with engine.connect() as connection:
        ids = list(connection.execute(select(CUSTOMER.c.id)).scalars())
    engine.dispose()

    runner = CliRunner()
    config = ["--config", str(tmp_path / "config.yaml")]
    env = {"RAPPORT_SECRET_KEY": "agree"}
    total = 0
    for offset in range(30):
        day = (start + timedelta(days=offset)).isoformat()
        planned = runner.invoke(
            cli,
            ["plan", "--date", day, "--dry-run", "--json", *config],
            env=env,
            catch_exceptions=False,
        )
        explained = runner.invoke(
            cli,
            ["explain", *ids, "--date", day, "--json", *config],
            env=env,
            catch_exceptions=False,
        )
        assert planned.exit_code == 0 and explained.exit_code == 0, planned.output
        plan_pairs = {
            (r["customer_id"], r["campaign"]) for r in map(json.loads, planned.stdout.splitlines())
        }
        explain_pairs = {
            (r["customer_id"], r["campaign"])
            for r in map(json.loads, explained.stdout.splitlines())
            if r["selected"]
        }
        assert plan_pairs == explain_pairs, day
        total += len(plan_pairs)
    assert total > 10  # the sample plants birthdays and reorders in this range
