"""``python -m bench.profile [--customers N] [--db sqlite|postgresql]``: where the time goes.

Profiles the broadcast and e-mail delivery under cProfile (which slows everything
down, so its timings are not the benchmark's) and writes the top entries to
``bench/results/profile-<db>-<n>.txt``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import tempfile
from datetime import UTC, datetime, time
from pathlib import Path

from bench import data
from bench.run import DAY, database
from bench.scenarios import REPO, bench_settings, deliver, run_scenario, write_campaigns
from bench.sinks import HTTPSink, SMTPSink
from bench.stages import StatementCounter
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.rendering.renderer import Renderer

RESULTS = Path(__file__).resolve().parent / "results"


def _top(profile: cProfile.Profile, title: str, limit: int) -> str:
    out = io.StringIO()
    out.write(f"## {title}\n\n")
    stats = pstats.Stats(profile, stream=out)
    stats.strip_dirs().sort_stats("cumulative").print_stats(limit)
    out.write("\n")
    stats.sort_stats("tottime").print_stats(limit)
    return out.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("--customers", type=int, default=20_000)
    parser.add_argument("--db", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--deliver", type=int, default=1_000)
    parser.add_argument("--limit", type=int, default=30)
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args(argv)
    now = datetime.combine(DAY, time(9, 30), tzinfo=UTC)
    parts = []
    with (
        tempfile.TemporaryDirectory(prefix="rapport-profile-") as tmp,
        database(args.db, Path(tmp)) as url,
        SMTPSink() as smtp_sink,
        HTTPSink() as http_sink,
    ):
        folders = write_campaigns(Path(tmp) / "campaigns", DAY)
        engine = make_engine(url)
        upgrade(engine)
        data.generate(engine, args.customers, DAY)
        counter = StatementCounter(engine)
        settings = bench_settings(folders["broadcast"], url, smtp_sink.url, http_sink.url, 4)
        renderer = Renderer(REPO / "templates", "en")
        profile = cProfile.Profile()
        profile.enable()
        result = run_scenario("broadcast", engine, settings, renderer, counter, DAY, now)
        profile.disable()
        parts.append(_top(profile, f"broadcast, {result.planned:,} planned", args.limit))
        profile = cProfile.Profile()
        profile.enable()
        sent = deliver(engine, settings, "email", args.deliver, now, smtp_sink, counter)
        profile.disable()
        parts.append(_top(profile, f"e-mail delivery, {sent.sink_count:,} sent", args.limit))
        engine.dispose()
    args.out.mkdir(parents=True, exist_ok=True)
    path = args.out / f"profile-{args.db}-{args.customers}.txt"
    path.write_text("".join(parts), encoding="utf-8")
    print(f"written: {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
