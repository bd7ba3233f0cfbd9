"""Channel adapters: the protocol, the built-in adapters, and how to find them by name.

Exceptions, typed by what the caller should do::

    ValueError
     ├── MessageFormatError        e-mail cannot be built safely -> permanent failure
     │    ├── HeaderInjectionError   CR, LF or NUL in a header value
     │    └── InvalidAddressError    an address e-mail cannot carry
     ├── AdapterOptionsError       configuration does not fit the adapter
     ├── SMTPURLError              malformed SMTP URL
     ├── HTTPSMSURLError           malformed SMS provider URL
     └── WebhookURLError           malformed webhook URL
    LookupError
     └── UnknownAdapterError       no adapter by that name (lists the known ones)
    TypeError
     └── InvalidAdapterError       an entry point that is not a Channel

Provider refusals are never raised: ``Channel.send`` returns a :class:`SendResult`
(a webhook aimed at an internal address, too: a permanent failure, not an exception).
``repr()`` of any channel shows its options with secrets as ``***`` (:func:`redact_options`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from rapport.channels.base import (
    Channel,
    Outcome,
    OutgoingMessage,
    SendResult,
    redact_options,
    redact_url,
)
from rapport.channels.registry import (
    AdapterOptionsError,
    InvalidAdapterError,
    UnknownAdapterError,
    adapter_class,
    adapter_names,
    build_channel,
)

if TYPE_CHECKING:
    from rapport.channels.console import ConsoleChannel
    from rapport.channels.file import FileChannel
    from rapport.channels.http_sms import HTTPSMSChannel, HTTPSMSURLError
    from rapport.channels.mime import (
        HeaderInjectionError,
        InvalidAddressError,
        MessageFormatError,
        build_email,
        check_header_value,
        message_id_for,
    )
    from rapport.channels.recording import RecordingChannel
    from rapport.channels.smtp import SMTPChannel, SMTPURLError
    from rapport.channels.twilio import TwilioSMSChannel
    from rapport.channels.webhook import WebhookChannel, WebhookURLError

#: Adapters import aiosmtplib and httpx (~150 ms); every ``rapport.channels.*`` import
#: runs this file first, so they load on first use rather than here.
_LAZY = {
    "ConsoleChannel": "console",
    "FileChannel": "file",
    "HTTPSMSChannel": "http_sms",
    "HTTPSMSURLError": "http_sms",
    "HeaderInjectionError": "mime",
    "InvalidAddressError": "mime",
    "MessageFormatError": "mime",
    "build_email": "mime",
    "check_header_value": "mime",
    "message_id_for": "mime",
    "RecordingChannel": "recording",
    "SMTPChannel": "smtp",
    "SMTPURLError": "smtp",
    "TwilioSMSChannel": "twilio",
    "WebhookChannel": "webhook",
    "WebhookURLError": "webhook",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f"rapport.channels.{_LAZY[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AdapterOptionsError",
    "Channel",
    "ConsoleChannel",
    "FileChannel",
    "HTTPSMSChannel",
    "HTTPSMSURLError",
    "HeaderInjectionError",
    "InvalidAdapterError",
    "InvalidAddressError",
    "MessageFormatError",
    "Outcome",
    "OutgoingMessage",
    "RecordingChannel",
    "SMTPChannel",
    "SMTPURLError",
    "SendResult",
    "TwilioSMSChannel",
    "UnknownAdapterError",
    "WebhookChannel",
    "WebhookURLError",
    "adapter_class",
    "adapter_names",
    "build_channel",
    "build_email",
    "check_header_value",
    "message_id_for",
    "redact_options",
    "redact_url",
]
