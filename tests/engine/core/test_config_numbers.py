"""Numbers in config.yaml are ones the daemon can use, refused at their FILE:LINE at load
and in ``campaigns validate`` otherwise (issue 16, points 2 and 3).

YAML writes infinity and not-a-number as ``.inf`` and ``.nan``. ``.inf`` is "> 0", so
``rate_per_second: .inf`` or ``daemon.plan_seconds: .inf`` passed every bound and the
daemon then stopped with an unexpected error (exit 3: a rate limiter, a timer that
cannot hold it). The timers of the daemon have an upper bound for the same reason:
``plan_seconds: 1e300`` overflowed the scheduler at start.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from factories import REPO
from factories import config_problems as problems_of

from rapport.engine.core.config import load_settings

RAPPORT = str(Path(sys.executable).parent / "rapport")
CHANNELS = (
    "channels:\n"
    "  email: {adapter: file, kind: email, path: outbox}\n"
    "  sms: {adapter: file, kind: sms, path: outbox%s}\n"
)


@pytest.mark.parametrize("value", [".inf", "-.inf", ".nan"])
@pytest.mark.parametrize(
    ("text", "key"),
    [
        (CHANNELS % ", rate_per_second: VALUE", "3: channels.sms.rate_per_second"),
        (
            CHANNELS % ", failover_cooldown_seconds: VALUE",
            "3: channels.sms.failover_cooldown_seconds",
        ),
        ("daemon:\n  plan_seconds: VALUE\n", "2: daemon.plan_seconds"),
        ("daemon:\n  grace_seconds: VALUE\n", "2: daemon.grace_seconds"),
        ("dispatch:\n  backoff_max_seconds: VALUE\n", "2: dispatch.backoff_max_seconds"),
    ],
)
def test_infinity_and_not_a_number_are_refused_at_their_line(
    tmp_path: Path, text: str, key: str, value: str
) -> None:
    found = problems_of(tmp_path, text.replace("VALUE", value))
    assert found == [f"{key}: Input should be a finite number"]


def test_an_adapter_option_that_is_a_number_must_be_finite(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "channels:\n"
        "  email: {adapter: smtp, kind: email, url: 'smtp://127.0.0.1:2525', timeout: .inf}\n",
    )
    assert found == ["2: channels.email.timeout: option 'timeout' is not a finite number"]


@pytest.mark.parametrize(
    ("key", "most"),
    [
        ("daemon.plan_seconds", 86_400),
        ("daemon.dispatch_seconds", 3_600),
        ("daemon.grace_seconds", 3_600),
        ("daemon.misfire_grace_seconds", 86_400),
        ("dispatch.lease_seconds", 86_400),
    ],
)
def test_the_daemons_timers_have_an_upper_bound(tmp_path: Path, key: str, most: int) -> None:
    section, name = key.split(".")
    assert load_settings(_written(tmp_path, f"{section}:\n  {name}: {most}\n"), environ={})
    found = problems_of(tmp_path, f"{section}:\n  {name}: {most + 1}\n")
    assert found == [f"2: {key}: Input should be less than or equal to {most}"]


def _written(tmp_path: Path, text: str) -> Path:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    return config


def test_campaigns_validate_names_an_infinite_rate(tmp_path: Path) -> None:
    config = _written(
        tmp_path,
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        + CHANNELS % ", rate_per_second: .inf",
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("RAPPORT_")}
    result = subprocess.run(
        [RAPPORT, "--config", str(config), "campaigns", "validate"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    assert f"{config}:5: channels.sms.rate_per_second: Input should be a finite number" in (
        result.stderr
    )


@pytest.mark.parametrize(
    ("key", "most"),
    [("planning.batch_size", 100_000), ("dispatch.batch_size", 10_000)],
)
def test_a_batch_held_in_memory_has_an_upper_bound(tmp_path: Path, key: str, most: int) -> None:
    section, name = key.split(".")
    assert load_settings(_written(tmp_path, f"{section}:\n  {name}: {most}\n"), environ={})
    found = problems_of(tmp_path, f"{section}:\n  {name}: {most + 1}\n")
    assert found == [f"2: {key}: Input should be less than or equal to {most}"]


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("dispatch:\n  processes: true\n", "dispatch.processes"),
        ("planning:\n  batch_size: on\n", "planning.batch_size"),
        ("daemon:\n  grace_seconds: yes\n", "daemon.grace_seconds"),
    ],
)
def test_a_truth_value_for_a_number_is_refused_at_its_line(
    tmp_path: Path, text: str, key: str
) -> None:
    found = problems_of(tmp_path, text)

    assert found == [f"2: {key}: expected a number, not true or false"]


def test_every_problem_is_reported_along_with_a_truth_value(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "dispatch:\n  processes: on\n  batch_size: 0\n  colour: red\n")

    assert sorted(found) == [
        "2: dispatch.processes: expected a number, not true or false",
        "3: dispatch.batch_size: Input should be greater than or equal to 1",
        "4: dispatch.colour: unknown key",
    ]


def test_a_truth_value_stays_a_truth_value_where_one_is_expected(tmp_path: Path) -> None:
    settings = load_settings(_written(tmp_path, "web:\n  access_log: yes\n"), environ={})

    assert settings.web.access_log is True


#: Counts and spans whose typo of extra zeros loaded and ran (10**20 attempts, caps,
#: days): each key, a config.yaml setting it (``VALUE`` the value) and its upper bound.
COUNTS = [
    ("dispatch.max_attempts", "dispatch:\n  max_attempts: VALUE\n", 100),
    ("caps.per_day", "caps:\n  per_day: VALUE\n  per_week: null\n", 1_000),
    ("caps.per_week", "caps:\n  per_week: VALUE\n", 10_000),
    ("caps.channels.sms.per_day", "caps:\n  channels:\n    sms: {per_day: VALUE}\n", 1_000),
    ("caps.channels.sms.per_week", "caps:\n  channels:\n    sms: {per_week: VALUE}\n", 10_000),
    ("lifecycle.loyal_min_orders", "lifecycle:\n  loyal_min_orders: VALUE\n", 10_000),
    ("lifecycle.at_risk_days", "lifecycle:\n  lapsed_days: 36500\n  at_risk_days: VALUE\n", 36_500),
    ("lifecycle.lapsed_days", "lifecycle:\n  lapsed_days: VALUE\n", 36_500),
    ("channels.sms.failover_after", CHANNELS % ", failover_after: VALUE", 1_000),
    (
        "channels.sms.failover_cooldown_seconds",
        CHANNELS % ", failover_cooldown_seconds: VALUE",
        86_400,
    ),
    ("channels.sms.rate_per_second", CHANNELS % ", rate_per_second: VALUE", 100_000),
    (
        "planning.min_customers_per_worker",
        "planning:\n  min_customers_per_worker: VALUE\n",
        10_000_000,
    ),
]


@pytest.mark.parametrize(("key", "text", "most"), COUNTS, ids=[key for key, _, _ in COUNTS])
def test_a_count_or_span_has_an_upper_bound(tmp_path: Path, key: str, text: str, most: int) -> None:
    # at_risk_days must stay below lapsed_days, so its bound itself cannot load
    allowed = most - 1 if key == "lifecycle.at_risk_days" else most
    assert load_settings(_written(tmp_path, text.replace("VALUE", str(allowed))), environ={})
    line = text.count("\n", 0, text.index("VALUE")) + 1
    for refused in (most + 1, 10**20):
        found = problems_of(tmp_path, text.replace("VALUE", str(refused)))
        assert found == [f"{line}: {key}: Input should be less than or equal to {most}"]
