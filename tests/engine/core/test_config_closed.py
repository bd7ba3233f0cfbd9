"""config.yaml is closed: every key naming a kind, a channel, a country or an adapter
option is checked, and reported at its FILE:LINE; the legal SMS window is a floor
(issue 16, point 2)."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import time
from pathlib import Path

import pytest
import yaml
from factories import REPO
from factories import config_problems as problems_of
from pydantic import ValidationError

from rapport.engine.core.config import AllowedHours, QuietHours, Settings, load_settings
from rapport.engine.core.errors import ConfigError

RAPPORT = str(Path(sys.executable).parent / "rapport")
FILE_CHANNELS = (
    "channels:\n"
    "  email: {adapter: file, kind: email, path: outbox}\n"
    "  sms: {adapter: file, kind: sms, path: outbox}\n"
)


def loaded(tmp_path: Path, text: str) -> Settings:
    config = tmp_path / "config.yaml"
    config.write_text(text, encoding="utf-8")
    return load_settings(config, environ={})


# --------------------------------------------------------------------------- quiet hours


def test_a_typo_in_a_quiet_hours_key_is_refused_at_its_line(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path, 'quiet_hours:\n  smss:\n    not_before: "09:00"\n    not_after: "20:00"\n'
    )
    assert len(found) == 1
    assert found[0].startswith("2: quiet_hours.smss: unknown key 'smss'; did you mean 'sms'?")
    assert "per channel kind: email, sms" in found[0]


def test_quiet_hours_for_a_channel_name_point_to_its_kind(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        FILE_CHANNELS + "  promo: {adapter: file, kind: sms, path: outbox}\n"
        "quiet_hours:\n"
        '  promo: {not_before: "09:00", not_after: "20:00"}\n',
    )
    assert found == [
        "6: quiet_hours.promo: quiet hours are set per channel kind, not per channel: 'promo' "
        "is a channel of kind sms; write its hours under sms (they hold for every sms channel)"
    ]


def test_writing_quiet_hours_for_email_keeps_the_sms_window(tmp_path: Path) -> None:
    settings = loaded(
        tmp_path, 'quiet_hours:\n  email: {not_before: "07:00", not_after: "22:00"}\n'
    )
    sms = settings.quiet_hours["sms"]
    assert (sms.not_before, sms.not_after) == (time(8), time(21))
    assert (settings.quiet_hours["email"].not_before, Settings(quiet_hours={}).quiet_hours) == (
        time(7),
        {"sms": sms},
    )


def test_an_sms_window_may_narrow_the_legal_one(tmp_path: Path) -> None:
    settings = loaded(
        tmp_path,
        "quiet_hours:\n"
        "  sms:\n"
        '    not_before: "09:00"\n'
        '    not_after: "21:00"\n'
        "    countries:\n"
        '      IR: {not_before: "10:00", not_after: "20:00"}\n',
    )
    assert settings.quiet_hours["sms"].for_country("IR").not_before == time(10)


@pytest.mark.parametrize(
    ("window", "key", "said"),
    [
        ('{not_before: "07:59", not_after: "21:00"}', "not_before", "07:59 is before 08:00"),
        ('{not_before: "08:00", not_after: "21:01"}', "not_after", "21:01 is after 21:00"),
        ('{not_before: "00:00", not_after: "23:59"}', "not_before", "00:00 is before 08:00"),
    ],
)
def test_an_sms_window_reaching_outside_08_to_21_is_refused(
    tmp_path: Path, window: str, key: str, said: str
) -> None:
    found = problems_of(tmp_path, f"quiet_hours:\n  sms: {window}\n")
    assert found[0].startswith(f"2: quiet_hours.sms.{key}: {said}. SMS may go out only")
    assert "widen_legal_window: true" in found[0]


def test_a_country_window_obeys_the_same_floor(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "quiet_hours:\n"
        "  sms:\n"
        '    not_before: "08:00"\n'
        '    not_after: "21:00"\n'
        "    widen_legal_window: true\n"  # the general window's flag is its own
        "    countries:\n"
        '      US: {not_before: "08:00", not_after: "22:00"}\n'
        '      ir: {not_before: "09:00", not_after: "20:00"}\n',
    )
    assert [p.split(": ")[0:2] for p in found] == [
        ["7", "quiet_hours.sms.countries.US.not_after"],
        ["8", "quiet_hours.sms.countries.ir"],
    ]
    assert "not an ISO 3166 two-letter country code in capitals" in found[1]


def test_widening_the_sms_window_takes_the_explicit_setting(tmp_path: Path) -> None:
    settings = loaded(
        tmp_path,
        "quiet_hours:\n"
        "  sms:\n"
        '    not_before: "08:00"\n'
        '    not_after: "21:00"\n'
        "    countries:\n"
        '      GB: {not_before: "07:30", not_after: "21:00", widen_legal_window: true}\n',
    )
    assert settings.quiet_hours["sms"].for_country("GB").not_before == time(7, 30)
    assert settings.quiet_hours["sms"].for_country("FR").not_before == time(8)


def test_widen_legal_window_is_refused_on_email_hours(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        'quiet_hours:\n  email:\n    not_before: "06:00"\n    not_after: "23:00"\n'
        "    widen_legal_window: true\n",
    )
    assert found == [
        "5: quiet_hours.email.widen_legal_window: widen_legal_window is for SMS hours only: "
        "e-mail has no legal window"
    ]


def test_settings_built_in_code_keep_the_floor_too() -> None:
    early = QuietHours(not_before=time(7), not_after=time(21))
    with pytest.raises(ValidationError, match="07:00 is before 08:00"):
        Settings(quiet_hours={"sms": early})
    wide = QuietHours(
        not_before=time(8),
        not_after=time(21),
        countries={"GB": AllowedHours(not_before=time(7), not_after=time(21))},
    )
    with pytest.raises(ValidationError, match=r"quiet_hours\.sms\.countries\.GB\.not_before"):
        Settings(quiet_hours={"sms": wide})
    widened = AllowedHours(not_before=time(7), not_after=time(21), widen_legal_window=True)
    Settings(quiet_hours={"sms": wide.model_copy(update={"countries": {"GB": widened}})})


# --------------------------------------------------------------------------- caps, kinds


def test_a_cap_for_an_unknown_channel_is_refused_with_the_channels_listed(tmp_path: Path) -> None:
    found = problems_of(tmp_path, FILE_CHANNELS + "caps:\n  channels:\n    smss: {per_week: 1}\n")
    assert found == [
        "6: caps.channels.smss: unknown channel 'smss'; did you mean 'sms'? channel caps are "
        "keyed by a configured channel's name: email (email), sms (sms)"
    ]


def test_a_cap_keyed_by_kind_needs_a_channel_of_that_name(tmp_path: Path) -> None:
    channels = "channels:\n  mail: {adapter: file, kind: email, path: o}\n"
    found = problems_of(tmp_path, channels + "caps:\n  channels:\n    email: {per_day: 1}\n")
    assert found == [
        "5: caps.channels.email: no channel is named 'email': channel caps are keyed by "
        "channel name, not kind; the channels: mail (email)"
    ]
    fine = loaded(tmp_path, FILE_CHANNELS + "caps:\n  channels:\n    sms: {per_week: 1}\n")
    assert fine.caps.channels["sms"].per_week == 1


def test_a_channel_whose_name_is_not_a_kind_needs_one(tmp_path: Path) -> None:
    found = problems_of(tmp_path, FILE_CHANNELS + "  push: {adapter: console}\n")
    assert found == [
        "4: channels.push: channel 'push' needs kind: email or sms (its name is not a kind)"
    ]


# --------------------------------------------------------------------------- currencies, locales


def test_a_rate_for_a_currency_code_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """Orders are matched to ``tiers.rates`` by their stored code (capitals): a rate
    under ``EURR`` or ``eur`` would leave every EUR order counting as 0 spend."""
    found = problems_of(tmp_path, "tiers:\n  rates:\n    USD: 1\n    EURR: 1.08\n    eur: 1.1\n")
    assert found == [
        "4: tiers.rates.EURR: 'EURR' is not an ISO 4217 currency code in capitals (e.g. USD, "
        "EUR, IRR), as orders' currencies are stored; did you mean 'EUR'?",
        "5: tiers.rates.eur: 'eur' is not an ISO 4217 currency code in capitals (e.g. USD, "
        "EUR, IRR), as orders' currencies are stored; did you mean 'EUR'?",
    ]


def test_the_base_currency_is_an_iso_4217_code(tmp_path: Path) -> None:
    found = problems_of(tmp_path, "tiers:\n  base_currency: USDD\n")
    assert found == [
        "2: tiers.base_currency: 'USDD' is not an ISO 4217 currency code in capitals (e.g. "
        "USD, EUR, IRR), as orders' currencies are stored; did you mean 'USD'?"
    ]
    fine = loaded(tmp_path, "tiers:\n  base_currency: EUR\n  rates: {USD: 0.93, IRR: 0.00002}\n")
    assert fine.tiers.base_currency == "EUR"


def test_a_sender_text_for_a_locale_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    """A From name under ``faa`` would never be used: Persian mail would go out under
    the from_address's own name, silently."""
    found = problems_of(
        tmp_path, "sender:\n  from_name:\n    faa: X\n  sms_signature:\n    xx_YY: Y\n"
    )
    assert found == [
        "3: sender.from_name.faa: 'faa' is not a known locale (e.g. en, fa_IR, zh_Hant)",
        "5: sender.sms_signature.xx_YY: 'xx_YY' is not a known locale (e.g. en, fa_IR, zh_Hant)",
    ]
    fine = loaded(tmp_path, "sender:\n  from_name: {fa: X, zh_Hant: Y, en-GB: Z}\n")
    assert set(fine.sender.from_name) == {"fa", "zh_Hant", "en-GB"}


