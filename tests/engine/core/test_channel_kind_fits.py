"""A channel's adapter must carry the channel's kind, and a channel named like a kind
must be of that kind, checked at load: 'sms: {adapter: smtp, kind: sms, url: ...}'
loaded, campaigns validate said valid, and every SMS then failed for good at its send
("the smtp channel cannot carry 'sms'"); a channel named sms of kind email sent
e-mails to customers who had said yes to texts on it."""

from __future__ import annotations

from pathlib import Path

from factories import config_problems

EMAIL = "  email: {adapter: file, kind: email, path: outbox}\n"


def test_an_adapter_that_cannot_carry_the_channels_kind_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    text = "channels:\n" + EMAIL + '  sms: {adapter: smtp, kind: sms, url: "smtp://127.0.0.1:25"}\n'

    assert config_problems(tmp_path, text) == [
        "3: channels.sms.adapter: adapter 'smtp' cannot carry sms (it carries email); "
        "channel 'sms' is of kind sms"
    ]


def test_a_provider_that_cannot_carry_the_channels_kind_is_refused_at_its_line(
    tmp_path: Path,
) -> None:
    text = (
        "channels:\n" + EMAIL + "  text:\n    kind: sms\n    providers:\n"
        "      - {adapter: http_sms, url: http://127.0.0.1:9/sms}\n"
        '      - {adapter: smtp, url: "smtp://127.0.0.1:25"}\n'
    )

    assert config_problems(tmp_path, text) == [
        "7: channels.text.providers.1.adapter: adapter 'smtp' cannot carry sms (it carries "
        "email); channel 'text' is of kind sms"
    ]


def test_a_channel_named_like_a_kind_must_be_of_that_kind(tmp_path: Path) -> None:
    text = "channels:\n" + EMAIL + "  sms: {adapter: file, kind: email, path: outbox}\n"

    assert config_problems(tmp_path, text) == [
        "3: channels.sms.kind: channel 'sms' is named like a kind and must be of it: its "
        "kind is email; give an email channel another name, or write kind: sms"
    ]
