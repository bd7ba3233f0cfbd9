"""The protocol's own helpers: redaction, capability checks, and the built-in table."""

from __future__ import annotations

from importlib.metadata import entry_points
from pathlib import Path

import pytest

from rapport.channels import (
    AdapterOptionsError,
    Channel,
    Outcome,
    OutgoingMessage,
    SendResult,
    adapter_class,
    build_channel,
)
from rapport.channels.base import REDACTED, redact_options, redact_url
from rapport.channels.registry import BUILT_INS, ENTRY_POINT_GROUP, adapter_names


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("smtp://user:pw@h:587?starttls=1", "smtp://user:***@h:587?starttls=1"),
        ("smtps://:pw@h", "smtps://:***@h"),
        ("smtp://user@h", "smtp://user@h"),
        ("https://h/p?token=t&x=1", "https://h/p?token=%2A%2A%2A&x=1"),
        ("https://h/p?x=1", "https://h/p?x=1"),
        ("https://u:p%40ss@h/p?apikey=k#f", "https://u:***@h/p?apikey=%2A%2A%2A#f"),
    ],
)
def test_redact_url(url: str, shown: str) -> None:
    assert redact_url(url) == shown


def test_redact_options_by_name_and_by_declaration() -> None:
    options = {
        "url": "smtp://u:pw@h",
        "password": "pw",
        "auth_token": "t",
        "api_key": "k",
        "webhook_secret": "s",
        "signing": "declared",
        "token": None,
        "timeout": 5,
        "dkim_private_key_path": "keys/dkim.pem",
    }

    assert redact_options(options, frozenset({"signing"})) == {
        "url": "smtp://u:***@h",
        "password": REDACTED,
        "auth_token": REDACTED,
        "api_key": REDACTED,
        "webhook_secret": REDACTED,
        "signing": REDACTED,
        "token": None,  # unset stays visibly unset
        "timeout": 5,
        "dkim_private_key_path": "keys/dkim.pem",  # a path, not the key
    }


class _Tiny(Channel):
    name = "tiny"
    kinds = frozenset({"sms"})
    max_body_chars = 5
    secret_options = frozenset({"signing"})

    def __init__(self, signing: str) -> None:
        self.signing = signing

    def options(self) -> dict[str, object]:
        return {"signing": self.signing, "region": "eu"}

    async def send(self, message: OutgoingMessage) -> SendResult:
        return self.unsupported(message) or SendResult.accepted("p-1")


def sms(text: str, kind: str = "sms") -> OutgoingMessage:
    return OutgoingMessage(idempotency_key="k", kind=kind, to="+1", text=text)


async def test_unsupported_checks_kind_and_length() -> None:
    tiny = _Tiny("x")

    assert (await tiny.send(sms("12345"))).outcome is Outcome.ACCEPTED
    too_long = await tiny.send(sms("123456"))
    assert (too_long.outcome, too_long.suppress) == (Outcome.PERMANENT, False)
    assert too_long.reason == "text is 6 characters; the tiny channel carries at most 5"
    wrong_kind = await tiny.send(sms("1", kind="email"))
    assert wrong_kind.reason == "the tiny channel cannot carry 'email'"


def test_a_third_party_adapter_gets_a_redacted_repr_for_free() -> None:
    assert repr(_Tiny("hunter2")) == "_Tiny(signing='***', region='eu')"
    assert str(_Tiny("hunter2")) == repr(_Tiny("hunter2"))


def test_capability_defaults_are_conservative() -> None:
    assert (_Tiny.supports_html, _Tiny.rate_per_second) == (False, None)


@pytest.mark.parametrize("name", sorted(BUILT_INS))
def test_the_built_in_table_loads_each_adapter(name: str) -> None:
    cls = adapter_class(name)

    assert cls.name == name
    assert name in adapter_names()


def test_the_built_in_table_agrees_with_registered_entry_points() -> None:
    """An installed Rapport's own entry points say what the table says."""
    for entry_point in entry_points(group=ENTRY_POINT_GROUP):
        if entry_point.name in BUILT_INS and entry_point.value.startswith("rapport."):
            assert entry_point.value == BUILT_INS[entry_point.name]


def test_an_option_can_come_from_the_environment(tmp_path: Path) -> None:
    options = {
        "account_sid": "AC0123456789abcdef0123456789abcdef",
        "auth_token_env": "TWILIO_AUTH_TOKEN",
        "from_number": "+15550100",
    }
    channel = build_channel("twilio", options, tmp_path, {"TWILIO_AUTH_TOKEN": "from-env"})

    assert channel.options()["auth_token"] == "from-env"
    assert "from-env" not in repr(channel)
    with pytest.raises(AdapterOptionsError, match=r"TWILIO_AUTH_TOKEN.*not set"):
        build_channel("twilio", options, tmp_path, {})
    with pytest.raises(AdapterOptionsError, match="not both"):
        build_channel(
            "twilio", {**options, "auth_token": "x"}, tmp_path, {"TWILIO_AUTH_TOKEN": "y"}
        )


def test_a_send_result_reached_the_provider_and_asks_no_wait_unless_told() -> None:
    for result in (
        SendResult.accepted("p-1"),
        SendResult.transient("HTTP 500"),
        SendResult.permanent("HTTP 400", suppress=True),
        SendResult(Outcome.TRANSIENT, None, "positional, as before"),
    ):
        assert (result.retry_after, result.reached) == (None, True)


def test_transient_takes_the_wait_and_reach_by_keyword() -> None:
    waited = SendResult.transient("HTTP 429", retry_after=120.0)
    unreached = SendResult.transient("could not connect", reached=False)

    assert (waited.outcome, waited.reason, waited.retry_after, waited.reached) == (
        Outcome.TRANSIENT,
        "HTTP 429",
        120.0,
        True,
    )
    assert (unreached.retry_after, unreached.reached) == (None, False)
    with pytest.raises(TypeError):
        SendResult.transient("x", 5.0)  # type: ignore[misc]
