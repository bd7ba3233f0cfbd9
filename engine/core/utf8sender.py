"""A ``sender.from_address`` whose mailbox name is not ASCII (``josé@shop.example``)
travels only over SMTPUTF8 (RFC 6531), and every e-mail carries it.

Such an address loaded without a word, ``campaigns validate`` said all was valid, and
every e-mail then failed for good on an SMTP channel without ``smtputf8: true``:
"header 'From' holds an address that cannot be sent". It is refused at its line
unless every provider of every e-mail channel can carry it, as each adapter says
through ``carries_utf8_mailboxes(options)`` (docs/channels.md, E-mail addresses).
"""

from __future__ import annotations

from collections.abc import Iterator
from email.utils import parseaddr
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rapport.engine.core.config import ProviderConfig, Settings

__all__ = ["utf8_sender_problems"]


def utf8_sender_problems(settings: Settings) -> Iterator[tuple[tuple[str, ...], str]]:
    """``(location, message)`` for a non-ASCII from_address no e-mail channel can send."""
    local = parseaddr(settings.sender.from_address)[1].rpartition("@")[0]
    if local.isascii():
        return
    for name, config in settings.channels.items():
        if (config.kind or name) != "email":
            continue
        if not all(carries_utf8(provider) for provider in config.provider_list()):
            yield (
                ("sender", "from_address"),
                "the part before @ is not ASCII, which only a server offering SMTPUTF8 "
                f"carries, and channels.{name} cannot send it, so every e-mail would fail: "
                "write an ASCII address, or set smtputf8: true on its smtp adapter if the "
                "server offers SMTPUTF8",
            )
            return


def carries_utf8(provider: ProviderConfig) -> bool:
    """Whether ``provider``'s adapter says it can send an address whose local part is
    not ASCII (an adapter without ``carries_utf8_mailboxes`` cannot)."""
    from rapport.channels.registry import adapter_class

    try:
        adapter = adapter_class(provider.adapter)
    except (LookupError, TypeError, ImportError):  # reported where channels are built
        return True
    check = getattr(adapter, "carries_utf8_mailboxes", None)
    return callable(check) and check(provider.options()) is True
