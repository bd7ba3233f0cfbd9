"""The daemon's view of campaign files: changes are picked up, mistakes never stop it."""

from __future__ import annotations

import os
from pathlib import Path

from factories import make_settings, run_rapport
from sqlalchemy import Engine

from rapport.engine.campaigns.store import CampaignStore
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem
from rapport.engine.runtime.daemon import Daemon

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


TYPO = GOOD + "offer:\n  discount_precent: 20\n"
TEMPLATE = (
    "{% if offer.discount_percent is defined %}{{ offer.discount_percent }} % off{% endif %}\n"
)


def with_templates(tmp_path: Path) -> None:
    folder = tmp_path / "templates" / "hello" / "en"
    folder.mkdir(parents=True)
    (folder / "email_subject.txt").write_text("Hello\n", encoding="utf-8")
    (folder / "email.txt").write_text(TEMPLATE, encoding="utf-8")


def test_a_misspelt_offer_key_keeps_the_last_valid_version_in_the_daemon(
    engine: Engine, tmp_path: Path
) -> None:
    """``campaigns validate`` refuses an offer key no template reads; the daemon loaded
    it and sent every message without its discount. Its store now checks the same."""
    with_templates(tmp_path)
    (tmp_path / "campaigns").mkdir()
    reported: list[Problem] = []
    daemon = Daemon(
        make_settings(base_dir=tmp_path), engine, plan=False, on_problems=reported.extend
    )
    try:
        path = tmp_path / "campaigns" / "hello.yaml"
        write(path, GOOD.format(name="First") + "offer:\n  discount_percent: 10\n", 1)
        assert [c.name for c in daemon.campaigns.current()] == ["First"]
        write(path, TYPO.format(name="Typo"), 2)
        assert [c.name for c in daemon.campaigns.current()] == ["First"]
        assert [(p.line, p.field) for p in reported] == [(6, "offer.discount_precent")]
        assert "did you mean 'discount_percent'" in reported[0].message
    finally:
        daemon.stop(grace=1)


def test_rapport_plan_refuses_a_misspelt_offer_key_as_validate_does(
    migrated_url: str, tmp_path: Path
) -> None:
    with_templates(tmp_path)
    (tmp_path / "campaigns").mkdir(exist_ok=True)
    write(tmp_path / "campaigns" / "hello.yaml", TYPO.format(name="Typo"), 1)
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{migrated_url}'}}\nsecret_key: {'k' * 40}\n", encoding="utf-8"
    )

    planned = run_rapport("plan", "--date", "2026-12-01", cwd=tmp_path)

    assert planned.returncode == 1
    assert (
        "campaigns/hello.yaml:6: offer.discount_precent: no template of 'hello'" in planned.stderr
    )


def test_a_yml_copy_of_a_campaign_is_refused_and_the_yaml_stays_in_force(tmp_path: Path) -> None:
    """A marketer saving a copy of birthday.yaml as birthday.yml to try a change: both
    files loaded as campaign 'birthday', twice in plan and explain, whichever of the two
    planning met first deciding the message. The file name is the id, one file each."""
    reported: list[Problem] = []
    store = store_for(tmp_path, reported)
    write(tmp_path / "campaigns" / "hello.yaml", GOOD.format(name="Real"), 1)
    assert [c.name for c in store.current()] == ["Real"]
    write(tmp_path / "campaigns" / "hello.yml", GOOD.format(name="Copy"), 2)
    assert [c.name for c in store.current()] == ["Real"]
    [problem] = reported
    assert problem.file.endswith("hello.yml") and "hello.yaml" in problem.message
