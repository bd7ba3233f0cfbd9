"""The web app's safety settings: defaults that hold, bounds that cannot be removed or
set to absurd values, and errors that name the file, line and setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from rapport.engine.core.config import Settings, WebConfig, load_settings
from rapport.engine.core.errors import ConfigError


def load(tmp_path: Path, web: str, environ: dict[str, str] | None = None) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text(f"database: {{url: 'sqlite:///x.db'}}\nweb:\n{web}", encoding="utf-8")
    return load_settings(config, environ=environ or {})


def test_the_defaults_cap_bodies_heads_and_waits() -> None:
    web = WebConfig()
    assert (web.max_body_bytes, web.max_webhook_body_bytes, web.max_header_bytes) == (
        65536,
        1048576,
        16384,
    )
    assert (web.header_timeout_seconds, web.body_timeout_seconds, web.keep_alive_seconds) == (
        10,
        30,
        5,
    )
    assert web.link_limiter_max_keys == 10_000 and web.link_requests_per_hour == 5
    assert web.max_connections == 500
    assert web.access_log is False
    assert (web.metrics_host, web.metrics_port, web.metrics_token) == ("127.0.0.1", None, None)


@pytest.mark.parametrize(
    ("setting", "refused", "accepted"),
    [
        ("max_body_bytes", 1023, 1024),
        ("max_body_bytes", 16 * 1024 * 1024 + 1, 16 * 1024 * 1024),
        ("max_webhook_body_bytes", 64 * 1024 - 1, 64 * 1024),
        ("max_webhook_body_bytes", 16 * 1024 * 1024 + 1, 16 * 1024 * 1024),
        ("max_header_bytes", 4095, 4096),
        ("max_header_bytes", 65537, 65536),
        ("header_timeout_seconds", 0.5, 1),
        ("header_timeout_seconds", 121, 120),
        ("body_timeout_seconds", 0, 1),
        ("body_timeout_seconds", 601, 600),
        ("keep_alive_seconds", 0, 1),
        ("keep_alive_seconds", 121, 120),
        ("max_connections", 9, 10),
        ("max_connections", 10_001, 10_000),
        ("link_limiter_max_keys", 99, 100),
        ("link_limiter_max_keys", 100_001, 100_000),
        ("link_requests_per_hour", 1001, 1000),
        ("metrics_port", 0, 9464),
    ],
)
def test_each_limit_is_bounded_at_its_edge(
    tmp_path: Path, setting: str, refused: float, accepted: float
) -> None:
    with pytest.raises(ConfigError, match=rf"config\.yaml:4: web\.{setting}:"):
        load(tmp_path, f"  enabled: true\n  {setting}: {refused}\n")
    assert getattr(load(tmp_path, f"  {setting}: {accepted}\n").web, setting) == accepted


def test_a_limit_that_is_not_a_number_names_its_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config\.yaml:4: web\.max_body_bytes:"):
        load(tmp_path, "  enabled: true\n  max_body_bytes: lots\n")


def test_an_unknown_web_key_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config\.yaml:4: web\.max_body_size"):
        load(tmp_path, "  enabled: true\n  max_body_size: 1000\n")


def test_metrics_cannot_share_the_web_port(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"config\.yaml:\d+: web.*metrics_port 8000 is web\.port"):
        load(tmp_path, "  metrics_port: 8000\n")


def test_the_metrics_token_comes_from_the_environment_and_is_never_dumped(
    tmp_path: Path,
) -> None:
    settings = load(tmp_path, "  metrics_port: 9464\n", {"RAPPORT_METRICS_TOKEN": "s3cret"})
    assert settings.web.metrics_token == "s3cret"
    assert "s3cret" not in settings.model_dump_json()


@pytest.mark.parametrize("key", ["host", "metrics_host"])
@pytest.mark.parametrize("written", ['""', '" "', '" 127.0.0.1"'])
def test_an_empty_listening_address_is_refused_at_its_line(
    tmp_path: Path, key: str, written: str
) -> None:
    """Empty, the server listened on every interface (0.0.0.0 and ::), and the warning
    about an open /metrics named no address."""
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, f"  {key}: {written}\n")

    (problem,) = raised.value.problems
    assert (problem.line, problem.field) == (3, f"web.{key}")
    assert "is not an address: empty, the server listens on every interface" in problem.message


@pytest.mark.parametrize("key", ["host", "metrics_host"])
@pytest.mark.parametrize("written", ['"not a host"', "bad_host!", "-lead.example", "a..b"])
def test_a_listening_address_that_is_no_host_name_is_refused_at_its_line(
    tmp_path: Path, key: str, written: str
) -> None:
    with pytest.raises(ConfigError) as raised:
        load(tmp_path, f"  {key}: {written}\n")

    (problem,) = raised.value.problems
    assert (problem.line, problem.field) == (3, f"web.{key}")
    assert "is not an address to listen on" in problem.message


@pytest.mark.parametrize(
    "written", ["127.0.0.1", "0.0.0.0", "'::'", "'::1'", "localhost", "web-1.internal"]
)
def test_an_ip_address_or_a_host_name_is_a_listening_address(tmp_path: Path, written: str) -> None:
    assert load(tmp_path, f"  host: {written}\n").web.host == written.strip("'")
