"""The warning that /metrics is open to anyone is a JSON log line on stderr, as every
other line there is (docs/operations.md, "Logs"), with the host as a field: it was
plain text among the JSON lines, which a log shipper parsing them dropped or choked on.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

RAPPORT = str(Path(sys.executable).parent / "rapport")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_serve_on_every_address_warns_of_open_metrics_in_a_json_log_line(
    tmp_path: Path, sqlite_template: Path
) -> None:
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text('database: {url: "sqlite:///rapport.db"}\n')
    port = _free_port()
    environment = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    process = subprocess.Popen(
        [RAPPORT, "serve", "--host", "0.0.0.0", "--port", str(port)],
        cwd=tmp_path, env=environment, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    try:
        for _ in range(300):  # polls until the server answers, each a tenth of a second
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                if process.poll() is not None:
                    break
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        _, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    warned = [r for r in records if "/metrics" in r["message"] and "open" in r["message"]]
    assert len(warned) == 1, stderr
    assert warned[0]["level"] == "warning" and warned[0]["host"] == "0.0.0.0"
