"""``python -m bench.statements [--customers N] [--db postgresql|sqlite]``: the SQL of a
broadcast, statement by statement.

cProfile (:mod:`bench.profile`) says how long Python waited on the driver, not on
which query. This plans the bench's broadcast in one process (no workers, no stage
wrappers) with a timer around every statement the engine sends, grouped by the
statement's text (IN lists folded), and then runs ``EXPLAIN (ANALYZE, BUFFERS)`` on
the middle batch's instance of each of the slowest ones (PostgreSQL), so a plan that
reads a whole table per batch shows. Written to
``bench/results/profile-<db>-selection-<n>.txt``.
"""

from __future__ import annotations

import argparse
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from datetime import time as clock_time
from pathlib import Path
from typing import Any

from sqlalchemy import event, text

from bench import data
from bench.run import DAY, database
from bench.scenarios import REPO, bench_settings, write_campaigns
from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import require_campaigns
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.planning.plan import run_plan
from rapport.engine.rendering.renderer import Renderer

RESULTS = Path(__file__).resolve().parent / "results"
_IN_LIST = re.compile(r"IN \((?:[^()]|\([^()]*\))*\)")


@dataclass
class Shape:
    """One statement text: how often it ran, how long, one instance of its parameters."""

    text: str
    calls: int = 0
    seconds: float = 0.0
    rows: int = 0
    instances: list[Any] = field(default_factory=list)


class Tracer:
    def __init__(self) -> None:
        self.shapes: dict[str, Shape] = {}
        self._started: dict[int, float] = {}

    def before(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        self._started[id(cursor)] = time.perf_counter()

    def after(self, conn: Any, cursor: Any, statement: str, params: Any, context: Any, many: bool):
        took = time.perf_counter() - self._started.pop(id(cursor), time.perf_counter())
        key = " ".join(_IN_LIST.sub("IN (...)", statement).split())
        shape = self.shapes.get(key)
        if shape is None:
            shape = self.shapes[key] = Shape(key)
        shape.calls += 1
        shape.seconds += took
        shape.rows += max(cursor.rowcount, 0)
        if not many and len(shape.instances) < 400:
            shape.instances.append((statement, params))


def _timed_calls(tracer: Tracer) -> list[tuple[Any, str, Any]]:
    """Time what goes to the driver itself (the outbox's COPY, the decisions' write) and
    the parts of a batch around the statements; returns what to restore."""
    from rapport.engine.delivery import outbox
    from rapport.engine.planning import decisions
    from rapport.engine.planning import run as planning

    patched = []
    for owner, name in (
        (outbox, "enqueue"),
        (decisions.DecisionLog, "write"),
        (planning, "write_batch"),
        (planning, "audiences_for"),
    ):
        original = getattr(owner, name)
        key = f"[call] {owner.__name__}.{name}"

        def timed(*args: Any, _original: Any = original, _key: str = key, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return _original(*args, **kwargs)
            finally:
                shape = tracer.shapes.setdefault(_key, Shape(_key))
                shape.calls += 1
                shape.seconds += time.perf_counter() - started

        setattr(owner, name, timed)
        patched.append((owner, name, original))
    return patched


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.statements")
    parser.add_argument("--customers", type=int, default=100_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="postgresql")
    parser.add_argument("--top", type=int, default=12)
    parser.add_argument("--explain", type=int, default=6)
    parser.add_argument("--out", type=Path)
    args = parser.parse_args(argv)
    now = datetime.combine(DAY, clock_time(9, 30), tzinfo=UTC)
    lines: list[str] = []
    with (
        tempfile.TemporaryDirectory(prefix="rapport-statements-") as tmp,
        database(args.db, Path(tmp)) as url,
    ):
        folders = write_campaigns(Path(tmp) / "campaigns", DAY)
        engine = make_engine(url)
        upgrade(engine)
        data.generate(engine, args.customers, DAY)
        settings = bench_settings(folders["broadcast"], url, "smtp://127.0.0.1:1", "http://x", 4, 1)
        renderer = Renderer(REPO / "templates", "en")
        tracer = Tracer()
        calls = _timed_calls(tracer)
        event.listen(engine, "before_cursor_execute", tracer.before)
        event.listen(engine, "after_cursor_execute", tracer.after)
        started = time.perf_counter()
        report = run_plan(
            engine,
            settings,
            require_campaigns(settings),
            DAY,
            now,
            renderer=renderer,
            signer=Signer("bench-secret"),
        )
        total = time.perf_counter() - started
        for owner, name, original in calls:
            setattr(owner, name, original)
        event.remove(engine, "before_cursor_execute", tracer.before)
        event.remove(engine, "after_cursor_execute", tracer.after)
        in_sql = sum(s.seconds for k, s in tracer.shapes.items() if not k.startswith("[call]"))
        lines.append(
            f"# {args.db}, {args.customers:,} customers: broadcast in one process {total:.1f} s, "
            f"{report.candidates:,} read, {report.inserted:,} queued; "
            f"{in_sql:.1f} s in {sum(s.calls for s in tracer.shapes.values()):,} statements "
            "(SQLAlchemy's; the outbox and decision COPYs go to the driver, timed as [call] rows)\n"
        )
        ranked = sorted(tracer.shapes.values(), key=lambda s: -s.seconds)
        for shape in ranked[: args.top]:
            lines.append(
                f"{shape.seconds:8.2f} s {shape.calls:6d} calls "
                f"{1000 * shape.seconds / shape.calls:8.2f} ms/call {shape.rows:9d} rows  "
                f"{shape.text[:600]}\n"
            )
        if args.db == "postgresql":
            lines.append("\n## EXPLAIN (ANALYZE, BUFFERS) of the middle call of each\n")
            with engine.connect() as connection:
                raw = connection.connection.driver_connection
                assert raw is not None
                for shape in ranked[: args.explain]:
                    if not shape.instances or not shape.text.startswith("SELECT"):
                        continue
                    statement, params = shape.instances[len(shape.instances) // 2]
                    cursor = raw.cursor()
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                    cursor.close()
                    lines.append(f"\n### {shape.text[:300]}\n\n{plan}\n")
                connection.execute(text("SELECT 1"))
        engine.dispose()
    out = args.out or RESULTS / f"profile-{args.db}-selection-{args.customers}.txt"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("".join(lines), encoding="utf-8")
    print("".join(lines[: args.top + 1]))
    print(f"written: {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
