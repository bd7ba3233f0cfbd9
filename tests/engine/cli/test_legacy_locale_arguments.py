"""A customer id typed in Persian or Chinese reaches the command as typed under a C/POSIX
locale with Python's legacy encodings (``LANG=C``, ``PYTHONUTF8=0``,
``PYTHONCOERCECLOCALE=0``): Python then reads the command line's UTF-8 bytes as ASCII
with surrogate escapes, and ``consent show``, ``customers export``, ``explain`` and the
rest stopped with 'unexpected error ...: UnicodeEncodeError: ... surrogates not
allowed' (exit 3). Bytes that are not UTF-8 at all are a usage error naming the
argument (exit 2). Real processes: the locale is the process's own.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import run_rapport

FA, ZH = "مشتری۱", "顾客一"


@pytest.fixture(scope="module")
def shop(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("shop")
    assert run_rapport("init", ".", cwd=folder).returncode == 0
    assert run_rapport("db", "upgrade", cwd=folder).returncode == 0
    (folder / "c.csv").write_text(
        "id,first_name,last_name,locale,timezone\n"
        f"{FA},شبنم,نوری\u200cزاده,fa_IR,Asia/Tehran\n{ZH},娜,王,zh_CN,Asia/Shanghai\n",
        encoding="utf-8",
    )
    assert run_rapport("import", "customers", "c.csv", cwd=folder).returncode == 0
    return folder


def legacy(cwd: Path, *args: str | bytes) -> subprocess.CompletedProcess[bytes]:
    """``rapport ARGS`` under the C locale with Python's legacy (ASCII) encodings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("RAPPORT_", "LC_", "PYTHON"))}
    env.update(LANG="C", LC_ALL="C", PYTHONUTF8="0", PYTHONCOERCECLOCALE="0")
    command = [str(Path(sys.executable).with_name("rapport")), *args]
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, timeout=120)


@pytest.mark.parametrize("customer", [FA, ZH])
def test_a_customer_id_in_another_script_is_read_as_typed(shop: Path, customer: str) -> None:
    shown = legacy(shop, "consent", "show", customer, "--json")
    assert shown.returncode == 0, shown.stderr.decode("ascii", "backslashreplace")
    assert json.loads(shown.stdout)["customer_id"] == customer

    exported = legacy(shop, "customers", "export", customer)
    assert exported.returncode == 0, exported.stderr.decode("ascii", "backslashreplace")
    assert json.loads(exported.stdout)["customer"]["id"] == customer

    explained = legacy(shop, "explain", customer, "--date", "2026-12-08", "--json")
    assert explained.returncode == 0, explained.stderr.decode("ascii", "backslashreplace")
    assert json.loads(explained.stdout.splitlines()[0])["customer_id"] == customer


def test_an_unknown_customer_id_in_another_script_is_named(shop: Path) -> None:
    ran = legacy(shop, "consent", "show", "مشتری۹")
    assert ran.returncode == 1
    assert b"no customer with id" in ran.stderr
    assert b"unexpected error" not in ran.stderr


def test_a_customer_id_that_is_not_utf8_is_a_usage_error(shop: Path) -> None:
    ran = legacy(shop, "consent", "show", b"\xff\xfeC1")
    assert ran.returncode == 2, ran.stderr
    assert b"CUSTOMER" in ran.stderr and b"not UTF-8 text" in ran.stderr
    assert b"unexpected error" not in ran.stderr


def test_a_grant_s_persian_source_and_chinese_wording_are_recorded_as_typed(shop: Path) -> None:
    granted = legacy(
        shop, "consent", "grant", ZH, "--channel", "email", "--topic", "offers",
        "--source", "فرم_کاغذی", "--wording", "表格-2025",
    )  # fmt: skip
    assert granted.returncode == 0, granted.stderr.decode("ascii", "backslashreplace")
    shown = legacy(shop, "consent", "show", ZH, "--json")
    (evidence,) = json.loads(shown.stdout)["evidence"]
    assert (evidence["source"], evidence["wording"]) == ("operator:فرم_کاغذی", "表格-2025")
