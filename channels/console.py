"""Development adapter that prints each message, readably, instead of sending it.

This is a delivery sink, not a log: like the file outbox it shows the recipient, so
use it with sample data only. E-mail goes through the same header checks as SMTP, so
a message the console accepts is one SMTP would accept too. Control characters from
(untrusted) templates are shown escaped rather than sent to the terminal.
"""

from __future__ import annotations

import re
import sys
from typing import Any, Final, TextIO

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.mime import (
    DEFAULT_MESSAGE_ID_DOMAIN,
    MessageFormatError,
    build_email,
    message_id_of,
)

__all__ = ["ConsoleChannel", "render"]

DEFAULT_SENDER: Final = "Rapport <rapport@localhost>"
#: C0 and C1 controls other than newline and tab (ESC would drive the terminal).
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
RULE: Final = "─" * 3


def _printable(text: str) -> str:
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", text)


def _one_line(text: str) -> str:
    """``text`` with line breaks escaped too, for the title and header lines."""
    return _printable(text).replace("\n", "\\n")


def render(message: OutgoingMessage, message_id: str | None = None) -> str:
    """A short, readable rendering: one title line, a few headers, then the text.

    Only the text keeps its line breaks; a key or (SMS) recipient holding one cannot
    add lines that look like headers or like another message.
    """
    title = " · ".join(
        part
        for part in (
            message.kind,
            f"key {message.idempotency_key}",
            f"customer {message.customer_id}" if message.customer_id else "",
            f"campaign {message.campaign}" if message.campaign else "",
            f"locale {message.locale}",
        )
        if part
    )
    head = [f"{RULE} {title}"]
    to = f"{message.to_name} <{message.to}>" if message.to_name else message.to
    head.append(f"To: {to}")
    if message.subject is not None:
        head.append(f"Subject: {message.subject}")
    if message_id is not None:
        head.append(f"Message-ID: {message_id}")
    head.extend(f"{name}: {value}" for name, value in message.headers.items())
    if message.html is not None:
        head.append(f"HTML: {len(message.html)} characters")
    lines = [_one_line(line) for line in head]
    lines.extend(["", _printable(message.text.rstrip("\n")), ""])
    return "\n".join(lines) + "\n"


class ConsoleChannel(Channel):
    """Print messages to standard output (or the given stream)."""

    name = "console"
    kinds = frozenset({"email", "sms"})
    #: The HTML part is only counted ("HTML: n characters"), not shown.
    supports_html = False

    def __init__(
        self,
        stream: TextIO | None = None,
        sender: str = DEFAULT_SENDER,
        message_id_domain: str | None = None,
    ) -> None:
        # None means "sys.stdout at send time", so redirected or captured output works.
        self.stream = stream
        self.sender = sender
        self.message_id_domain = message_id_domain or DEFAULT_MESSAGE_ID_DOMAIN

    def options(self) -> dict[str, Any]:
        stream = "stdout" if self.stream is None else type(self.stream).__name__
        return {
            "stream": stream,
            "sender": self.sender,
            "message_id_domain": self.message_id_domain,
        }

    async def send(self, message: OutgoingMessage) -> SendResult:
        if refused := self.unsupported(message):
            return refused
        message_id = None
        if message.kind == "email":
            try:  # built and dropped: the same checks SMTP makes, addresses included
                build_email(message, self.sender, message_id_domain=self.message_id_domain)
            except MessageFormatError as exc:
                return SendResult.permanent(str(exc))
            message_id = message_id_of(message, self.message_id_domain)
        stream = self.stream or sys.stdout
        stream.write(render(message, message_id))
        stream.flush()
        return SendResult.accepted(message_id)
