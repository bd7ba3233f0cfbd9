"""The test double: a real adapter that records messages and answers through a function.

Like httpx's ``MockTransport``, it implements the whole protocol rather than patching
anything, so engine tests build the dispatcher with it and script the provider::

    def flaky(message: OutgoingMessage) -> SendResult:
        return SendResult.transient("try later") if message.customer_id == "c2" else (
            SendResult.accepted("p-1"))

    channel = RecordingChannel(flaky)
    ...
    assert [m.customer_id for m in channel.sent] == ["c1", "c2"]

E-mail passes the same header checks as the real adapters (a refused message is not
handed to the handler and not recorded), so engine tests see what production would.
"""

from __future__ import annotations

import hashlib
import inspect
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.mime import (
    DEFAULT_MESSAGE_ID_DOMAIN,
    MessageFormatError,
    check_email_headers,
    message_id_of,
)

__all__ = ["Handler", "RecordingChannel", "accept_all"]

#: Decides the outcome for one message; may be a plain or an async function.
Handler = Callable[[OutgoingMessage], SendResult | Awaitable[SendResult]]

_SENDER = "Rapport <rapport@localhost>"


def accept_all(message: OutgoingMessage) -> SendResult:
    """Accept everything with a stable provider id: the Message-ID for e-mail (as SMTP
    reports it), a hash of the idempotency key for SMS."""
    if message.kind == "email":
        return SendResult.accepted(message_id_of(message, DEFAULT_MESSAGE_ID_DOMAIN))
    digest = hashlib.sha256(message.idempotency_key.encode("utf-8")).hexdigest()[:16]
    return SendResult.accepted(f"rec-{digest}")


class RecordingChannel(Channel):
    """Record every message in :attr:`sent` and answer with ``handler(message)``."""

    name = "recording"
    # The class-level default; instances may narrow it (``kinds=`` below).
    kinds = frozenset({"email", "sms"})
    supports_html = True

    def __init__(
        self,
        handler: Handler | None = None,
        kinds: Iterable[str] = ("email", "sms"),
    ) -> None:
        self.handler: Handler = handler or accept_all
        self.kinds = frozenset(kinds)  # per-instance narrowing
        #: Every message handed to the handler, in order.
        self.sent: list[OutgoingMessage] = []
        #: The outcome returned for each message in :attr:`sent`.
        self.results: list[SendResult] = []
        self.closed = False

    def options(self) -> dict[str, Any]:
        handler = getattr(self.handler, "__qualname__", type(self.handler).__name__)
        return {"handler": handler, "kinds": sorted(self.kinds)}

    async def send(self, message: OutgoingMessage) -> SendResult:
        if refused := self.unsupported(message):
            return refused
        if message.kind == "email":
            try:
                check_email_headers(message, _SENDER)
            except MessageFormatError as exc:
                return SendResult.permanent(str(exc))
        self.sent.append(message)
        result = self.handler(message)
        if inspect.isawaitable(result):
            result = await result
        self.results.append(result)
        return result

    async def aclose(self) -> None:
        self.closed = True

    def clear(self) -> None:
        """Forget what was recorded, e.g. between two phases of one test."""
        self.sent.clear()
        self.results.clear()
