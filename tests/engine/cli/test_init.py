"""``rapport init DIR``: config.yaml, campaigns/ and templates/ from the package, and
nothing overwritten without ``--force`` (README, command table; docs/operations.md,
Installing). Run from the checkout here; tests/test_packaging.py runs it from a wheel."""

from __future__ import annotations

from pathlib import Path

from factories import REPO, run_rapport

from rapport.engine.cli.init import starter_dir


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
