"""Logs never carry personal data: canaries go in, none come out.

Unique names, an e-mail address and a phone number are imported, planned, sent
(with failures), and used on the web pages and webhooks, by real `rapport` processes
logging at DEBUG; everything they write to stderr is searched for the canaries.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from factories import REPO

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.logs import redact

RAPPORT = str(Path(sys.executable).parent / "rapport")
FIRST, LAST = "Qwyzzelcanary", "Vorpalcanary"
EMAIL, PHONE = "qwyzzel.canary@example.org", "+12025550187"


def run(*args: str, cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAPPORT, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_no_personal_data_or_token_reaches_the_logs(tmp_path: Path, smtp_sink, sms_sink) -> None:
    sink, smtp_port = smtp_sink
    # A zone where it is about noon now, so today's send window is open.
    offset = 12 - datetime.now(UTC).hour
    zone = f"Etc/GMT{'-' if offset >= 0 else '+'}{abs(offset)}"
    today = (datetime.now(UTC) + timedelta(hours=offset)).date()
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        f"  email: {{adapter: smtp, kind: email, url: 'smtp://127.0.0.1:{free_port()}'}}\n"
        f"  sms: {{adapter: http_sms, kind: sms, url: '{sms_sink.url}'}}\n"
        "dispatch: {backoff_base_seconds: 0.01, backoff_max_seconds: 0.02}\n",
        encoding="utf-8",
    )
    (tmp_path / "customers.csv").write_text(
        "id,first_name,last_name,email,phone,locale,timezone,country,birthday\n"
        f"CAN1,{FIRST},{LAST},{EMAIL},{PHONE},en_US,{zone},US,"
        f"1992-{today.month:02d}-{today.day:02d}\n"
        # a bad row that quotes the canary: the import report names the row, not the value
        f"CAN2,{FIRST},{LAST},{EMAIL}x,not-a-phone,en_US,Mars/Base,US,1990-01-01\n",
        encoding="utf-8",
    )
    (tmp_path / "consent.jsonl").write_text(
        "\n".join(
            json.dumps(
                {
                    "customer_id": "CAN1",
                    "channel": ch,
                    "topic": "birthday",
                    "status": "granted",
                    "source": "form",
                    "captured_at": "2025-01-01T00:00:00Z",
                    "wording": "v1",
                }
            )
            for ch in ("email", "sms")
        )
        + "\n",
        encoding="utf-8",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env.update(RAPPORT_SECRET_KEY="canary", RAPPORT_LOG_LEVEL="DEBUG", RAPPORT_WEBHOOK_TOKEN="hook")
    logs: list[str] = []

    def step(*args: str, **extra: str) -> subprocess.CompletedProcess[str]:
        result = run(*args, cwd=tmp_path, env={**env, **extra})
        logs.append(result.stderr)
        return result

    step("db", "upgrade")
    step("import", "customers", "customers.csv")
    step("import", "consent", "consent.jsonl")
    assert "1 new" in step("plan", "--date", today.isoformat()).stdout
    sms_sink.script = [500]
    step("dispatch", "--once")  # the SMTP server is down; the SMS provider fails once
    time.sleep(0.1)  # past the retry's backoff
    step("dispatch", "--once", RAPPORT_SMTP_URL=f"smtp://127.0.0.1:{smtp_port}")
    step("explain", "CAN1")
    step("customers", "export", "CAN1")

    port = free_port()
    server = subprocess.Popen(
        [RAPPORT, "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    signer = Signer("canary")
    token = signer.sign(Purpose.PREFERENCES, TokenClaims("CAN1", "email"))
    unsubscribe = signer.sign(Purpose.UNSUBSCRIBE, TokenClaims("CAN1", "email"))
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(100):
            try:
                httpx.get(f"{base}/healthz")
                break
            except httpx.TransportError:
                time.sleep(0.1)
        with httpx.Client(base_url=base) as client:
            assert client.get(f"/preferences/{token}").status_code == 200
            client.post(f"/preferences/{token}", data={"email:offers": "on"})
            client.post(
                f"/unsubscribe/{unsubscribe}",
                content=b"List-Unsubscribe=One-Click",
                headers={"content-type": "application/x-www-form-urlencoded"},
            )
            client.post("/preferences", data={"email": EMAIL})
            client.get(f"/preferences/{token[:-2]}xx")  # tampered
            hook = {"X-Rapport-Webhook-Token": "hook"}
            client.post("/webhooks/sms/inbound", json={"from": PHONE, "text": "STOP"}, headers=hook)
            client.post(
                "/webhooks/email/events",
                headers=hook,
                json=[
                    {
                        "type": "bounce",
                        "bounce_type": "hard",
                        "email": EMAIL,
                        "reason": f"550 5.1.1 <{EMAIL}> unknown",
                    }
                ],
            )
            client.post("/webhooks/email/events", headers=hook, json=[{"type": "bogus"}])
    finally:
        server.send_signal(signal.SIGTERM)
        _, server_log = server.communicate(timeout=20)
        logs.append(server_log)

    assert sink.messages  # the flow really sent mail
    captured = "\n".join(logs)
    assert '"level": "debug"' in captured  # the processes did log, at DEBUG
    for canary in (FIRST, LAST, EMAIL, PHONE, PHONE[1:], token, unsubscribe):
        assert canary not in captured, canary


def test_redaction_masks_what_slips_through() -> None:
    line = f"user {EMAIL} phone {PHONE} link http://x/p/WyJDMDAwMDEiLCJlbWFpbCIsbnVsbF0.awRzCg.GiRfGxrnJPqI16LslbZz4jfpT9E"
    cleaned = redact(line)
    assert EMAIL not in cleaned and PHONE not in cleaned and "GiRfGx" not in cleaned
