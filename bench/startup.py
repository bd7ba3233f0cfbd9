"""Start-up: how long ``rapport --help`` and ``rapport explain`` take, process start included.

A short command is mostly imports, so these are the figures a user feels at every
command. Each is the median of ``runs`` runs of the installed ``rapport`` script, in
a fresh process each, the two commands taking turns so both see the same load:

- ``rapport --help``;
- ``rapport explain`` on the demo's store: the bench first runs ``rapport demo`` in a
  temporary folder and then times the very ``explain`` line the demo suggests.

Bytecode is compiled as an install compiles it: the runs write and read it under a
temporary ``PYTHONPYCACHEPREFIX`` (an environment with ``PYTHONDONTWRITEBYTECODE``
would otherwise compile Rapport's own modules from source at every start), after one
untimed run of each command. The load average before and after is kept with the
figures: other work on the machine slows every run.
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
RAPPORT = Path(sys.executable).parent / "rapport"
RUNS = 10
#: Issue 20: the medians a run must stay under, in seconds.
TARGETS = {"help": 0.25, "explain": 0.6}
# The demo's last lines suggest commands to explore its store, explain among them.
_EXPLAIN = re.compile(r"RAPPORT_DATABASE_URL=(\S+) \S+ (--config \S+ explain \S+ --date \S+)")


class StartupError(RuntimeError):
    """The demo failed or no longer suggests an explain line to time."""


def measure(
    workdir: Path, runs: int = RUNS, demo_args: tuple[str, ...] = (), compiled: bool = True
) -> dict[str, Any]:
    """Build the demo store in ``workdir``, then time both commands ``runs`` times.

    ``demo_args`` are added to ``rapport demo`` and ``compiled=False`` leaves bytecode
    as the environment has it: the tests use both to make a run quick.
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    if compiled:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(workdir / "bytecode")
    demo = subprocess.run(
        [str(RAPPORT), "demo", "--dir", str(workdir / "demo"), *demo_args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    found = _EXPLAIN.search(demo.stdout)
    if demo.returncode != 0 or found is None:
        raise StartupError(f"rapport demo (exit {demo.returncode}): {demo.stderr[-2000:]}")
    env["RAPPORT_DATABASE_URL"] = found.group(1)
    commands = {"help": ["--help"], "explain": found.group(2).split()}
    load_before = os.getloadavg()
    for args in commands.values():  # untimed: writes the bytecode
        _timed(args, env)
    samples: dict[str, list[float]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, args in commands.items():
            samples[name].append(_timed(args, env))
    return {
        "started": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "runs": runs,
        "python": sys.version.split()[0],
        "bytecode": "compiled" if compiled else "as the environment has it",
        "cpus": os.cpu_count(),
        "load_before": [round(x, 2) for x in load_before],
        "load_after": [round(x, 2) for x in os.getloadavg()],
        "commands": {
            name: {
                "command": "rapport " + " ".join(commands[name]),
                "median": statistics.median(times),
                "min": min(times),
                "max": max(times),
                "samples": times,
                "target": TARGETS[name],
            }
            for name, times in samples.items()
        },
    }


def _timed(args: list[str], env: dict[str, str]) -> float:
    """Seconds from starting ``rapport ARGS`` to its exit (it must succeed)."""
    started = time.perf_counter()
    done = subprocess.run(
        [str(RAPPORT), *args], cwd=REPO, env=env, capture_output=True, text=True, check=False
    )
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise StartupError(f"rapport {' '.join(args)} (exit {done.returncode}): {done.stderr}")
    return seconds


def save(result: dict[str, Any], out: Path) -> Path:
    """``out/startup/<timestamp>.json`` (beside, not among, the database runs)."""
    folder = out / "startup"
    folder.mkdir(parents=True, exist_ok=True)
    stamp = result["started"].replace(":", "").replace("-", "")
    path = folder / f"{stamp}.json"
    path.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return path


def latest(out: Path) -> dict[str, Any] | None:
    """The newest start-up run saved under ``out``, if any."""
    paths = sorted((out / "startup").glob("*.json"))
    return json.loads(paths[-1].read_text(encoding="utf-8")) if paths else None


def table(result: dict[str, Any]) -> str:
    load = ", ".join(f"{x:.2f}" for x in result["load_before"])
    lines = [
        f"### Start-up ({result['started']})",
        "",
        f"Median of {result['runs']} runs each, process start included; bytecode "
        f"{result['bytecode']}; load average before the runs {load} on {result['cpus']} CPUs.",
        "",
        "| command | median | min | max | target | met |",
        "|---|---:|---:|---:|---:|:---:|",
    ]
    for c in result["commands"].values():
        met = "yes" if c["median"] <= c["target"] else "NO"
        lines.append(
            f"| `{c['command']}` | {c['median']:.3f} s | {c['min']:.3f} s | "
            f"{c['max']:.3f} s | <= {c['target']} s | {met} |"
        )
    return "\n".join(lines) + "\n"
