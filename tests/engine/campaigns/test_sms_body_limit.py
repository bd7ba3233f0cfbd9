"""``campaigns validate`` fails an SMS template whose text is longer than an adapter of
the campaign's SMS channel carries.

Twilio takes at most 1,600 characters (``max_body_chars``); every longer text is a
permanent failure at sending. A campaign without ``sms_max_segments`` and an SMS
template printing more validated as fine, and every message of it failed only when
the dispatcher sent it.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from factories import REPO, run_rapport

#: A Twilio SMS channel: the second provider of a failover pair in one case.
CHANNELS = {
    "twilio": "  sms:\n    adapter: twilio\n",
    "failover to twilio": "  sms:\n    providers:\n"
    "      - {adapter: http_sms, url: 'http://127.0.0.1:9/sms'}\n"
    "      - adapter: twilio\n",
}
TWILIO = "    account_sid: AC1\n    auth_token_env: TWILIO_TOKEN\n    from_number: '+15550100'\n"


def tree(tmp_path: Path, channel: str, sms: str) -> Path:
    shutil.copytree(REPO / "campaigns", tmp_path / "campaigns")
    shutil.copytree(REPO / "templates", tmp_path / "templates")
    (tmp_path / "templates/birthday/en/sms.txt").write_text(sms, encoding="utf-8")
    twilio = TWILIO if "providers" not in channel else TWILIO.replace("    ", "        ")
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\nchannels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        f"{channel}{twilio}    kind: sms\n",
        encoding="utf-8",
    )
    return tmp_path


@pytest.mark.parametrize("channel", CHANNELS.values(), ids=CHANNELS.keys())
def test_an_sms_longer_than_the_channels_adapter_carries_fails_validation(
    tmp_path: Path, channel: str
) -> None:
    root = tree(tmp_path, channel, "{{ 'Long text. ' * 150 }}\nReply STOP to opt out")
    ran = run_rapport("campaigns", "validate", cwd=root, env={"TWILIO_TOKEN": "t"})
    assert ran.returncode == 1, ran.stdout + ran.stderr
    assert "templates/birthday/en/sms.txt:1: " in ran.stderr, ran.stderr
    assert "the twilio adapter of channel 'sms' carries at most 1600" in ran.stderr


def test_an_sms_the_adapter_carries_passes(tmp_path: Path) -> None:
    root = tree(tmp_path, CHANNELS["twilio"], "{{ 'Long text. ' * 120 }}\nReply STOP to opt out")
    ran = run_rapport("campaigns", "validate", cwd=root, env={"TWILIO_TOKEN": "t"})
    assert ran.returncode == 0, ran.stdout + ran.stderr
