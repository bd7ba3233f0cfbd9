"""An import file that cannot be opened is the user's mistake (exit 1, naming the
file), whatever the reason the system gives: a symbolic link that loops was
'error: Too many levels of symbolic links', exit 3, as if Rapport had failed."""

from __future__ import annotations

from pathlib import Path

from factories import run_rapport


def test_an_import_file_that_is_a_symbolic_link_loop_is_refused_naming_it(
    tmp_path: Path,
) -> None:
    assert run_rapport("db", "upgrade", cwd=tmp_path).returncode == 0
    (tmp_path / "a.csv").symlink_to(tmp_path / "b.csv")
    (tmp_path / "b.csv").symlink_to(tmp_path / "a.csv")
    ran = run_rapport("import", "customers", "a.csv", cwd=tmp_path)
    assert ran.returncode == 1, ran.stderr
    assert ran.stderr.startswith("a.csv: cannot be opened: "), ran.stderr
    assert "symbolic links" in ran.stderr
