"""A secret with spaces or a line break around it is refused, naming the variable and
never its value: taken as given, ``RAPPORT_SECRET_KEY`` read from a file with its
newline on one machine and typed without it on another signed links the other refused
(raised by the operator tester)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import run_rapport

from rapport.engine.core.config import SECRET_VARIABLES, load_settings
from rapport.engine.core.errors import ConfigError

KEY = "k" * 48


@pytest.mark.parametrize("name", SECRET_VARIABLES)
@pytest.mark.parametrize("padded", [KEY + "\n", " " + KEY, KEY + "\t"])
def test_a_secret_with_spaces_or_a_line_break_around_it_is_refused(
    tmp_path: Path, name: str, padded: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load_settings(environ={name: padded})
    assert name in str(raised.value) and KEY not in str(raised.value)


def test_a_secret_with_spaces_inside_is_used_as_given() -> None:
    inside = "k" * 20 + " " + "k" * 20
    assert load_settings(environ={"RAPPORT_SECRET_KEY": inside}).secret_key == inside


def test_the_command_says_which_variable_and_exits_1(tmp_path: Path) -> None:
    ran = run_rapport("db", "current", cwd=tmp_path, env={"RAPPORT_SECRET_KEY": KEY + "\n"})
    assert ran.returncode == 1
    assert "RAPPORT_SECRET_KEY" in ran.stderr and KEY not in ran.stderr + ran.stdout
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize(
    "key", ["secret_key", "web.webhook_token", "web.report_token", "web.metrics_token"]
)
@pytest.mark.parametrize("written", [f'" {KEY}"', f'"{KEY}\\n"', '""', '"  "'])
def test_a_secret_in_the_file_that_is_empty_or_padded_is_refused_at_its_line(
    tmp_path: Path, key: str, written: str
) -> None:
    """Written in config.yaml the same secret was used as given, spaces and all (and an
    empty one was reported as 'RAPPORT_SECRET_KEY is 0 characters long', a variable
    never set); the value is never repeated."""
    from factories import config_problems

    section, _, name = key.rpartition(".")
    text = f"{section}:\n  {name}: {written}\n" if section else f"{name}: {written}\n"
    (problem,) = config_problems(tmp_path, text)
    assert problem.startswith(f"{2 if section else 1}: {key}: ") and KEY not in problem
