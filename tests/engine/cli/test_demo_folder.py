"""`rapport demo` replaces only a folder it made, and checks the campaigns before it
writes anything.

The demo starts from an empty folder, so it removes an earlier run's; `--dir .` or a
mistyped `--dir ~/shop` must not wipe an operator's project, and a demo run where
there are no campaigns must say what to do instead of importing a sample first.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from demo_store import RAPPORT, environment

from rapport.engine.runtime.demo import DEMO_MARKER, NotADemoFolder, replace_demo_folder

REPO = Path(__file__).resolve().parents[3]


def run_demo(folder: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [RAPPORT, "demo", "--customers", "20", "--history-days", "2", *args],
        cwd=folder,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_folder_holding_other_files_is_refused_and_left_as_it_was(tmp_path: Path) -> None:
    (tmp_path / "campaigns").symlink_to(REPO / "campaigns")
    (tmp_path / "notes.txt").write_text("the shop's own notes\n", encoding="utf-8")

    ran = run_demo(tmp_path, "--dir", ".")

    assert ran.returncode == 1, ran.stderr
    assert "not a folder made by rapport demo" in ran.stderr
    assert "notes.txt" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "the shop's own notes\n"
    assert not (tmp_path / "rapport.db").exists()


def test_without_a_campaigns_folder_nothing_is_written_and_rapport_init_is_named(
    tmp_path: Path,
) -> None:
    ran = run_demo(tmp_path)

    assert ran.returncode == 1, ran.stderr
    assert "campaigns folder not found" in ran.stderr
    assert "rapport init" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_folder_the_demo_made_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    replace_demo_folder(folder)
    (folder / "rapport.db").write_bytes(b"an earlier run")
    (folder / "data").mkdir()

    replace_demo_folder(folder)

    assert sorted(p.name for p in folder.iterdir()) == [DEMO_MARKER]


def test_an_older_demo_folder_without_the_marker_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    (folder / "data").mkdir(parents=True)
    (folder / "rapport.db").write_bytes(b"an older version's run")
    (folder / "secret.key").write_text("k", encoding="utf-8")

    replace_demo_folder(folder)

    assert sorted(p.name for p in folder.iterdir()) == [DEMO_MARKER]


def test_an_empty_folder_is_used(tmp_path: Path) -> None:
    replace_demo_folder(tmp_path)

    assert (tmp_path / DEMO_MARKER).is_file()


@pytest.mark.parametrize("foreign", ["campaigns", "config.yaml", "rapport.db.bak"])
def test_any_entry_a_demo_does_not_write_keeps_the_folder(tmp_path: Path, foreign: str) -> None:
    (tmp_path / "rapport.db").write_bytes(b"")
    (tmp_path / foreign).write_text("", encoding="utf-8")

    with pytest.raises(NotADemoFolder, match=foreign):
        replace_demo_folder(tmp_path)

    assert (tmp_path / foreign).exists() and (tmp_path / "rapport.db").exists()


def test_a_file_named_as_the_folder_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "demo"
    path.write_text("not a folder", encoding="utf-8")

    with pytest.raises(NotADemoFolder, match="not a folder"):
        replace_demo_folder(path)

    assert path.read_text(encoding="utf-8") == "not a folder"


def test_the_sample_size_is_bounded(tmp_path: Path) -> None:
    ran = subprocess.run(
        [RAPPORT, "demo", "--customers", "100001"],
        cwd=tmp_path,
        env=environment(),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert ran.returncode == 2
    assert "--customers" in ran.stderr and "100000" in ran.stderr
    assert list(tmp_path.iterdir()) == []


def test_a_projects_var_folder_is_not_taken_for_an_older_demo(tmp_path: Path) -> None:
    """The default layout keeps the live database, its signing key and the file
    channel's outbox in var/: the names a demo writes, but no sample (data/)."""
    var = tmp_path / "var"
    (var / "outbox").mkdir(parents=True)
    for name in ("rapport.db", "rapport.db-wal", "secret.key"):
        (var / name).write_text("live", encoding="utf-8")

    with pytest.raises(NotADemoFolder, match="not a folder made by rapport demo"):
        replace_demo_folder(var)

    assert (var / "rapport.db").read_text(encoding="utf-8") == "live"
    assert (var / "secret.key").read_text(encoding="utf-8") == "live"


def test_a_link_named_as_the_folder_is_refused_and_its_target_kept(tmp_path: Path) -> None:
    target = tmp_path / "elsewhere"
    replace_demo_folder(target)
    (target / "rapport.db").write_text("kept", encoding="utf-8")
    link = tmp_path / "demo"
    link.symlink_to(target)

    with pytest.raises(NotADemoFolder, match="symbolic link"):
        replace_demo_folder(link)

    assert (target / "rapport.db").read_text(encoding="utf-8") == "kept"
    assert link.is_symlink()


def test_a_link_inside_the_folder_is_removed_not_followed(tmp_path: Path) -> None:
    outside = tmp_path / "project"
    outside.mkdir()
    (outside / "config.yaml").write_text("mine", encoding="utf-8")
    folder = tmp_path / "demo"
    replace_demo_folder(folder)
    (folder / "data").symlink_to(outside)

    replace_demo_folder(folder)

    assert sorted(p.name for p in folder.iterdir()) == [DEMO_MARKER]
    assert (outside / "config.yaml").read_text(encoding="utf-8") == "mine"


def test_an_empty_dir_is_a_usage_error_naming_the_option(tmp_path: Path) -> None:
    """`rapport demo --dir "$DIR"` with DIR unset named the current folder, as
    `rapport init ""` and `--config ""` would have; they are usage errors, so is this."""
    (tmp_path / "campaigns").symlink_to(REPO / "campaigns")

    ran = run_demo(tmp_path, "--dir", "")

    assert ran.returncode == 2, ran.stderr
    assert "Invalid value for '--dir': empty: name the folder" in ran.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["campaigns"]
