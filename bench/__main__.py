"""``python -m bench [--quick] [--customers N] [--db sqlite|postgresql|both] [--out DIR]``.

After the database runs, the start-up of ``rapport --help`` and ``rapport explain``
(bench/startup.py); ``--startup-only`` runs just that, ``--no-startup`` skips it.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

from bench import report, startup
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
    parser.add_argument(
        "--concurrency",
        type=int,
        default=0,
        help="connections per channel (0: each adapter's default, 16 for smtp and http_sms)",
    )
    parser.add_argument(
        "--email-sink",
        choices=("smtp-sink", "python"),
        default="smtp-sink",
        help="postfix's smtp-sink, e-mail sent by `rapport dispatch --once` (default), "
        "or an aiosmtpd sink and the in-process dispatcher",
    )
    parser.add_argument(
        "--workers", type=int, default=0, help="planning processes (0: one per core)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress display")
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--startup-only", action="store_true", help="only the start-up of two commands"
    )
    which.add_argument("--no-startup", action="store_true", help="skip the start-up runs")
    args = parser.parse_args(argv)
    customers = args.customers or (100_000 if args.quick else 1_000_000)
    db = args.db or ("both" if args.quick else "sqlite")
    kinds = () if args.startup_only else ("sqlite", "postgresql") if db == "both" else (db,)
    progress = Progress(quiet=args.quiet)
    for kind in kinds:
        result = run(
            kind,
            customers,
            deliver_limit=args.deliver,
            concurrency=args.concurrency,
            workers=args.workers,
            progress=progress,
            email_sink=args.email_sink,
        )
        path = save(result, args.out)
        print(report.table(result))
        print(f"written: {path}")
    if not args.no_startup:
        progress.stage("start-up: rapport demo, then --help and explain")
        with tempfile.TemporaryDirectory(prefix="rapport-startup-") as tmp:
            measured = startup.measure(Path(tmp))
        progress.done()
        print(startup.table(measured))
        print(f"written: {startup.save(measured, args.out)}")
    print(f"written: {report.write_latest(args.out)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
