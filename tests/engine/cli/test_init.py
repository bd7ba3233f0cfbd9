"""``rapport init DIR``: config.yaml, campaigns/ and templates/ from the package, and
nothing overwritten without ``--force``, nothing written through a symbolic link
(README, command table; docs/operations.md, Installing). Run from the checkout here;
tests/test_packaging.py runs it from a wheel."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import REPO, run_rapport

from rapport.engine.cli.init import starter_dir, write_files
from rapport.engine.core.errors import UsageError


def _files(root: Path) -> set[str]:
    return {
        path.relative_to(root).as_posix()
        for name in ("config.yaml", "campaigns", "templates")
        for path in ([root / name] if (root / name).is_file() else (root / name).rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_init_writes_config_campaigns_and_every_template_into_a_new_folder(
    tmp_path: Path,
) -> None:
    target = tmp_path / "shop" / "rapport"
    result = run_rapport("init", str(target), cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert _files(target) == _files(REPO)
    for locale in ("en", "fa", "zh", "zh_Hant"):
        assert (target / "templates" / "_partials" / locale / "layout.html").is_file()
    assert (target / "config.yaml").read_bytes() == (REPO / "config.yaml").read_bytes()


def test_init_prints_the_next_commands(tmp_path: Path) -> None:
    result = run_rapport("init", "shop", cwd=tmp_path)
    assert "cd shop" in result.stdout
    assert "rapport demo" in result.stdout and "rapport campaigns validate" in result.stdout


def test_init_names_every_step_from_your_own_files_to_a_first_message(tmp_path: Path) -> None:
    """Customers alone are never messaged: consent must be imported too, then a plan
    and a dispatch send; a newcomer reads the steps in the order they are run."""
    result = run_rapport("init", cwd=tmp_path)
    steps = [
        "rapport db upgrade",
        "rapport import customers FILE",
        "rapport import orders FILE",
        "rapport import consent FILE",
        "rapport plan",
        "rapport dispatch --once",
        "rapport serve",
    ]
    where = [result.stdout.find(f"  {step} ") for step in steps]
    assert -1 not in where, result.stdout
    assert where == sorted(where), result.stdout


def test_init_names_the_command_as_run_when_rapport_is_not_on_the_path(tmp_path: Path) -> None:
    """From a checkout the command is .venv/bin/rapport (README): the next steps name
    it by its absolute path, which still holds after their `cd`; where `rapport` on the
    PATH is that very command, they say `rapport`."""
    program = Path(sys.executable).parent / "rapport"
    bare = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    bare["PATH"] = "/usr/bin:/bin"
    ran = subprocess.run(
        [str(program), "init", "shop"], cwd=tmp_path, env=bare, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert f"  {program} demo " in ran.stdout
    assert f"  {program} import consent FILE " in ran.stdout

    on_path = bare | {"PATH": f"{program.parent}:/usr/bin:/bin"}
    ran = subprocess.run(
        [str(program), "init", "shop2"], cwd=tmp_path, env=on_path, capture_output=True, text=True
    )
    assert ran.returncode == 0, ran.stderr
    assert "  rapport demo " in ran.stdout


def test_init_without_a_folder_writes_here(tmp_path: Path) -> None:
    result = run_rapport("init", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "config.yaml").is_file() and "cd " not in result.stdout


def test_init_refuses_to_overwrite_a_file_and_names_it_writing_nothing(tmp_path: Path) -> None:
    (tmp_path / "campaigns").mkdir()
    mine = tmp_path / "campaigns" / "birthday.yaml"
    mine.write_text("name: my own birthday campaign\n", encoding="utf-8")
    result = run_rapport("init", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert "campaigns/birthday.yaml already exists" in result.stderr
    assert "--force" in result.stderr and "Traceback" not in result.stderr
    assert mine.read_text(encoding="utf-8") == "name: my own birthday campaign\n"
    assert not (tmp_path / "config.yaml").exists() and not (tmp_path / "templates").exists()


def test_init_with_force_overwrites(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database: {url: 'sqlite:///x.db'}\n", encoding="utf-8")
    result = run_rapport("init", "--force", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "config.yaml").read_bytes() == (REPO / "config.yaml").read_bytes()


def test_in_a_checkout_the_starter_files_are_the_repository_s_own() -> None:
    assert starter_dir() == REPO


@pytest.mark.parametrize("force", [False, True])
def test_init_refuses_a_dangling_link_at_a_file_s_place_and_writes_nothing(
    tmp_path: Path, force: bool
) -> None:
    target = tmp_path / "p4"
    target.mkdir()
    (target / "config.yaml").symlink_to("../victim.txt")
    result = run_rapport("init", *(["--force"] if force else []), "p4", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "p4/config.yaml is a symbolic link" in result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "victim.txt").exists()
    assert sorted(path.name for path in target.iterdir()) == ["config.yaml"]


@pytest.mark.parametrize("force", [False, True])
def test_init_refuses_a_folder_linked_out_of_dir_and_writes_nothing_there(
    tmp_path: Path, force: bool
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "shop"
    target.mkdir()
    (target / "templates").symlink_to(outside, target_is_directory=True)
    result = run_rapport("init", *(["--force"] if force else []), "shop", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "shop/templates is a symbolic link" in result.stderr
    assert list(outside.iterdir()) == []
    assert not (target / "config.yaml").exists()


def test_init_with_force_replaces_regular_files_only(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").mkdir()
    result = run_rapport("init", "--force", ".", cwd=tmp_path)
    assert result.returncode == 2, result.stderr
    assert "config.yaml is not a regular file: --force replaces regular files only" in (
        result.stderr
    )
    assert not (tmp_path / "campaigns").exists()


def test_a_link_swapped_in_after_the_check_is_replaced_not_written_through(
    tmp_path: Path,
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("mine\n", encoding="utf-8")
    target = tmp_path / "shop"
    (target / "campaigns").mkdir(parents=True)
    (target / "config.yaml").symlink_to(victim)
    write_files(target, [(Path("config.yaml"), b"database: {}\n")])
    assert victim.read_text(encoding="utf-8") == "mine\n"
    assert not (target / "config.yaml").is_symlink()
    assert (target / "config.yaml").read_bytes() == b"database: {}\n"
    assert sorted(path.name for path in target.iterdir()) == ["campaigns", "config.yaml"]


def test_a_folder_link_swapped_in_after_the_check_is_refused_by_name(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    target = tmp_path / "shop"
    target.mkdir()
    (target / "campaigns").symlink_to(outside, target_is_directory=True)
    with pytest.raises(UsageError, match=f"{target / 'campaigns'} is a symbolic link"):
        write_files(target, [(Path("campaigns/birthday.yaml"), b"name: x\n")])
    assert list(outside.iterdir()) == []


def test_init_refuses_an_empty_dir_as_it_refuses_an_empty_config(tmp_path: Path) -> None:
    """`rapport init "$DIR"` with DIR unset wrote the starter files into the current
    folder, as `rapport init` does; --config "" is a usage error for the same reason."""
    ran = run_rapport("init", "", cwd=tmp_path)
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "DIR" in ran.stderr and "empty" in ran.stderr
    assert list(tmp_path.iterdir()) == []
