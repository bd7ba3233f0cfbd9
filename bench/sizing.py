"""Sizing: what planning and dispatch cost in CPU seconds, rows, bytes and WAL.

``python -m bench.sizing --customers 100000 [--db postgresql|sqlite] [--deliver N]``

The main benchmark (``python -m bench``) times stages in wall-clock seconds, which on a
shared machine move with the load. This harness measures what does not, on the same
seeded data (:mod:`bench.data`) and the same broadcast (:mod:`bench.scenarios`):

- **CPU seconds** of each phase: ``getrusage`` of this process and of its finished
  children (the planning workers, the ``rapport dispatch --once`` process), and, on
  PostgreSQL, of the server processes serving the bench database (their ``utime +
  stime`` in ``/proc``, polled every 0.2 s by a process of its own, so a backend that
  exits loses at most its last 0.2 s; Linux only);
- on PostgreSQL, **rows** inserted, updated and deleted per table
  (``pg_stat_user_tables``, which counts TOAST rows apart), **transactions**
  (``pg_stat_database``), **WAL** written for this database's relations
  (``pg_walinspect`` between the phase's LSNs, held by a temporary replication slot so
  no checkpoint recycles them; full-page images counted apart), and **table and index
  sizes** after each step (``pg_table_size``, ``pg_indexes_size``);
- a **calibration**: the CPU seconds of a fixed pure-Python loop before and after, a
  rough gauge of a core's speed for comparing runs (it does not see the memory and
  cache contention that makes planning's CPU seconds grow on a busy machine).

Phases: load the data; the broadcast in one process; the same broadcast again (a
repeat tick: every daemon tick plans each day in play again, reads the same
candidates and finds them planned); both again with every planning process; then up
to ``--deliver`` e-mails by ``rapport dispatch --once`` (an ``smtp://`` URL's
defaults, into the aiosmtpd sink) and up to ``--deliver`` SMS by the in-process
dispatcher (``http_sms`` defaults, into the HTTP sink). The harness's own update that
makes messages due is done before each dispatch phase is measured.

The result goes to ``bench/results/sizing/<timestamp>-<db>-<customers>.json``
(docs/operations.md, "Sizing", quotes it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, text

from bench import data
from bench import scenarios as scenarios_module
from bench.run import DAY, database
from bench.scenarios import (
    BROADCAST_ID,
    REPO,
    bench_settings,
    deliver,
    deliver_by_command,
    forget_campaign,
    make_due,
    run_scenario,
    write_campaigns,
)
from bench.sinks import HTTPSink, SMTPSink
from bench.stages import StatementCounter
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.rendering.renderer import Renderer

RESULTS = Path(__file__).resolve().parent / "results" / "sizing"
TICK = os.sysconf("SC_CLK_TCK")
#: PostgreSQL 15 flushes an idle backend's statistics after 10 s.
STATS_SETTLE = 11.0
_TABLES = """
SELECT c.relname, pg_table_size(c.oid) AS heap_toast, pg_indexes_size(c.oid) AS indexes,
       pg_total_relation_size(c.oid) AS total
FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind = 'r'
"""
_WAL = """
SELECT count(*) AS records, coalesce(sum(record_length), 0) AS bytes,
       coalesce(sum(fpi_length), 0) AS fpi_bytes
