"""The URLs of the SMTP and HTTP SMS adapters name a host and a port a connection can
use, in config.yaml (refused at FILE:LINE) and in RAPPORT_SMTP_URL / RAPPORT_SMS_URL
(refused naming the variable).

``smtp://h:0`` and ``smtp://ho st`` loaded: every send then failed at the connection
and was retried until it gave up.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from factories import config_problems as problems_of

from rapport.engine.core.config import load_settings
from rapport.engine.core.errors import ConfigError

FILE_CHANNELS = (
    "channels:\n"
    "  email: {adapter: file, kind: email, path: outbox}\n"
    "  sms: {adapter: file, kind: sms, path: outbox}\n"
)


#: URLs whose port or host no connection can use; urlsplit read each without a word.
UNUSABLE = [
    ("smtp", "smtp://mail.shop.example:0", "port 0"),
    ("smtp", "smtp://mail.shop.example:65536", "port"),
    ("smtp", "smtp://mail shop.example:25", "'mail shop.example' is not a host name"),
    ("smtp", "smtp://mail!.example", "'mail!.example' is not a host name"),
    ("http_sms", "http://sms.shop.example:0/send", "port 0"),
    ("http_sms", "http://sms shop.example/send", "'sms shop.example' is not a host name"),
    # An IPv6 literal left open: urlsplit raises, which was an "unexpected error"
    # without FILE:LINE for an SMTP URL (the password is never echoed).
    ("smtp", "smtp://shop:s3cret@[mail.shop.example", "not valid"),
    ("http_sms", "http://shop:s3cret@[sms.shop.example/send", "not valid"),
]
KINDS = {"smtp": ("email", "RAPPORT_SMTP_URL"), "http_sms": ("sms", "RAPPORT_SMS_URL")}


@pytest.mark.parametrize(("adapter", "url", "said"), UNUSABLE, ids=[u for _, u, _ in UNUSABLE])
def test_a_url_with_a_port_or_host_no_connection_can_use_is_refused_at_its_line(
    tmp_path: Path, adapter: str, url: str, said: str
) -> None:
    kind = KINDS[adapter][0]
    other = "sms" if kind == "email" else "email"
    found = problems_of(
        tmp_path,
        f"channels:\n  {other}: {{adapter: file, kind: {other}, path: outbox}}\n"
        f"  {kind}:\n    adapter: {adapter}\n    kind: {kind}\n    url: '{url}'\n",
    )
    assert len(found) == 1 and found[0].startswith(f"6: channels.{kind}.url: "), found
    assert said in found[0] and "s3cret" not in found[0]


@pytest.mark.parametrize(("adapter", "url", "said"), UNUSABLE, ids=[u for _, u, _ in UNUSABLE])
def test_a_url_variable_with_a_port_or_host_no_connection_can_use_is_refused_naming_it(
    tmp_path: Path, adapter: str, url: str, said: str
) -> None:
    variable = KINDS[adapter][1]
    config = tmp_path / "config.yaml"
    config.write_text(FILE_CHANNELS, encoding="utf-8")
    with pytest.raises(ConfigError, match=f"^{variable}: ") as raised:
        load_settings(config, environ={variable: url})
    assert said in str(raised.value) and "s3cret" not in str(raised.value)


@pytest.mark.parametrize(
    ("adapter", "url"),
    [
        ("smtp", "smtp://127.0.0.1:2525"),
        ("smtp", "smtps://user:pw@mail.shop.example"),
        ("smtp", "smtp://[::1]:25"),
        ("smtp", "smtp://mail_relay:25"),
        ("http_sms", "https://sms.shop.example:8443/send"),
        ("http_sms", "http://127.0.0.1:9/sms"),
    ],
)
def test_a_url_with_a_host_and_a_port_loads(tmp_path: Path, adapter: str, url: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(FILE_CHANNELS, encoding="utf-8")
    settings = load_settings(config, environ={KINDS[adapter][1]: url})
    assert settings.channels[KINDS[adapter][0]].model_extra == {"url": url}
