"""A channel with neither ``adapter`` nor ``providers`` (the key misspelt, or left out)
is told what is missing: it read "give either adapter (with its options) or providers,
not both", as if both had been given, and named no key."""

from __future__ import annotations

from pathlib import Path

from factories import config_problems

SMS = "  sms: {adapter: file, kind: sms, path: outbox}\n"


def test_a_misspelt_adapter_key_is_named_with_the_key_meant(tmp_path: Path) -> None:
    found = config_problems(
        tmp_path, "channels:\n  email: {adaptor: file, kind: email, path: outbox}\n" + SMS
    )

    assert found == [
        "2: channels.email: no adapter: write adapter: NAME with its options, or providers: "
        "a list of them (is 'adaptor' meant to be 'adapter'?)"
    ]


def test_a_channel_without_adapter_or_providers_is_told_to_give_one(tmp_path: Path) -> None:
    found = config_problems(tmp_path, "channels:\n  email: {kind: email, path: outbox}\n" + SMS)

    assert found == [
        "2: channels.email: no adapter: write adapter: NAME with its options, or providers: "
        "a list of them"
    ]


def test_a_channel_with_both_adapter_and_providers_is_told_to_give_one(tmp_path: Path) -> None:
    found = config_problems(
        tmp_path,
        "channels:\n  email:\n    adapter: file\n    kind: email\n"
        "    providers: [{adapter: file, path: outbox}]\n" + SMS,
    )

    assert found == [
        "2: channels.email: give either adapter (with its options) or providers, not both"
    ]
