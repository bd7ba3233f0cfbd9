"""What many tests build: defined once here, imported by the tests that need them."""

from __future__ import annotations

import logging
import os
import sys
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


# -- the rapport command, run in this process -----------------------------------------
@dataclass(frozen=True)
class Ran:
    """What a ``rapport`` command did: its exit code and what it wrote."""

    returncode: int
    stdout: str
    stderr: str


def run_rapport(
    *args: str, cwd: Path, env: dict[str, str] | None = None, input: str | None = None
) -> Ran:
    """``rapport ARGS`` in ``cwd``, run as the console script runs it but in this process.

    ``main()`` (the console script's entry point, which maps exceptions to exit codes and
    configures logging) is called with ``sys.argv`` set, inside Click's test isolation:
    stdin is ``input`` (never a terminal), stdout and stderr are captured, the caller's
    ``RAPPORT_*`` variables are removed and ``env`` is added. The exit code is what
    ``main()`` passed to ``sys.exit`` (0 when it returned). An exception ``main()`` does
    not map propagates and fails the test, where a process would print a traceback.
    """
    from click.testing import CliRunner

    from rapport.engine.cli.main import main

    environment: dict[str, str | None] = {k: None for k in os.environ if k.startswith("RAPPORT_")}
    environment.update(env or {})
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    argv, directory = sys.argv, os.getcwd()
    with CliRunner().isolation(input=input, env=environment) as (out, err, _):
        sys.argv = ["rapport", *args]
        os.chdir(cwd)
        try:
            main()
            code = 0
        except SystemExit as exc:
            if exc.code is None or isinstance(exc.code, int):
                code = exc.code or 0
            else:  # sys.exit("message"): Python prints it and exits 1
                print(exc.code, file=sys.stderr)
                code = 1
        finally:
            sys.argv = argv
            os.chdir(directory)
            root.handlers[:] = handlers
            root.setLevel(level)
            for name, old in levels.items():
                logging.getLogger(name).setLevel(old)
        sys.stdout.flush()
        sys.stderr.flush()
        return Ran(code, out.getvalue().decode("utf-8"), err.getvalue().decode("utf-8"))


# -- the rapport command, as a separate process forked without start-up cost -----------
def _rapport_in_child(args: list[str], env: dict[str, str], cwd: str) -> None:
    """The body of a forked ``rapport`` process: what the console script runs."""
    os.environ.clear()
    os.environ.update(env)
    os.chdir(cwd)
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    sys.argv = ["rapport", *args]
    from rapport.engine.cli.main import main

    main()


def start_rapport_process(*args: str, cwd: Path, env: dict[str, str]):  # type: ignore[no-untyped-def]
    """``rapport ARGS`` as a separate process (a ``multiprocessing.Process``; ``pid``,
    ``kill()``, ``join()``, ``exitcode``), with exactly ``env`` as its environment.

    It is forked from multiprocessing's fork server, a clean process that has imported
    Rapport once, so a start costs milliseconds instead of an interpreter's start-up;
    tests that start many processes (the SIGKILL test) use it. Output goes nowhere.
    """
    import multiprocessing

    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["rapport.engine.cli.main", "factories"])
    process = context.Process(
        target=_rapport_in_child, args=(list(args), dict(env), str(cwd)), daemon=True
    )
    process.start()
    return process
