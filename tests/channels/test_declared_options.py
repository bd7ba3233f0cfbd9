"""Adapters declare the options configuration may give them, and nothing else passes:
a typo is refused by name with the accepted options listed, never a TypeError at the
first send (issue 16, point 2)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, TextIO

import pytest

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.options import OptionSpec, from_signature, option_problems
from rapport.channels.registry import (
    AdapterOptionsError,
    adapter_class,
    adapter_names,
    build_channel,
    check_options,
)

#: What each built-in adapter declares, as the messages list it.
DECLARED = {
    "console": ["sender (text)", "message_id_domain (text)"],
    "file": ["path (text, required)", "sender (text)", "message_id_domain (text)"],
    "http_sms": ["url (text, required)", "token (text)", "timeout (number)"],
    "smtp": [
        "url (text, required)",
        "sender (text)",
        "timeout (number)",
        "message_id_domain (text)",
        "tls_verify (true/false)",
        "ca_file (text)",
        "dkim_selector (text)",
        "dkim_domain (text)",
        "dkim_private_key_path (text)",
        "smtputf8 (true/false)",
    ],
    "twilio": [
        "account_sid (text, required)",
        "auth_token (text, required)",
        "from_number (text)",
        "messaging_service_sid (text)",
        "base_url (text)",
        "timeout (number)",
    ],
    "webhook": [
        "url (text, required)",
        "secret (text)",
        "token (text)",
        "allow_private (true/false)",
        "timeout (number)",
        "message_id_domain (text)",
        "ca_file (text)",
    ],
}


@pytest.mark.parametrize("name", sorted(DECLARED))
def test_every_built_in_adapter_declares_its_options(name: str) -> None:
    declared = adapter_class(name).declared_options()
    assert declared is not None
    assert [spec.describe() for spec in declared.values()] == DECLARED[name]


def test_every_installed_adapter_is_listed_above() -> None:
    assert set(adapter_names()) <= set(DECLARED)


def test_what_yaml_cannot_write_is_not_an_option() -> None:
    # ConsoleChannel(stream=...) and WebhookChannel(resolver=...) are for code only.
    assert "stream" not in (adapter_class("console").declared_options() or {})
    assert "resolver" not in (adapter_class("webhook").declared_options() or {})
    problems = check_options("console", {"stream": "stdout"})
    assert [p.key for p in problems] == ["stream"]


def test_a_typo_is_refused_by_name_with_the_accepted_options() -> None:
    problems = check_options("http_sms", {"adapter": "http_sms", "urll": "http://h/sms"})
    assert [(p.key, p.message) for p in problems] == [
        (
            "urll",
            "unknown option 'urll' for adapter 'http_sms'; did you mean 'url'? it takes: url "
            "(text, required), token (text), timeout (number) (each also as <name>_env: "
            "VARIABLE)",
        ),
        (
            None,
            "adapter 'http_sms' needs option 'url'; it takes: url (text, required), token "
            "(text), timeout (number)",
        ),
    ]


def test_build_channel_refuses_the_typo_before_the_adapter_sees_it(tmp_path: Path) -> None:
    with pytest.raises(AdapterOptionsError, match="unknown option 'urll'") as raised:
        build_channel("http_sms", {"urll": "http://127.0.0.1:9/sms"}, tmp_path)
    assert raised.value.__cause__ is None  # refused by the check, not a TypeError


@pytest.mark.parametrize(
    ("options", "said"),
    [
        ({"url": "http://h/sms", "timeout": "10"}, "option 'timeout' is text; it takes number"),
        ({"url": "http://h/sms", "timeout": True}, "option 'timeout' is true/false"),
        ({"url": 8080}, "option 'url' is whole number; it takes text"),
        ({"url": None}, "option 'url' may not be empty (null)"),
        ({"url": "http://h/sms", "token_env": ""}, "must name an environment variable"),
        ({"url": "http://h/sms", "token": "t", "token_env": "T"}, "give 'token' or 'token_env'"),
    ],
)
def test_values_of_the_wrong_type_are_refused(options: dict[str, Any], said: str) -> None:
    messages = [p.message for p in check_options("http_sms", options)]
    assert any(said in message for message in messages), messages


def test_right_values_pass_ints_included_where_numbers_go() -> None:
    assert check_options("http_sms", {"url": "http://h/sms", "timeout": 5, "token": None}) == []
    assert check_options("http_sms", {"url_env": "SMS_URL", "timeout": 2.5}) == []
    assert check_options("webhook", {"url": "https://h/in", "allow_private": False}) == []


@pytest.mark.parametrize("adapter", ["smtp", "http_sms", "twilio", "webhook"])
@pytest.mark.parametrize("timeout", [0, -1, -30.5, 601, 86400])
def test_a_timeout_out_of_its_bounds_is_refused(adapter: str, timeout: float) -> None:
    """'timeout: -1' (or 0) loaded: every send then timed out at once and was retried
    until it failed for good; 86400 held a send's connection for a day."""
    messages = [p.message for p in check_options(adapter, {"timeout": timeout})]
    assert any(
        f"option 'timeout' is {timeout}: seconds, more than 0 and at most 600" in message
        for message in messages
    ), messages


def test_a_timeout_out_of_its_bounds_is_refused_when_the_channel_is_built(
    tmp_path: Path,
) -> None:
    with pytest.raises(AdapterOptionsError, match="option 'timeout' is 0: seconds"):
        build_channel("http_sms", {"url": "http://127.0.0.1:9/sms", "timeout": 0}, tmp_path)


def test_a_timeout_within_its_bounds_passes() -> None:
    assert check_options("smtp", {"url": "smtp://h:25", "timeout": 0.5}) == []
    assert check_options("http_sms", {"url": "http://h/sms", "timeout": 600}) == []


class _Open(Channel):
    """A third-party adapter taking anything: its options are not checked."""

    name = "open"
    kinds = frozenset({"sms"})

    def __init__(self, **options: Any) -> None:
        self.given = options

    async def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult.accepted()


class _Declared(Channel):
    """One whose from_options reads keys its __init__ does not take: it declares them."""

    name = "declared"
    kinds = frozenset({"sms"})

    def __init__(self, endpoint: str, out: TextIO | None = None, *, hook: object = None) -> None:
        self.endpoint = endpoint

    @classmethod
    def declared_options(cls) -> dict[str, OptionSpec]:
        return {"host": OptionSpec("host", (str,), required=True)}

    async def send(self, message: OutgoingMessage) -> SendResult:
        return SendResult.accepted()


def test_an_adapter_taking_any_keyword_declares_nothing_and_is_not_checked() -> None:
    assert from_signature(_Open) is None
    assert option_problems("open", _Open.declared_options(), {"anything": [1, 2]}) == []


def test_an_adapter_may_declare_its_own_options() -> None:
    derived = from_signature(_Declared)
    assert derived is not None and list(derived) == ["endpoint"]  # out: a stream; hook: code
    problems = option_problems("declared", _Declared.declared_options(), {"endpoint": "x"})
    assert [p.key for p in problems] == ["endpoint", None]