# --------------------------------------------------------------------------- adapter options


def test_an_adapter_option_typo_is_refused_at_load_with_the_accepted_ones(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms:\n"
        "    adapter: http_sms\n"
        "    kind: sms\n"
        "    urll: http://127.0.0.1:9/sms\n",
    )
    assert found == [
        "6: channels.sms.urll: unknown option 'urll' for adapter 'http_sms'; did you mean "
        "'url'? it takes: url (text, required), token (text), timeout (number) (each also "
        "as <name>_env: VARIABLE)",
        "4: channels.sms.adapter: adapter 'http_sms' needs option 'url'; it takes: url "
        "(text, required), token (text), timeout (number)",
    ]


def test_provider_options_are_checked_one_by_one(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms:\n"
        "    kind: sms\n"
        "    providers:\n"
        "      - {adapter: http_sms, url: http://127.0.0.1:9/sms}\n"
        "      - adapter: twilio\n"
        "        account_sid: AC1\n"
        "        auth_token_env: TWILIO_TOKEN\n"
        "        from_number: '+15550100'\n"
        "        timeout: '10'\n",
    )
    assert found == [
        "11: channels.sms.providers.1.timeout: option 'timeout' is text; it takes number"
    ]


def test_adapter_problems_come_with_the_other_problems_of_the_file(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "quiet_hours:\n  smss: {not_before: '09:00', not_after: '20:00'}\n"
        "channels:\n  email: {adapter: smtp, kind: email, url: 'smtp://h', hots: x}\n",
    )
    assert [p.split(":")[0] for p in found] == ["2", "4"]


