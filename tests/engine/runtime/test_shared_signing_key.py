"""A link planned by one daemon opens on any other on the same database, with no
RAPPORT_SECRET_KEY anywhere: each machine is its own folder (its own ``var/``), and its
signer and web app are built as the daemon builds them (``runtime.services``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from factories import insert_customer
from sqlalchemy import Engine
from starlette.testclient import TestClient

from rapport.consent.links import links_for
from rapport.engine.core.config import DatabaseConfig, Settings
from rapport.engine.runtime import services
from rapport.engine.web.app import create_app


def machine(base: Path, url: str) -> Settings:
    base.mkdir()
    return Settings(base_dir=base, database=DatabaseConfig(url=url))


def test_a_link_planned_on_one_machine_opens_on_another(
    engine: Engine, migrated_url: str, tmp_path: Path
) -> None:
    insert_customer(
        engine, "M1", email="m1@example.com", created_at=datetime(2025, 1, 1, tzinfo=UTC)
    )
    planner = machine(tmp_path / "planner", migrated_url)
    web = machine(tmp_path / "web", migrated_url)
    url = links_for("M1", "email", planner, services.signer(planner))["unsubscribe"]
    path = "/" + url.split("/", 3)[3]

    with TestClient(create_app(web, engine)) as client:
        opened = client.get(path)
        tampered = "BBBB" if path.endswith("AAAA") else "AAAA"  # in the signature
        forged = client.get(path[:-4] + tampered)

    assert opened.status_code == 200, opened.text
    assert forged.status_code == 404, "the check is real: a changed signature is refused"
    assert not (tmp_path / "planner" / "var").exists()
    assert not (tmp_path / "web" / "var").exists()
