"""The daemon's view of campaign files: changes are picked up, mistakes never stop it."""

from __future__ import annotations

import os
from pathlib import Path

from rapport.engine.campaigns.store import CampaignStore
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem

GOOD = "name: {name}\ntrigger: {{type: birthday}}\ntopic: birthday\nchannels: [email]\n"


def write(path: Path, text: str, tick: int) -> None:
    path.write_text(text, encoding="utf-8")
    os.utime(path, ns=(tick * 10**9, tick * 10**9))  # a distinct mtime per write


def store_for(tmp_path: Path, reported: list[Problem]) -> CampaignStore:
    (tmp_path / "campaigns").mkdir(exist_ok=True)
    return CampaignStore(Settings(base_dir=tmp_path), on_problems=reported.extend)


def test_a_changed_file_is_reloaded(tmp_path: Path) -> None:
    store = store_for(tmp_path, [])
    path = tmp_path / "campaigns" / "hello.yaml"
    write(path, GOOD.format(name="First"), 1)
    assert [c.name for c in store.current()] == ["First"]
    write(path, GOOD.format(name="Second"), 2)
    assert [c.name for c in store.current()] == ["Second"]


def test_an_invalid_edit_keeps_the_last_valid_version_and_is_reported(tmp_path: Path) -> None:
    reported: list[Problem] = []
    store = store_for(tmp_path, reported)
    path = tmp_path / "campaigns" / "hello.yaml"
    write(path, GOOD.format(name="First"), 1)
    store.current()
    write(path, GOOD.format(name="Broken") + "colour: red\n", 2)
    assert [c.name for c in store.current()] == ["First"]
    assert [str(p).split(": ", 1)[1] for p in reported] == ["colour: unknown key"]
    assert store.current() and len(reported) == 1  # reported once per change
    write(path, GOOD.format(name="Fixed"), 3)
    assert [c.name for c in store.current()] == ["Fixed"]
    assert store.problems() == []


def test_a_new_invalid_file_is_not_loaded_and_others_stay(tmp_path: Path) -> None:
    reported: list[Problem] = []
    store = store_for(tmp_path, reported)
    write(tmp_path / "campaigns" / "good.yaml", GOOD.format(name="Good"), 1)
    write(tmp_path / "campaigns" / "bad.yaml", "name: [unclosed\n", 1)
    assert [c.id for c in store.current()] == ["good"]
    assert reported and "bad.yaml" in reported[0].file


def test_a_deleted_file_ends_its_campaign(tmp_path: Path) -> None:
    store = store_for(tmp_path, [])
    path = tmp_path / "campaigns" / "hello.yaml"
    write(path, GOOD.format(name="First"), 1)
    assert store.current()
    path.unlink()
    assert store.current() == []
