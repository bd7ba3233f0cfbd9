"""A web app that cannot listen says so in one line and exits 3 (README: "Errors are
one line on stderr"; 3 is a runtime failure). ``rapport run`` with ``web.enabled: true``
did; ``rapport serve`` ended with only uvicorn's log record and uvicorn's own status,
naming neither the app nor what to check."""

from __future__ import annotations

import shutil
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.factories import run_rapport


@pytest.fixture
def taken_port() -> Iterator[int]:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        yield int(holder.getsockname()[1])


def _last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_serve_on_an_address_in_use_exits_3_saying_it_could_not_listen(
    tmp_path: Path, sqlite_template: Path, taken_port: int
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text('database: {url: "sqlite:///rapport.db"}\n')

    ran = run_rapport("serve", "--port", str(taken_port), cwd=tmp_path)

    assert ran.returncode == 3, ran.stderr
    assert _last_line(ran.stderr) == (
        f"error: the web app could not listen on 127.0.0.1:{taken_port} "
        "(is the address in use, or not this machine's?)"
    )
