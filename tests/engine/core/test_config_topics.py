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
