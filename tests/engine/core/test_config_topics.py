"""``topics`` names the consent topics every campaign chooses from: an empty list
made every campaign fail with "configured topics: " (found by the operator tester),
and a topic listed twice is a typo; both are refused at their line."""

from __future__ import annotations

from pathlib import Path

from factories import config_problems


def test_an_empty_topics_list_is_refused_at_its_line(tmp_path: Path) -> None:
    (problem,) = config_problems(tmp_path, "database:\n  url: sqlite:///x.db\ntopics: []\n")
    assert problem.startswith("3:") and "topics" in problem
    assert "at least one" in problem


def test_a_topic_listed_twice_is_refused_at_its_line(tmp_path: Path) -> None:
    (problem,) = config_problems(tmp_path, "topics:\n  - offers\n  - birthday\n  - offers\n")
    assert problem.startswith("4:") and "offers: listed twice" in problem


def test_a_topic_with_a_space_around_it_is_refused_at_its_line(tmp_path: Path) -> None:
    """Imported cells are stripped, so 'offers ' matched no consent record and no
    campaign's ``topic: offers``."""
    (problem,) = config_problems(tmp_path, 'topics:\n  - birthday\n  - "offers "\n')
    assert problem.startswith("3: topics.1: 'offers '")


def test_an_empty_topic_is_refused_at_its_line(tmp_path: Path) -> None:
    (problem,) = config_problems(tmp_path, 'topics: [birthday, ""]\n')
    assert problem.startswith("1: topics.1: ''")


def test_a_topic_longer_than_the_database_keeps_is_refused_at_its_line(tmp_path: Path) -> None:
    """consent_state.topic holds 64 characters: PostgreSQL refused every record of a
    longer topic."""
    (problem,) = config_problems(tmp_path, f"topics: [birthday, {'n' * 65}]\n")
    assert problem.startswith("1: topics.1: ") and "64" in problem
