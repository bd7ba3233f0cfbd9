"""Erasing a customer of the demo's store deletes the files the demo wrote for her.

`rapport demo` sends through a file channel of its own, into the `outbox` folder beside
its database (var/demo/outbox), whatever config.yaml configures; the commands its
summary suggests then run on that database with the project's config.yaml, whose file
channel writes elsewhere (var/outbox). `rapport customers erase` on the demo's store
must still delete her `.eml` and `.json` files there, as it does for a configured file
channel (docs/operations.md, Erasure), and count them.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from demo_store import shared_cli_demo
from factories import REPO, run_rapport


@pytest.fixture
def demo_project(tmp_path: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A project folder whose var/demo holds a copy of the demo's store, as
    `rapport demo` leaves it, and whose config.yaml keeps the default channels."""
    shutil.copytree(shared_cli_demo(tmp_path_factory).folder / "store", tmp_path / "var" / "demo")
    (tmp_path / "config.yaml").write_text(
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_erasing_a_demo_customer_deletes_her_files_in_the_demo_outbox(demo_project: Path) -> None:
    outbox = demo_project / "var" / "demo" / "outbox"
    customer = "C00003"
    hers = sorted(path.name for path in outbox.glob(f"{customer}_*"))
    assert hers, "the demo wrote files for her"
    address = f"customer{int(customer[1:])}@example.com".encode()
    assert any(address in (outbox / name).read_bytes() for name in hers)
    others = len(list(outbox.iterdir())) - len(hers)

    ran = run_rapport(
        "customers",
        "erase",
        customer,
        "--yes",
        cwd=demo_project,
        env={"RAPPORT_DATABASE_URL": f"sqlite:///{demo_project / 'var' / 'demo' / 'rapport.db'}"},
    )

    assert ran.returncode == 0, ran.stderr
    assert not list(outbox.glob(f"{customer}_*"))
    assert not [p.name for p in outbox.iterdir() if address in p.read_bytes()]
    assert len(list(outbox.iterdir())) == others
    assert re.search(rf"\b{len(hers)} outbox files? deleted", ran.stdout), ran.stdout