def test_campaigns_validate_reports_configuration_problems(tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n"
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: http_sms, kind: sms, urll: 'http://127.0.0.1:9/sms'}\n"
        "quiet_hours:\n  smss: {not_before: '09:00', not_after: '20:00'}\n"
        "caps:\n  channels:\n    smss: {per_week: 1}\n",
        encoding="utf-8",
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
    for line, key in [
        (5, "channels.sms.urll"),
        (7, "quiet_hours.smss"),
        (10, "caps.channels.smss"),
    ]:
        assert f"{config}:{line}: {key}:" in result.stderr


def test_an_smtp_url_the_adapter_would_refuse_is_refused_at_its_line(tmp_path: Path) -> None:
    found = problems_of(
        tmp_path,
        "channels:\n  email:\n    adapter: smtp\n    url: mail.example.com\n",
    )
    assert found == ["4: channels.email.url: SMTP URL must start with smtp:// or smtps://, not ''"]


def test_an_sms_provider_url_the_adapter_would_refuse_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    found = problems_of(
        tmp_path,
        "channels:\n"
        "  email: {adapter: file, kind: email, path: outbox}\n"
        "  sms: {adapter: http_sms, kind: sms, url: 'sms.example.com/send'}\n",
    )
    assert found == [
        "3: channels.sms.url: the SMS provider URL must be http:// or https:// with a host"
    ]


