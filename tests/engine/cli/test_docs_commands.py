"""Every ``rapport`` command line in README.md and docs/*.md is one the CLI accepts, and
the ones that finish on their own run for real.

Command lines are taken from code blocks (``rapport ...``, ``.venv/bin/rapport ...``,
``ExecStart=/srv/rapport/.venv/bin/rapport ...``, after ``VAR=value`` assignments) and
from inline code that starts with ``rapport``. A synopsis such as
``rapport consent show|grant|withdraw CUSTOMER --channel C --topic T [--json]`` stands
for each of its alternatives, with its optional parts given; placeholders (upper-case
words) are filled with values from the demo store.

Each line must name a real command and only options that command has. A full command
line (in a code block, or inline with an option or a placeholder: prose naming a
command, "`rapport explain` shows why", is only a reference) must also parse (Click's
own parser, nothing run), and every full line that ends by itself (not ``serve``, nor
``run``/``dispatch`` without ``--once``) runs in a folder holding the demo's store,
and must end as the docs say commands end: exit 0 or 1 (2 for ``customers erase``
without ``--yes`` when stdin is not a terminal), no traceback, no "unexpected error".
Conversely, every command the CLI has is documented somewhere.
"""

from __future__ import annotations

import itertools
import re
import shlex
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import click
import pytest
from demo_store import DEMO_DAY, demo_store
from factories import REPO, run_rapport

from rapport.engine.cli.main import cli

DOCS = [REPO / "README.md", *sorted((REPO / "docs").glob("*.md"))]
DAY = DEMO_DAY
#: ``rapport ARGS`` after an optional prompt, systemd key, environment assignments and
#: path (a bare ``rapport`` is the program's name, not a command line).
INVOCATION = re.compile(
    r"^(?:\$\s+)?(?:Exec\w*=)?(?:[A-Z_][A-Z0-9_]*=\S*\s+)*(?:\S*/)?rapport\s+(?P<args>\S.*)$"
)
FENCE = re.compile(r"^\s*(```|~~~)")
INLINE = re.compile(r"`([^`\n]+)`")
PLACEHOLDER = re.compile(r"^[A-Z][A-Z_]*$")


@dataclass(frozen=True)
class Line:
    """One documented command line: where it is and its words after ``rapport``."""

    where: str
    words: tuple[str, ...]
    #: In a code block, or with an option or a placeholder: not a mere reference.
    full: bool

    def __str__(self) -> str:
        return f"{self.where}: rapport {' '.join(self.words)}"


def documented() -> list[Line]:
    found: list[Line] = []
    for path in DOCS:
        name = path.relative_to(REPO).as_posix()
        in_block = False
        for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if FENCE.match(text):
                in_block = not in_block
                continue
            candidates = [text.strip()] if in_block else INLINE.findall(text)
            for candidate in candidates:
                command = candidate.split(" #")[0].strip().replace("\\|", "|")
                if (match := INVOCATION.match(command)) is None:
                    continue
                words = match.group("args").split()
                full = in_block or any(
                    word.strip("[]").startswith("-") or PLACEHOLDER.match(word.strip("[]"))
                    for word in words
                )
                for expansion in _alternatives(words):
                    found.append(Line(f"{name}:{number}", expansion, full))
    return found


def _alternatives(words: list[str]) -> list[tuple[str, ...]]:
    """``show|grant`` stands for each word; ``[--json]`` for ``--json``."""
    options = [word.strip("[]").split("|") for word in words if word.strip("[]")]
    return [tuple(choice) for choice in itertools.product(*options)]


LINES = documented()


def resolve(words: tuple[str, ...]) -> tuple[list[str], click.Command, list[str]]:
    """The command path the words name, the command, and the words after it."""
    path: list[str] = []
    command: click.Command = cli
    rest = list(words)
    while isinstance(command, click.Group):
        if rest[:1] == ["--config"]:
            rest = rest[2:]
            continue
        if rest[:1] in (["--help"], ["--version"]):  # the group's own options
            break
        assert rest and rest[0] in command.commands, f"no command {' '.join([*path, *rest[:1]])}"
        path.append(rest[0])
        command = command.commands[rest.pop(0)]
    return path, command, rest


def _sample(param: click.Parameter, word: str) -> str:
    """A value of the parameter's type for a placeholder such as N or P."""
    if PLACEHOLDER.match(word) and isinstance(param.type, click.types._NumberParamTypeBase):
        low = getattr(param.type, "min", None)
        return str(low if low is not None else 1)
    return word


def test_the_docs_show_command_lines() -> None:
    assert len(LINES) > 40  # README's command table and the docs' mentions
    assert any(line.words[:1] == ("report",) for line in LINES)


@pytest.mark.parametrize("line", LINES, ids=str)
def test_a_documented_command_line_names_real_options_and_parses(line: Line) -> None:
    path, command, rest = resolve(line.words)
    known = {opt for param in command.params for opt in param.opts} | {"--help", "-h"}
    for word in rest:
        if word.startswith("-"):
            assert word.split("=")[0] in known, f"{line}: {' '.join(path)} has no {word}"
    if not line.full:
        return
    by_option = {opt: param for param in command.params for opt in param.opts}
    args = [
        _sample(by_option[before], word) if before in by_option else word
        for before, word in zip(["", *rest], rest, strict=False)
    ]
    try:
        command.make_context(" ".join(path), args)
    except click.exceptions.Exit as done:  # --help, --version: printed, and ended well
        assert done.exit_code == 0, line
    except click.UsageError as exc:
        pytest.fail(f"{line}: {exc.format_message()}")


