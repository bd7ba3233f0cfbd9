"""Every ``rapport`` command on a stdout or stderr that cannot hold a character (a
redirect under a Latin-1 locale, ``PYTHONIOENCODING=latin-1``; an ASCII one): a JSON
document is the same document with those characters as ``\\u`` escapes, text has them
as backslash escapes, and the command does what it does on UTF-8. Persian or Chinese
data stopped ``explain --json``, ``consent show``, ``preview`` and the rest with
'unexpected error in ...: UnicodeEncodeError' (exit 3). On a UTF-8 stream the output
is unchanged. Real processes: the in-process runner's streams are always UTF-8.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from factories import run_rapport

DAY = "2026-12-08"
#: A Persian id and a Chinese one; Persian names with a ZWNJ, Chinese names.
FA, ZH = "مشتری۱", "顾客一"
SOURCE, WORDING = "فرم_کاغذی", "表格-2025"
ROWS = [
    (FA, "شبنم", "نوری\u200cزاده", "fa_IR", "Asia/Tehran", "fa@example.com"),
    (ZH, "娜", "王", "zh_CN", "Asia/Shanghai", "zh@example.com"),
]


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An installation from ``rapport init`` with the two customers, born on DAY, each
    with a grant for birthday e-mails given on a Persian form of a Chinese wording."""
    folder = tmp_path_factory.mktemp("shop")
    assert run_rapport("init", ".", cwd=folder).returncode == 0
    assert run_rapport("db", "upgrade", cwd=folder).returncode == 0
    lines = "".join(f"{','.join(row)},1990-12-08\n" for row in ROWS)
    header = "id,first_name,last_name,locale,timezone,email,birthday\n"
    (folder / "c.csv").write_text(header + lines, encoding="utf-8")
    assert run_rapport("import", "customers", "c.csv", cwd=folder).returncode == 0
    for customer in (FA, ZH):
        granted = run_rapport(
            "consent", "grant", customer, "--channel", "email", "--topic", "birthday",
            "--source", SOURCE, "--wording", WORDING, cwd=folder,
        )  # fmt: skip
        assert granted.returncode == 0, granted.stderr
    return folder


def rapport(cwd: Path, encoding: str, *args: str) -> subprocess.CompletedProcess[bytes]:
    """``rapport ARGS`` as a process whose stdout and stderr have ``encoding``
    (``PYTHONIOENCODING``: an encoding and, after a colon, an error handler)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    env["PYTHONIOENCODING"] = encoding
    command = [str(Path(sys.executable).with_name("rapport")), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=120)


#: What differs between two renderings of one message: its Message-ID and the signed
#: tokens in its links (they carry the moment they were made).
_VARYING = re.compile(r"[0-9a-f]{32}@|[\w-]{16,}\.[\w-]{6}\.[\w-]{16,}")


def steady(text: str) -> str:
    return _VARYING.sub("*", text)


def escaped(text: str, encoding: str) -> bytes:
    """``text`` as a stream in ``encoding`` with backslash escapes writes it."""
    return text.encode(encoding, "backslashreplace")


JSON_COMMANDS = [
    ("explain", ZH, "--date", DAY, "--json"),
    ("consent", "show", FA, "--json"),
    ("preview", "birthday", "--customer", ZH, "--date", DAY, "--json"),
    ("plan", "--date", DAY, "--dry-run", "--json"),
]


@pytest.mark.parametrize("encoding", ["latin-1", "ascii"])
@pytest.mark.parametrize("args", JSON_COMMANDS, ids=["explain", "consent show", "preview", "plan"])
def test_a_json_document_on_a_narrow_stdout_is_the_same_document_escaped(
    shop: Path, encoding: str, args: tuple[str, ...]
) -> None:
    wide = rapport(shop, "utf-8", *args)
    narrow = rapport(shop, encoding, *args)
    assert narrow.returncode == wide.returncode == 0, narrow.stderr.decode(encoding)
    documents = narrow.stdout.decode(encoding).splitlines()
    assert [steady(json.dumps(json.loads(d))) for d in documents] == [
        steady(json.dumps(json.loads(d))) for d in wide.stdout.decode("utf-8").splitlines()
    ]
    assert FA in wide.stdout.decode("utf-8") or ZH in wide.stdout.decode("utf-8")


def test_text_on_a_latin1_stdout_has_backslash_escapes(shop: Path) -> None:
    shown = rapport(shop, "latin-1", "consent", "show", FA)
    assert shown.returncode == 0, shown.stderr.decode("latin-1")
    assert escaped(f"source=operator:{SOURCE} wording={WORDING}", "latin-1") in shown.stdout

    explained = rapport(shop, "latin-1", "explain", ZH, "--date", DAY)
    assert explained.returncode == 0, explained.stderr.decode("latin-1")
    assert escaped(f"customer {ZH} on {DAY}", "latin-1") in explained.stdout


def test_a_message_preview_on_a_latin1_stdout_is_written_whole(shop: Path) -> None:
    wide = rapport(shop, "utf-8", "preview", "birthday", "--customer", FA, "--date", DAY)
    narrow = rapport(shop, "latin-1", "preview", "birthday", "--customer", FA, "--date", DAY)
    assert narrow.returncode == wide.returncode == 0, narrow.stderr.decode("latin-1")
    written = narrow.stdout.decode("latin-1")
    assert steady(written) == steady(escaped(wide.stdout.decode("utf-8"), "latin-1").decode())
    assert "شبنم".encode() in wide.stdout


def test_an_import_of_a_persian_named_file_on_a_latin1_stdout_is_summed_up(
    shop: Path,
) -> None:
    name = "مشتریان\u200cجدید.csv"
    header = "id,first_name,last_name,locale,timezone\n"
    (shop / name).write_text(header + "ZH2,娜,王,zh_CN,Asia/Shanghai\n", encoding="utf-8")
    ran = rapport(shop, "latin-1", "import", "customers", name)
    assert ran.returncode == 0, ran.stderr.decode("latin-1")
    assert escaped(f"customers: {name}: 1 row read, 1 accepted", "latin-1") in ran.stdout
    exported = rapport(shop, "latin-1", "customers", "export", "ZH2")
    assert json.loads(exported.stdout.decode("latin-1"))["customer"]["first_name"] == "娜"


def test_output_on_a_utf8_stream_is_unchanged(shop: Path) -> None:
    ran = rapport(shop, "utf-8", "explain", ZH, "--date", DAY, "--json")
    assert ran.returncode == 0
    first = ran.stdout.decode("utf-8").splitlines()[0]
    assert first.startswith(f'{{"customer_id": "{ZH}", ')
    shown = rapport(shop, "utf-8", "consent", "show", FA)
    assert f"source=operator:{SOURCE} wording={WORDING}".encode() in shown.stdout
