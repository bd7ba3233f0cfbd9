"""An adapter option its adapter would refuse when built is refused when config.yaml is
loaded, at its line: ``campaigns validate`` said the configuration was valid, and
``rapport dispatch`` or ``run`` then stopped with ``error: channels.sms: channel adapter
'twilio': ...`` naming no line (found by the config tester)."""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems

EMAIL = "  email: {adapter: file, kind: email, path: outbox}\n"
TWILIO = "  sms:\n    adapter: twilio\n    kind: sms\n"


def twilio(options: str) -> str:
    return "channels:\n" + EMAIL + TWILIO + options


def test_a_twilio_base_url_with_a_misspelt_scheme_is_refused_at_its_line(tmp_path: Path) -> None:
    found = config_problems(
        tmp_path,
        twilio(
            "    account_sid: AC123\n    auth_token: token\n    from_number: '+15550100'\n"
            "    base_url: htps://api.twilio.com\n"
        ),
    )
    assert found == ["9: channels.sms.base_url: base_url: must be http:// or https:// with a host"]


def test_a_twilio_base_url_with_a_port_out_of_range_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    (problem,) = config_problems(
        tmp_path,
        twilio(
            "    account_sid: AC123\n    auth_token: token\n    from_number: '+15550100'\n"
            "    base_url: https://api.twilio.com:99999\n"
        ),
    )
    assert problem.startswith("9: channels.sms.base_url: ") and "port" in problem


def test_a_twilio_channel_without_a_sender_is_refused_at_its_adapter(tmp_path: Path) -> None:
    found = config_problems(tmp_path, twilio("    account_sid: AC123\n    auth_token: token\n"))
    assert found == ["4: channels.sms.adapter: give from_number or messaging_service_sid (or both)"]


def test_a_twilio_sender_from_the_environment_counts(tmp_path: Path) -> None:
    from rapport.engine.core.config import load_settings

    config = tmp_path / "config.yaml"
    config.write_text(
        twilio("    account_sid: AC123\n    auth_token_env: T\n    from_number_env: F\n"),
        encoding="utf-8",
    )
    assert load_settings(config, environ={}).channels["sms"].adapter == "twilio"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (
            "    account_sid: 'AC 123'\n    auth_token: token\n",
            "6: channels.sms.account_sid: account_sid must be letters, digits, '-' or '_'",
        ),
        (
            "    account_sid: AC123\n    auth_token: ''\n",
            "7: channels.sms.auth_token: auth_token is empty",
        ),
    ],
)
def test_a_twilio_account_the_adapter_would_refuse_is_refused_at_its_line(
    tmp_path: Path, line: str, expected: str
) -> None:
    found = config_problems(tmp_path, twilio(line + "    from_number: '+15550100'\n"))
    assert found == [expected]


def webhook(options: str) -> str:
    return "channels:\n  email:\n    adapter: webhook\n    kind: email\n" + options


@pytest.mark.parametrize(
    "url",
    ["htps://hooks.shop.example/rapport", "https://hooks.shop.example:99999/rapport"],
)
def test_a_webhook_url_the_adapter_would_refuse_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    (problem,) = config_problems(tmp_path, webhook(f"    url: '{url}'\n"))
    assert problem.startswith("5: channels.email.url: the webhook URL ")


def test_an_empty_webhook_secret_is_refused_at_its_line(tmp_path: Path) -> None:
    found = config_problems(
        tmp_path, webhook("    url: https://hooks.shop.example/r\n    secret: ''\n")
    )
    assert found == ["6: channels.email.secret: secret is empty; leave it out to send unsigned"]


def test_a_webhook_token_holding_a_line_break_is_refused_at_its_line(tmp_path: Path) -> None:
    found = config_problems(
        tmp_path, webhook('    url: https://hooks.shop.example/r\n    token: "a\\nb"\n')
    )
    assert found == [
        "6: channels.email.token: header 'Authorization' (field 'token') contains CR, LF or NUL"
    ]


def smtp(options: str) -> str:
    return "channels:\n  email:\n    adapter: smtp\n    kind: email\n" + options


def test_an_smtp_url_naming_starttls_twice_is_refused_at_its_line(tmp_path: Path) -> None:
    """With the parameter written twice the last won: ``?starttls=1&starttls=0`` turned
    the required STARTTLS off."""
    found = config_problems(
        tmp_path, smtp("    url: 'smtp://mail.shop.example:587?starttls=1&starttls=0'\n")
    )
    assert found == ["5: channels.email.url: the SMTP URL gives starttls twice; give it once"]


