"""``transactional_topics``: the topics of messages a customer needs rather than opts in
to, sent through ``POST /api/v1/messages`` (docs/api.md). Closed like every setting: a
topic that is also a consent topic, or a name the outbox cannot hold, is refused at
its line."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import ConfigError


def problems_of(tmp_path: Path, text: str) -> list[str]:
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as caught:
        load_settings(path, environ={})
    return [str(problem) for problem in caught.value.problems]


def test_receipts_and_shipping_are_transactional_by_default() -> None:
    assert Settings().transactional_topics == ["receipts", "shipping"]


def test_a_topic_cannot_be_both_a_consent_topic_and_transactional(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "topics: [offers, receipts]\ntransactional_topics: [receipts]\n")
    assert len(found) == 1
    assert found[0].startswith(f"{tmp_path / 'config.yaml'}:2: transactional_topics.0: receipts:")
    assert "either a consent topic (topics) or transactional" in found[0]


@pytest.mark.parametrize("topic", ["Receipts", "a b", "x" * 65, ""])
def test_a_transactional_topic_must_be_a_short_lower_case_name(tmp_path: Path, topic: str) -> None:
    found = problems_of(tmp_path, f'transactional_topics: ["{topic}"]\n')
    assert len(found) == 1 and ":1: transactional_topics.0:" in found[0]


def test_a_transactional_topic_listed_twice_is_refused(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "transactional_topics: [shipping, shipping]\n")
    assert len(found) == 1 and "listed twice" in found[0]
