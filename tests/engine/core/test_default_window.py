"""planning.default_window_start and _end, the send window of every campaign without
its own, must make a window: "20:00" to "09:00" loaded, `campaigns validate` said all
was valid, and such a campaign never sent, each customer told "the send window lies in
quiet hours". A campaign's own send_window is refused so at its line; so is this."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.core.config import load_settings


@pytest.mark.parametrize(("start", "end"), [("20:00", "09:00"), ("10:00", "10:00")])
def test_a_default_window_that_ends_before_it_starts_is_refused(
    tmp_path: Path, start: str, end: str
) -> None:
    text = f'planning:\n  default_window_start: "{start}"\n  default_window_end: "{end}"\n'

    assert config_problems(tmp_path, text) == [
        "2: planning.default_window_start: default_window_start must be earlier than "
        f"default_window_end ({start} is not before {end}): it is the send window of every "
        "campaign without its own"
    ]


def test_a_default_window_end_before_the_default_start_is_refused(tmp_path: Path) -> None:
    assert config_problems(tmp_path, 'planning:\n  default_window_end: "08:00"\n') == [
        "2: planning.default_window_end: default_window_start must be earlier than "
        "default_window_end (09:00 is not before 08:00): it is the send window of every "
        "campaign without its own"
    ]


def test_a_default_window_in_order_is_taken(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text('planning:\n  default_window_start: "07:30"\n  default_window_end: "07:31"\n')

    assert str(load_settings(config, environ={}).planning.default_window_end) == "07:31:00"
