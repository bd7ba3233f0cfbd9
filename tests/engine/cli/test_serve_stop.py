"""``rapport serve`` stopped by SIGTERM (systemd, docker stop) or Ctrl-C exits 0 once
uvicorn has shut down, as ``rapport run`` and ``rapport dispatch`` do
(docs/operations.md). uvicorn sends itself the signal again after its graceful
shutdown, and SIGTERM's default action then killed the process (status -15, 143 in a
shell), skipping what ``serve`` stops in its ``finally`` (the /metrics server)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

RAPPORT = str(Path(sys.executable).parent / "rapport")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("stop", [signal.SIGTERM, signal.SIGINT])
def test_serve_stopped_by_a_signal_exits_0(
    tmp_path: Path, sqlite_template: Path, stop: signal.Signals
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text('database: {url: "sqlite:///rapport.db"}\n')
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    process = subprocess.Popen(
        [RAPPORT, "serve", "--port", str(port)],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
                time.sleep(0.1)
        process.send_signal(stop)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr and "Finished server process" in stderr
