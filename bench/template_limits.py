"""``python -m bench.template_limits``: hostile templates cost at most 2 s and 200 MB.

Each case of ``tests/engine/rendering/test_budget.py``'s HOSTILE list is put alone in
a template folder and checked by ``rapport campaigns validate`` as a real process;
this prints each one's wall time and peak RSS and exits 1 if any took over 2 s or
200 MB (issue 15, point 1). The tests check that every case is refused, at its line;
how fast is this benchmark's business, since a loaded machine is slower.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
RAPPORT = str(Path(sys.executable).parent / "rapport")
SECONDS, MEGABYTES = 2.0, 200

MEASURED = (
    "import resource, subprocess, sys\n"
    "code = subprocess.run(sys.argv[1:], capture_output=True).returncode\n"
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)\n"
)


def hostile_cases() -> dict[str, str]:
    sys.path.insert(0, str(REPO / "tests" / "engine" / "rendering"))
    from test_budget import HOSTILE  # type: ignore[import-not-found]

    return dict(HOSTILE)


def tree(root: Path, body: str) -> Path:
    """One campaign (the shipped birthday greeting) whose English e-mail starts with
    ``body``."""
    (root / "campaigns").mkdir(parents=True)
    shutil.copy(REPO / "campaigns" / "birthday.yaml", root / "campaigns")
    shutil.copytree(REPO / "templates", root / "templates")
    email = root / "templates" / "birthday" / "en" / "email.txt"
    email.write_text(body + "\n" + email.read_text(encoding="utf-8"), encoding="utf-8")
    (root / "config.yaml").write_text("database: {url: 'sqlite:///rapport.db'}\n")
    return root


def measure(body: str) -> tuple[float, int, int]:
    """Seconds, peak MB and exit code of ``rapport campaigns validate``."""
    with tempfile.TemporaryDirectory() as folder:
        root = tree(Path(folder), body)
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-c", MEASURED, RAPPORT, "campaigns", "validate"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=600,
        )
        seconds = time.monotonic() - started
    kilobytes, code = done.stdout.split()
    return seconds, int(kilobytes) // 1024, int(code)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.template_limits", description=__doc__)
    parser.parse_args(argv)
    baseline, baseline_mb, _ = measure("")
    print(f"{'shipped templates only':40} {baseline:6.2f} s {baseline_mb:5d} MB")
    failed = 0
    for name, body in hostile_cases().items():
        seconds, megabytes, code = measure(body)
        over = seconds > SECONDS or megabytes > MEGABYTES or code != 1
        failed += over
        mark = "  OVER" if over else ""
        print(f"{name:40} {seconds:6.2f} s {megabytes:5d} MB exit {code}{mark}")
    print(f"{failed} case(s) over {SECONDS:g} s or {MEGABYTES} MB (or not refused)")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