@pytest.mark.parametrize(
    "url", ["smtp://mail.shop.example:587/submission", "smtp://mail.shop.example:25#tls"]
)
def test_an_smtp_url_with_a_path_or_fragment_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    (problem,) = config_problems(tmp_path, smtp(f"    url: '{url}'\n"))
    assert problem.startswith("5: channels.email.url: the SMTP URL has ")


def test_part_of_the_dkim_options_is_refused_at_load(tmp_path: Path) -> None:
    """Signing needs all three; with one left out the configuration loaded and every
    dispatcher stopped at its start."""
    found = config_problems(
        tmp_path,
        smtp(
            "    url: smtp://mail.shop.example\n"
            "    dkim_selector: s1\n"
            "    dkim_domain: shop.example\n"
        ),
    )
    assert found == [
        "3: channels.email.adapter: DKIM needs dkim_selector, dkim_domain and "
        "dkim_private_key_path together"
    ]


def test_a_kind_written_in_a_provider_is_refused_at_its_line(tmp_path: Path) -> None:
    """A channel has one kind, written beside ``providers``; inside a provider the key
    was dropped unread (``kind: email`` in a provider of the sms channel loaded)."""
    found = config_problems(
        tmp_path,
        "channels:\n"
        + EMAIL
        + "  sms:\n"
        + "    kind: sms\n"
        + "    providers:\n"
        + "      - {adapter: file, path: outbox}\n"
        + "      - adapter: file\n"
        + "        path: outbox\n"
        + "        kind: email\n",
    )
    assert found == [
        "9: channels.sms.providers.1.kind: kind belongs to the channel (beside providers), "
        "not to one provider"
    ]


@pytest.mark.parametrize("path", ['""', '" "', '"outbox "'])
def test_a_file_channel_path_that_is_empty_or_padded_is_refused_at_its_line(
    tmp_path: Path, path: str
) -> None:
    (problem,) = config_problems(
        tmp_path, "channels:\n" + EMAIL + f"  sms:\n    adapter: file\n    path: {path}\n"
    )
    assert problem.startswith("5: channels.sms.path: ")


def test_an_sms_provider_token_holding_a_line_break_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    found = config_problems(
        tmp_path,
        "channels:\n"
        + EMAIL
        + "  sms:\n    adapter: http_sms\n    url: https://sms.shop.example/send\n"
        + '    token: "a\\nb"\n',
    )
    assert found == [
        "6: channels.sms.token: header 'Authorization' (field 'token') contains CR, LF or NUL"
    ]


def test_an_sms_provider_url_holding_a_user_and_password_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    """The adapter's own connection sent no Authorization from them (a provider wanting
    them refused every text), while the same URL behind a proxy sent them as Basic."""
    (problem,) = config_problems(
        tmp_path,
        "channels:\n"
        + EMAIL
        + "  sms:\n    adapter: http_sms\n    url: https://shop:s3cret@sms.shop.example/send\n",
    )
    assert problem.startswith("5: channels.sms.url: ") and "s3cret" not in problem
    assert "token" in problem


def smtp_with_dkim(selector: str, domain: str, tmp_path: Path) -> str:
    return (
        "channels:\n  email:\n    adapter: smtp\n    kind: email\n"
        "    url: smtp://127.0.0.1:2525\n"
        f"    dkim_selector: {selector}\n    dkim_domain: {domain}\n"
        "    dkim_private_key_path: dkim.pem\n"
    )


@pytest.mark.parametrize(
    ("selector", "domain", "problem"),
    [
        ("sel1", "'shop example'", "7: channels.email.dkim_domain: "),
        ("'sel 1'", "shop.example", "6: channels.email.dkim_selector: "),
    ],
)
def test_a_dkim_name_no_dns_holds_is_refused_at_its_line(
    tmp_path: Path, selector: str, domain: str, problem: str
) -> None:
    """It passed 'campaigns validate', and every dispatcher then stopped with 'error: 2
    of 2 dispatcher processes failed: ConfigError: channels.email: channel adapter
    'smtp': dkim_domain must be ASCII letters, digits, ...' (exit 3), naming no line."""
    [found] = config_problems(tmp_path, smtp_with_dkim(selector, domain, tmp_path))

    assert found.startswith(problem)
