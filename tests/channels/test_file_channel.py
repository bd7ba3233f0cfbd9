"""File outbox specifics: safe, collision-free, idempotent file names."""

from __future__ import annotations

import json
import re
from pathlib import Path

from rapport.channels import FileChannel, Outcome, OutgoingMessage, build_channel
from rapport.channels.file import safe_file_stem

SMS = OutgoingMessage(
    idempotency_key="c2:birthday:2025-03-01:sms",
    kind="sms",
    to="+989121234567",
    text="تولدت مبارک",
    locale="fa",
    customer_id="c2",
    campaign="birthday",
)


async def test_sending_twice_overwrites_one_file(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path)
    first = await channel.send(SMS)
    second = await channel.send(SMS)

    assert first == second
    assert first.outcome is Outcome.ACCEPTED
    assert [p.name for p in tmp_path.iterdir()] == [channel.file_for(SMS).name]


async def test_sms_file_holds_the_message_and_ids(tmp_path: Path) -> None:
    channel = FileChannel(tmp_path)
    await channel.send(SMS)

    record = json.loads(channel.file_for(SMS).read_text(encoding="utf-8"))
    assert record == {
        "to": "+989121234567",
        "text": "تولدت مبارک",
        "locale": "fa",
        "idempotency_key": "c2:birthday:2025-03-01:sms",
        "customer_id": "c2",
        "campaign": "birthday",
    }


def test_file_names_are_safe_and_distinct() -> None:
    keys = ["a:b", "a_b", "a/b", "../../etc/passwd", "c1:生日:sms", "x" * 500, ":"]
    stems = [safe_file_stem(key) for key in keys]

    assert len(set(stems)) == len(keys)
    for stem in stems:
        assert re.fullmatch(r"[A-Za-z0-9._-]{1,100}", stem)
        assert not stem.startswith(".")


async def test_the_directory_is_created_and_left_clean(tmp_path: Path) -> None:
    outbox = tmp_path / "deep" / "outbox"
    await FileChannel(outbox).send(SMS)

    assert [p.suffix for p in outbox.iterdir()] == [".json"]


async def test_an_unwritable_outbox_is_transient(tmp_path: Path) -> None:
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    result = await FileChannel(blocker / "outbox").send(SMS)

    assert result.outcome is Outcome.TRANSIENT


def test_relative_paths_resolve_against_the_config_directory(tmp_path: Path) -> None:
    relative = build_channel("file", {"path": "var/outbox"}, tmp_path)
    absolute = build_channel("file", {"path": str(tmp_path / "abs")}, Path("/elsewhere"))

    assert isinstance(relative, FileChannel) and isinstance(absolute, FileChannel)
    assert relative.path == tmp_path / "var" / "outbox"
    assert absolute.path == tmp_path / "abs"
