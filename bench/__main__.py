"""``python -m bench [--quick] [--customers N] [--db sqlite|postgresql|both] [--out DIR]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bench import report
from bench.run import Progress, run, save

RESULTS = Path(__file__).resolve().parent / "results"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="100k customers on both databases")
    parser.add_argument("--customers", type=int, default=None, help="default 1,000,000")
    parser.add_argument("--db", choices=("sqlite", "postgresql", "both"), default=None)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument(
        "--deliver", type=int, default=10_000, help="messages per channel to dispatch"
    )
    parser.add_argument("--concurrency", type=int, default=4, help="connections per channel")
    parser.add_argument(
        "--workers", type=int, default=0, help="planning processes (0: one per core)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    args = parser.parse_args(argv)
    customers = args.customers or (100_000 if args.quick else 1_000_000)
    db = args.db or ("both" if args.quick else "sqlite")
    kinds = ("sqlite", "postgresql") if db == "both" else (db,)
    progress = Progress(quiet=args.quiet)
    for kind in kinds:
        result = run(
            kind,
            customers,
            deliver_limit=args.deliver,
            concurrency=args.concurrency,
            workers=args.workers,
            progress=progress,
        )
        path = save(result, args.out)
        print(report.table(result))
        print(f"written: {path}")
    print(f"written: {report.write_latest(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
