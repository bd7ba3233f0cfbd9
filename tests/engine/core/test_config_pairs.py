"""Settings that only make sense together are checked together, at their line:

- ``dispatch.backoff_base_seconds`` greater than ``backoff_max_seconds`` loaded, and
  every retry waited the maximum from the first (the base, doubled, was cut to it);
- ``locales.supported`` naming one locale twice (``[en, en, fa]``, ``[fa_IR, fa-IR]``,
  ``[en, EN]``) loaded, and ``campaigns validate`` rendered and reported each locale's
  templates twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.core.config import load_settings


def test_a_backoff_base_above_its_maximum_is_refused(tmp_path: Path) -> None:
    found = config_problems(
        tmp_path, "dispatch:\n  backoff_base_seconds: 7200\n  backoff_max_seconds: 3600\n"
    )
    assert len(found) == 1, found
    assert found[0].startswith("3: dispatch.backoff_max_seconds: "), found
    assert "is less than backoff_base_seconds (7200)" in found[0]


def test_a_backoff_base_equal_to_its_maximum_loads(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        "dispatch:\n  backoff_base_seconds: 600\n  backoff_max_seconds: 600\n", encoding="utf-8"
    )
    assert load_settings(config, environ={}).dispatch.backoff_base_seconds == 600


@pytest.mark.parametrize(
    ("supported", "twice"),
    [("[en, en, fa]", "en"), ("[fa_IR, zh, fa-IR]", "fa-IR"), ("[en, EN]", "EN")],
)
def test_a_locale_listed_twice_is_refused(tmp_path: Path, supported: str, twice: str) -> None:
    found = config_problems(tmp_path, f"locales:\n  supported: {supported}\n")
    assert len(found) == 1, found
    assert found[0].startswith("2: locales.supported: "), found
    assert f"'{twice}'" in found[0] and "twice" in found[0]
