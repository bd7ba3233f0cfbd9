"""``rapport customers export`` writes a customer's record as it reads it, so a long
history takes bounded memory: a customer with 200,000 orders (a 40 MB file) took
557 MB of memory, the whole record being read into lists, then into one string,
before a byte was written. The document is the one :func:`export_customer` returns,
indented as before, on stdout and in the file.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import tracemalloc
from pathlib import Path

from factories import run_rapport
from sqlalchemy import Engine

from rapport.consent.privacy import export_customer
from tests.consent.test_export_and_erasure import seed

ORDERS = 30_000


def big_customer(tmp_path: Path) -> None:
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    (tmp_path / "c.csv").write_text(
        "id,locale,timezone\nc-1,zh_Hans_CN,Asia/Shanghai\n", encoding="utf-8"
    )
    assert run_rapport("import", "customers", "c.csv", cwd=tmp_path).returncode == 0
    with (tmp_path / "o.csv").open("w", encoding="utf-8") as orders:
        orders.write("id,customer_id,sku,quantity,amount,currency,ordered_at\n")
        for i in range(ORDERS):
            orders.write(
                f"O{i},c-1,SKU-{i % 50},1,{10 + i % 90}.50,CNY,2025-03-{1 + i % 28:02d}T10:00:00Z\n"
            )
    assert run_rapport("import", "orders", "o.csv", cwd=tmp_path).returncode == 0


def test_a_long_history_is_exported_in_bounded_memory(tmp_path: Path) -> None:
    big_customer(tmp_path)
    # Once first, so that what the command imports and caches is not counted.
    assert (
        run_rapport("customers", "export", "c-1", "-o", "warm.json", cwd=tmp_path).returncode == 0
    )

    tracemalloc.start()
    try:
        ran = run_rapport("customers", "export", "c-1", "-o", "c-1.json", cwd=tmp_path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    assert ran.returncode == 0, ran.stderr
    size = (tmp_path / "c-1.json").stat().st_size
    assert size > 5_000_000
    assert len(json.loads((tmp_path / "c-1.json").read_text(encoding="utf-8"))["orders"]) == ORDERS
    assert peak < size / 4, f"peak {peak:,} bytes for a file of {size:,}"


def test_the_file_and_stdout_hold_the_document_export_customer_returns(
    engine: Engine, tmp_path: Path
) -> None:
    """Maryam's record (every section, some empty) through the command, compared with
    the library's dict dumped as the command always dumped it."""
    seed(engine, tmp_path)
    with engine.connect() as connection:
        data = export_customer(connection, "FA1")
    url = engine.url.render_as_string(hide_password=False)
    env = {"RAPPORT_DATABASE_URL": url}

    to_file = run_rapport("customers", "export", "FA1", "-o", "fa1.json", cwd=tmp_path, env=env)
    printed = run_rapport("customers", "export", "FA1", cwd=tmp_path, env=env)

    assert to_file.returncode == 0 and printed.returncode == 0, (to_file.stderr, printed.stderr)
    expected = json.dumps({**data, "exported_at": "T"}, ensure_ascii=False, indent=2) + "\n"
    assert _without_time((tmp_path / "fa1.json").read_text(encoding="utf-8")) == expected
    assert _without_time(printed.stdout) == expected


def _without_time(text: str) -> str:
    """The document with its exported_at value replaced by T (it is the run's time)."""
    head, _, tail = text.rpartition('"exported_at": "')
    return head + '"exported_at": "T' + tail[tail.index('"') :]


def test_an_export_to_a_pipe_writes_into_it_and_leaves_it_a_pipe(tmp_path: Path) -> None:
    """``-o`` naming a named pipe (or /dev/stdout, a process substitution's /dev/fd/N,
    /dev/null) writes into it: a file that is not a regular one is never replaced by a
    new file beside it, which for /dev/null would have put a JSON file in its place."""
    big_customer_small(tmp_path)
    fifo = tmp_path / "export.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()), daemon=True)
    reader.start()

    ran = run_rapport("customers", "export", "c-1", "-o", str(fifo), cwd=tmp_path)
    reader.join(timeout=10)

    assert ran.returncode == 0, ran.stderr
    assert stat.S_ISFIFO(fifo.lstat().st_mode)
    assert received and json.loads(received[0])["customer"]["id"] == "c-1"
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []


def big_customer_small(tmp_path: Path) -> None:
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    (tmp_path / "c.csv").write_text("id,locale,timezone\nc-1,fa_IR,Asia/Tehran\n", encoding="utf-8")
    assert run_rapport("import", "customers", "c.csv", cwd=tmp_path).returncode == 0