@pytest.mark.parametrize(
    ("variable", "url"), [("RAPPORT_SMTP_URL", "garbage"), ("RAPPORT_SMS_URL", "http://[::1")]
)
def test_a_url_variable_the_adapter_would_refuse_is_refused_at_load_naming_it(
    tmp_path: Path, variable: str, url: str
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(FILE_CHANNELS, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{variable}: "):
        load_settings(config, environ={variable: url})


# --------------------------------------------------------------------------- shipped files


def test_the_shipped_config_and_its_quiet_hours_example_load(tmp_path: Path) -> None:
    shipped = (REPO / "config.yaml").read_text(encoding="utf-8")
    load_settings(REPO / "config.yaml", environ={})
    example = shipped.split("# quiet_hours:\n", 1)[1].split("\n\n", 1)[0]
    uncommented = "quiet_hours:\n" + "\n".join(line[2:] for line in example.splitlines())
    settings = loaded(tmp_path, uncommented + "\n")
    assert settings.quiet_hours["sms"].for_country("IR").not_before == time(9)


def test_the_docs_show_how_to_widen_the_sms_window() -> None:
    text = (REPO / "docs" / "campaigns.md").read_text(encoding="utf-8")
    blocks = [part.split("```", 1)[0] for part in text.split("```yaml-fragment\n")[1:]]
    widened = [block for block in blocks if "widen_legal_window: true" in block]
    settings = Settings.model_validate(yaml.safe_load(widened[0]))
    assert settings.quiet_hours["sms"].for_country("GB").not_before == time(7, 30)
    operations = (REPO / "docs" / "operations.md").read_text(encoding="utf-8")
    assert "widen_legal_window: true" in operations


# --------------------------------------------------------------------------- texts in every message


@pytest.mark.parametrize(
    "key", ["postal_address", "from_address", "message_id_domain", "brand", "unsubscribe_mailto"]
)
@pytest.mark.parametrize("empty", ['""', "'  '"])
def test_an_empty_sender_text_is_refused_at_its_line(tmp_path: Path, key: str, empty: str) -> None:
    """The postal address (marketing law asks for it in every e-mail) and the other
    sender texts left empty loaded silently and every message went out without them."""
    found = problems_of(tmp_path, FILE_CHANNELS + f"sender:\n  {key}: {empty}\n")

    assert len(found) == 1 and found[0].startswith(f"5: sender.{key}: ")
    assert "may not be empty" in found[0]


def test_a_from_address_without_a_mailbox_is_refused_at_its_line(tmp_path: Path) -> None:
    found = problems_of(tmp_path, FILE_CHANNELS + "sender:\n  from_address: Rapport\n")

    assert found == [
        "5: sender.from_address: 'Rapport' holds no e-mail address "
        "(write 'Shop <hello@shop.example>')"
    ]


@pytest.mark.parametrize(
    "url", ['""', "shop.example", "ftp://shop.example", "https://", "https://shop.example/?a=1"]
)
def test_a_base_url_links_cannot_start_with_is_refused_at_its_line(
    tmp_path: Path, url: str
) -> None:
    """Every link in a message (List-Unsubscribe too) is web.base_url and a path; these
    loaded with at most a warning about HTTPS, and the links opened nothing."""
    found = problems_of(tmp_path, FILE_CHANNELS + f"web:\n  base_url: {url}\n")

    assert len(found) == 1 and found[0].startswith("5: web.base_url: "), found


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8000", "https://shop.example", "https://shop.example/rapport/"]
)
def test_a_base_url_with_a_scheme_and_host_loads(tmp_path: Path, url: str) -> None:
    assert loaded(tmp_path, FILE_CHANNELS + f"web:\n  base_url: '{url}'\n").web.base_url == url


@pytest.mark.parametrize(
    "url",
    ["mysql://shop@db/rapport", "postgresq://db/rapport", "rapport.db", "postgresql://db:5a/r"],
)
def test_a_database_url_rapport_cannot_use_is_refused_at_its_line(tmp_path: Path, url: str) -> None:
    """database.url loaded whatever it said: `campaigns validate` passed, and the
    daemon stopped at start with a message naming no line."""
    found = problems_of(tmp_path, f"database:\n  url: '{url}'\n")

    assert len(found) == 1 and found[0].startswith("2: database.url: "), found
    assert "sqlite:///PATH or postgresql://USER@HOST:PORT/NAME" in found[0]


@pytest.mark.parametrize(
    "url", ["sqlite:///var/rapport.db", "sqlite://", "postgresql://u@db:5432/r", "postgres://db/r"]
)
def test_a_database_url_rapport_can_use_loads(tmp_path: Path, url: str) -> None:
    assert loaded(tmp_path, f"database:\n  url: '{url}'\n").database.url == url


@pytest.mark.parametrize("key", ["backoff_base_seconds", "backoff_max_seconds"])
def test_a_retry_wait_longer_than_a_day_is_refused_at_its_line(tmp_path: Path, key: str) -> None:
    """`backoff_max_seconds: 1e300` loaded, and every transient refusal then raised
    OverflowError adding the wait to a date: 'unexpected error before sending; the
    message is handed back to the queue', due at once, so it was sent to the provider
    again on every pass without any wait until max_attempts. A day is as long as a
    provider's own Retry-After is honoured (channels/retry_after.py)."""
    found = problems_of(tmp_path, f"dispatch:\n  {key}: 1e300\n")

    assert len(found) == 1 and found[0].startswith(f"2: dispatch.{key}: "), found
    assert "86400" in found[0]
    assert loaded(tmp_path, f"dispatch:\n  {key}: 86400\n").dispatch.backoff_base_seconds


@pytest.mark.parametrize(
    "key", ["preference_link_days", "unsubscribe_link_days", "confirm_link_days"]
)
def test_a_link_lifetime_past_ten_years_is_refused_at_its_line(tmp_path: Path, key: str) -> None:
    """`confirm_link_days: 3000000` loaded; a pending opt-in's expiry is now plus that
    many days (engine/web/preferences.py), past the year 9999: OverflowError, a 500
    for the customer opting in. Ten years is the most any link may live."""
    found = problems_of(tmp_path, f"web:\n  {key}: 3000000\n")

    assert len(found) == 1 and found[0].startswith(f"2: web.{key}: "), found
    assert "3650" in found[0]
    assert getattr(loaded(tmp_path, f"web:\n  {key}: 3650\n").web, key) == 3650


def test_planning_back_to_back_is_refused_at_its_line(tmp_path: Path) -> None:
    """`daemon.plan_seconds: 1e-9` loaded (the bound was "> 0"), and the daemon then
    planned without a pause, 20 runs in 6 s on the demo's data (found by the operations
    tester). A second is the least."""
    found = problems_of(tmp_path, "daemon:\n  plan_seconds: 1e-9\n")

    assert len(found) == 1 and found[0].startswith("2: daemon.plan_seconds: "), found
    assert loaded(tmp_path, "daemon:\n  plan_seconds: 1\n").daemon.plan_seconds == 1


@pytest.mark.parametrize(("written", "number"), [("20:00", 1200), ("9:30", 570), ("10:00", 600)])
def test_an_unquoted_time_is_refused_naming_the_time_written(
    tmp_path: Path, written: str, number: int
) -> None:
    """The hint said "YAML reads 10:00 as 600" whatever the time: for an unquoted 20:00
    it named neither the time written nor the number YAML made of it (found by the
    operations tester)."""
    text = f"quiet_hours:\n  sms: {{not_before: '08:00', not_after: {written}}}\n"
    found = problems_of(tmp_path, text)

    assert len(found) == 1 and "quiet_hours.sms.not_after" in found[0], found
    shown = "{:02d}:{:02d}".format(*divmod(number, 60))
    assert f'"{shown}" (unquoted, YAML reads {shown} as the number {number})' in found[0]