def leaf_commands(group: click.Group = cli, path: tuple[str, ...] = ()) -> list[str]:
    found = []
    for name, command in group.commands.items():
        if isinstance(command, click.Group):
            found += leaf_commands(command, (*path, name))
        else:
            found.append(" ".join((*path, name)))
    return found


@pytest.mark.parametrize("name", leaf_commands())
def test_every_command_is_documented_and_takes_config(name: str) -> None:
    documented_names = {" ".join(resolve(line.words)[0]) for line in LINES}
    assert name in documented_names, f"`rapport {name}` appears in no README.md or docs/ line"
    *_, command = resolve(tuple(name.split()))[:2]
    assert "--config" in {opt for param in command.params for opt in param.opts}


# -- the lines that end by themselves, run ---------------------------------------------------


@pytest.fixture(scope="module")
def demo_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the demo store (the lines run here import, plan, erase...)."""
    folder = tmp_path_factory.mktemp("docs-commands")
    store = demo_store(tmp_path_factory, folder)
    (folder / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{store}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: file, kind: sms, path: outbox}\n",
        encoding="utf-8",
    )
    return folder


def _long_running(path: list[str], rest: list[str]) -> bool:
    return path == ["serve"] or (path[:1] in (["run"], ["dispatch"]) and "--once" not in rest)


def _filled(path: list[str], rest: list[str], folder: Path) -> list[str]:
    """``rest`` with every placeholder replaced by a value that exists in the demo store."""
    data = folder / "var" / "data"
    values = {
        "D": DAY.isoformat(),
        "N": "14",
        "CAMPAIGN": "birthday",
        "C": "email",
        "T": "birthday",
        # Erasing takes a customer no other line uses; the others read C00001.
        "CUSTOMER": "C00002" if path == ["customers", "erase"] else "C00001",
        "ID": "C00002" if path == ["customers", "erase"] else "C00001",
    }
    filled = []
    for before, word in zip(["", *rest], rest, strict=False):
        if word == "FILE" and path == ["import"]:
            filled.append(str(next(data.glob(f"{rest[0]}.*"))))
        elif word == "FILE":
            filled.append(str(folder / f"out-{before.strip('-')}.html"))
        elif word == "DIR" and path == ["init"]:
            # A folder of its own per line: init refuses to overwrite another line's files.
            filled.append(tempfile.mkdtemp(prefix="init-", dir=folder))
        else:
            filled.append(values.get(word, word))
    return filled


RUNNABLE = [
    line
    for line in LINES
    if line.full and not _long_running(*resolve(line.words)[::2])  # type: ignore[arg-type]
]


@pytest.mark.parametrize(
    "line",
    # Erasing last, so that the lines reading a customer find them.
    sorted(RUNNABLE, key=lambda line: line.words[:2] == ("customers", "erase")),
    ids=str,
)
def test_a_documented_command_line_runs_and_ends_cleanly(line: Line, demo_dir: Path) -> None:
    path, _, rest = resolve(line.words)
    args = [*path, *_filled(path, rest, demo_dir)]
    result = run_rapport(*args, cwd=demo_dir)
    shown = f"{line}\n$ rapport {shlex.join(args)}\n{result.stderr}"
    assert "Traceback" not in result.stderr and "unexpected error" not in result.stderr, shown
    if path == ["customers", "erase"] and "--yes" not in rest:
        assert result.returncode == 2 and "pass --yes" in result.stderr, shown
    else:
        assert result.returncode in (0, 1), shown


# -- an example's output, as printed -----------------------------------------------------------

#: docs/campaigns.md's explain example: the demo's day it names, and what it prints.
EXPLAIN_EXAMPLE = re.compile(
    r"For a\s+customer of the store `rapport demo` builds for [^(]*\(`--date (?P<day>[0-9-]+)`"
    r".*?```text\n(?P<output>.*?)```",
    re.S,
)


def test_the_explain_example_is_what_explain_prints_on_the_demo_store_it_names(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    text = (REPO / "docs" / "campaigns.md").read_text(encoding="utf-8")
    match = EXPLAIN_EXAMPLE.search(text)
    assert match, "docs/campaigns.md: the explain example names no demo day (`--date D`)"
    assert match["day"] == DEMO_DAY.isoformat()  # the store demo_store builds
    shown = match["output"]
    customer, _, day = shown.split(":")[0].split()[1:4]
    folder = tmp_path_factory.mktemp("explain-example")
    store = demo_store(tmp_path_factory, folder)
    (folder / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{store}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    result = run_rapport("explain", customer, "--date", day, cwd=folder)
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown


def test_run_once_plans_the_days_the_readme_says(tmp_path: Path, sqlite_template: Path) -> None:
    """README's command table says what ``rapport run --once`` plans: one planning tick,
    yesterday, today and tomorrow (UTC), as the daemon's tick (docs/operations.md)."""
    row = next(
        line
        for line in (REPO / "README.md").read_text(encoding="utf-8").splitlines()
        if line.startswith("| `rapport run [--once]`")
    )
    assert "yesterday, today and tomorrow" in row, row
    shutil.copy(sqlite_template, tmp_path / "rapport.db")
    (tmp_path / "config.yaml").write_text(
        "database: {url: 'sqlite:///rapport.db'}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    before = datetime.now(UTC).date()
    ran = run_rapport("run", "--once", cwd=tmp_path, env={"RAPPORT_SECRET_KEY": "once"})
    assert ran.returncode == 0, ran.stderr
    planned = [line.split(":")[0] for line in ran.stdout.splitlines() if ": " in line][:3]
    ticks = [[(day + timedelta(days=n)).isoformat() for n in (-1, 0, 1)] for day in (
        before, datetime.now(UTC).date())]  # fmt: skip
    assert planned in ticks, ran.stdout  # (a run across midnight UTC: either day's tick)
