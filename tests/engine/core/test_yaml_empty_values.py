"""An empty value (nothing after the colon, or a bare ``-``) is refused at its line in
config.yaml and in campaign files: YAML reads it as null, and null lifts a cap, widens
an audience or falls back to a default. Only a written ``null`` (or ``~``) says "no
limit"; a value forgotten or lost in an edit must not."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

from rapport.engine.campaigns.model import load_campaign
from rapport.engine.core.config import Settings, load_settings
from rapport.engine.core.errors import CampaignError

EMPTY = "empty value: write the value, or null for no limit (where the key allows null)"

CAMPAIGN = """\
name: Birthday
trigger:
  type: birthday
topic: birthday
channels: [email]
"""


def test_an_empty_daily_cap_is_refused_at_its_line(tmp_path: Path) -> None:
    assert config_problems(tmp_path, "caps:\n  per_day:\n  per_week: 3\n") == [
        f"2: caps.per_day: {EMPTY}"
    ]


def test_a_written_null_still_lifts_a_cap(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("caps:\n  per_day: null\n  per_week: ~\n", encoding="utf-8")

    caps = load_settings(config, environ={}).caps

    assert (caps.per_day, caps.per_week) == (None, None)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("caps:\n  channels:\n    sms: {per_day: , per_week: 1}\n", "3: caps.channels.sms.per_day"),
        ("planning:\n  batch_size:\n", "2: planning.batch_size"),
        ("web:\n  metrics_port:\n", "2: web.metrics_port"),
        (
            "channels:\n  sms:\n    adapter: file\n    kind: sms\n    path: outbox\n"
            "    rate_per_second:\n",
            "6: channels.sms.rate_per_second",
        ),
        ("channels:\n  sms: {adapter: file, kind: sms, path: }\n", "2: channels.sms.path"),
        ("quiet_hours:\n  sms:\n", "2: quiet_hours.sms"),
        ("tiers:\n  rates: {USD: 1, EUR: }\n", "2: tiers.rates.EUR"),
        ("topics:\n  - birthday\n  -\n", "3: topics.1"),
    ],
)
def test_an_empty_value_in_config_is_refused_at_its_key(
    tmp_path: Path, text: str, where: str
) -> None:
    assert config_problems(tmp_path, text) == [f"{where}: {EMPTY}"]


def test_an_empty_value_does_not_hide_the_other_problems(tmp_path: Path) -> None:
    assert config_problems(tmp_path, "caps:\n  per_week:\nweb:\n  port: 0\n") == [
        f"2: caps.per_week: {EMPTY}",
        "4: web.port: Input should be greater than or equal to 1",
    ]


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("frequency:\n  max_per_week:\n", (7, "frequency.max_per_week")),
        ("audience:\n  stages:\n", (7, "audience.stages")),
        ("audience:\n  countries:\n", (7, "audience.countries")),
        ("send_window:\n", (6, "send_window")),
        ("sms_max_segments:\n", (6, "sms_max_segments")),
        ("starts_on:\n", (6, "starts_on")),
        ("offer:\n  discount_percent: {insider: 10, vib: }\n", (7, "offer.discount_percent.vib")),
    ],
)
def test_an_empty_value_in_a_campaign_is_refused_at_its_key(
    tmp_path: Path, text: str, where: tuple[int, str]
) -> None:
    path = tmp_path / "birthday.yaml"
    path.write_text(CAMPAIGN + text, encoding="utf-8")

    with pytest.raises(CampaignError) as raised:
        load_campaign(path, Settings(base_dir=tmp_path))

    assert [(p.line, p.field, p.message) for p in raised.value.problems] == [(*where, EMPTY)]