FROM pg_get_wal_records_info(CAST(:start AS pg_lsn), CAST(:end AS pg_lsn))
WHERE block_ref LIKE :relations
"""


def calibration(loops: int = 20_000_000) -> float:
    """CPU seconds of a fixed pure-Python loop: how fast a core is right now."""
    started = time.process_time()
    total = 0
    for i in range(loops):
        total += i
    return time.process_time() - started


def poll_server_cpu(dbname: str, out: str) -> None:
    """Forever: the highest ``utime + stime`` (clock ticks) seen of each PostgreSQL
    process serving ``dbname``, written to ``out`` as JSON every 0.2 s."""
    marker = f" {dbname} ".encode()
    ours: dict[int, bool] = {}
    ticks: dict[int, int] = {}
    while True:
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            pid = int(name)
            if pid not in ours:
                try:
                    command = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
                except OSError:
                    continue
                # "postgres: 15/main: postgres <db> 127.0.0.1(5555) idle"; a backend
                # just forked may not have its title yet: look again next time
                if command.startswith(b"postgres: ") and marker in command + b" ":
                    ours[pid] = True
                elif b"postgres" not in command:
                    ours[pid] = False
            if not ours.get(pid):
                continue
            try:
                fields = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()
            except OSError:
                continue
            ticks[pid] = max(ticks.get(pid, 0), int(fields[11]) + int(fields[12]))
        Path(out + ".tmp").write_text(json.dumps(ticks), encoding="utf-8")
        os.replace(out + ".tmp", out)
        time.sleep(0.2)


class Probe:
    """Snapshots of CPU, server CPU and database counters; :meth:`delta` of two."""

    def __init__(
        self, engine: Engine, dbname: str | None, ticks_file: str | None, settle: float
    ) -> None:
        self.engine = engine
        self.settle = settle
        self.dbname = dbname
        self.ticks_file = ticks_file

    def take(self) -> dict[str, Any]:
        snapshot: dict[str, Any] = {"stats": None, "server": {}}
        if self.dbname is not None:
            snapshot["stats"] = self._stats()
            time.sleep(0.5)  # the poller's next round sees the last ticks
            snapshot["server"] = json.loads(Path(str(self.ticks_file)).read_text("utf-8"))
        own = resource.getrusage(resource.RUSAGE_SELF)
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        snapshot.update(
            wall=time.perf_counter(),
            at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
            load=os.getloadavg(),
            cpu={
                "self": own.ru_utime + own.ru_stime,
                "children": children.ru_utime + children.ru_stime,
            },
        )
        return snapshot

    def _stats(self) -> dict[str, Any]:
        time.sleep(self.settle)
        with self.engine.connect() as connection:
            connection.execute(text("SELECT pg_stat_force_next_flush()"))
            database = connection.execute(
                text(
                    "SELECT xact_commit, xact_rollback, tup_inserted, tup_updated, tup_deleted "
                    "FROM pg_stat_database WHERE datname = current_database()"
                )
            ).mappings()
            tables = connection.execute(
                text("SELECT relname, n_tup_ins, n_tup_upd, n_tup_del FROM pg_stat_user_tables")
            ).mappings()
            return {
                "database": dict(database.one()),
                "tables": {
                    row["relname"]: [row["n_tup_ins"], row["n_tup_upd"], row["n_tup_del"]]
                    for row in tables
                },
                "lsn": connection.execute(text("SELECT pg_current_wal_lsn()::text")).scalar_one(),
            }

    def delta(self, before: dict[str, Any], after: dict[str, Any]) -> dict[str, Any]:
        """What happened between two snapshots (the settling waits excluded from wall)."""
        cpu = {key: after["cpu"][key] - before["cpu"][key] for key in ("self", "children")}
        result: dict[str, Any] = {
            "at": before["at"],
            "load_before": before["load"],
            "load_after": after["load"],
            "client_cpu_seconds": cpu["self"] + cpu["children"],
            "cpu": cpu,
        }
        if self.dbname is None:
            return result
        result["server_cpu_seconds"] = (
            sum(max(0, v - before["server"].get(pid, 0)) for pid, v in after["server"].items())
            / TICK
        )
        old, new = before["stats"], after["stats"]
        result["database"] = {k: new["database"][k] - old["database"][k] for k in new["database"]}
        rows = {}
        for table, counts in new["tables"].items():
            was = old["tables"].get(table, [0, 0, 0])
            changed = {
                name: now - then
                for name, now, then in zip(
                    ("inserted", "updated", "deleted"), counts, was, strict=True
                )
            }
            if any(changed.values()):
                rows[table] = changed
        result["rows"] = rows
        result["wal"] = self._wal(old["lsn"], new["lsn"])
        return result

    def _wal(self, start: str, end: str) -> dict[str, int]:
        with self.engine.connect() as connection:
            oid = connection.execute(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            ).scalar_one()
            row = connection.execute(
                text(_WAL), {"start": start, "end": end, "relations": f"%/{oid}/%"}
            ).mappings()
            return {key: int(value) for key, value in row.one().items()}


def sizes(engine: Engine) -> dict[str, Any]:
    """Rows and bytes of every table (PostgreSQL), or the file's size (SQLite)."""
    if engine.dialect.name != "postgresql":
        return {"database_bytes": os.path.getsize(str(engine.url.database))}
    with engine.connect() as connection:
        tables: dict[str, dict[str, int]] = {}
        for row in connection.execute(text(_TABLES)).mappings():
            count = connection.execute(text(f'SELECT count(*) FROM "{row["relname"]}"'))
            tables[row["relname"]] = {
                "rows": int(count.scalar_one()),
                **{key: int(row[key]) for key in ("heap_toast", "indexes", "total")},
            }
        total = connection.execute(text("SELECT pg_database_size(current_database())"))
        return {"database_bytes": int(total.scalar_one()), "tables": tables}


def measure(
    kind: str, customers: int, deliver_limit: int = 10_000, settle: float = STATS_SETTLE
) -> dict[str, Any]:
    """Every phase on a fresh database; the result as plain data. ``settle``: seconds
    to wait before reading PostgreSQL's counters (less than 10 s may miss the last
    second's; the tests use 0)."""
    result: dict[str, Any] = {
        "db": kind,
        "customers": customers,
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
        ).stdout.strip(),
        "cores": os.cpu_count(),
        "calibration_before": calibration(),
    }
    now = datetime.combine(DAY, clock_time(9, 30), tzinfo=UTC)
    with (
        tempfile.TemporaryDirectory(prefix="rapport-sizing-") as tmp,
        database(kind, Path(tmp)) as url,
    ):
        workdir = Path(tmp)
        folders = write_campaigns(workdir / "campaigns", DAY)
        engine = make_engine(url)
        upgrade(engine)
        poller = slot = None
        dbname = ticks_file = None
        if kind == "postgresql":
            dbname = url.rsplit("/", 1)[1]
            slot = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            slot.execute(text("CREATE EXTENSION IF NOT EXISTS pg_walinspect"))
            # Other sessions' CREATE DATABASE forces checkpoints, which recycle WAL
            # segments; a temporary slot keeps this run's readable until it ends.
            slot.execute(
                text("SELECT pg_create_physical_replication_slot(:name, true, true)"),
                {"name": f"sizing_{dbname[-10:]}"},
            )
            ticks_file = str(workdir / "server-ticks.json")
            Path(ticks_file).write_text("{}", encoding="utf-8")
            poller = subprocess.Popen(
                [sys.executable, "-m", "bench.sizing", "--poll", dbname, ticks_file], cwd=REPO
            )
        try:
            probe = Probe(engine, dbname, ticks_file, settle)
            counter = StatementCounter(engine)
            renderer = Renderer(REPO / "templates", "en")

            def phase(name: str, work: Callable[[], dict[str, Any]]) -> None:
                before = probe.take()
                started = time.perf_counter()
                facts = work()
                facts["wall_seconds"] = time.perf_counter() - started
                result[name] = {**facts, **probe.delta(before, probe.take())}
                print(f"{name}: {json.dumps(result[name], default=str)[:300]}", file=sys.stderr)

            def plan(workers: int) -> dict[str, Any]:
                settings = bench_settings(
                    folders["broadcast"],
                    url,
                    "smtp://127.0.0.1:9",
                    "http://127.0.0.1:9",
                    0,
                    workers,
                )
                run = run_scenario(
                    "broadcast", engine, settings, renderer, counter, DAY, now, timed_stages=False
                )
                keys = ("candidates", "planned", "inserted", "already_planned", "statements")
                return {"workers": workers, **{key: getattr(run, key) for key in keys}}

            phase("load", lambda: {"generated": data.generate(engine, customers, DAY).counts})
            result["sizes_after_load"] = sizes(engine)
            phase("broadcast_one_process", lambda: plan(1))
            result["sizes_after_broadcast"] = sizes(engine)
            phase("repeat_one_process", lambda: plan(1))
            forget_campaign(engine, BROADCAST_ID)
            phase("broadcast_all_processes", lambda: plan(0))
            phase("repeat_all_processes", lambda: plan(0))
            result["sizes_after_planning"] = sizes(engine)
            with SMTPSink() as smtp_sink, HTTPSink() as http_sink:
                settings = bench_settings(
                    folders["broadcast"], url, smtp_sink.url, http_sink.url, 0
                )
                make_due(engine, "email", deliver_limit, datetime.now(UTC), window=True)
                scenarios_module.make_due = lambda *args, **kwargs: None  # type: ignore[assignment]
                try:
                    phase(
                        "dispatch_email",
                        lambda: asdict(
                            deliver_by_command(engine, url, workdir, deliver_limit, smtp_sink)
                        ),
                    )
                    make_due(engine, "sms", deliver_limit, now)
                    phase(
                        "dispatch_sms",
                        lambda: asdict(
                            deliver(engine, settings, "sms", deliver_limit, now, http_sink, counter)
                        ),
                    )
                finally:
                    scenarios_module.make_due = make_due
            result["sizes_after_dispatch"] = sizes(engine)
        finally:
            if poller is not None:
                poller.terminate()
                poller.wait()
            if slot is not None:
                slot.close()
            engine.dispose()
    result["calibration_after"] = calibration()
    return result


def save(result: dict[str, Any], out: Path = RESULTS) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    stamp = result["started"].replace(":", "").replace("-", "")
    path = out / f"{stamp}-{result['db']}-{result['customers']}.json"
    path.write_text(json.dumps(result, indent=2, default=str) + "\n", encoding="utf-8")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.sizing", description=__doc__)
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--deliver", type=int, default=10_000, help="messages per channel")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--poll", nargs=2, metavar=("DB", "FILE"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.poll:
        poll_server_cpu(*args.poll)
        return 0
    print(f"written: {save(measure(args.db, args.customers, args.deliver), args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
