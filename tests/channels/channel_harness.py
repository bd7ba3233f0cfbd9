"""One harness per adapter, for the channel contract suite.

Each harness wraps an adapter together with the far side it delivers to (an aiosmtpd
server, an HTTP server on loopback acting as SMS provider, Twilio or webhook receiver,
all in ``channel_servers.py``; a directory, a text stream, the recording list)
and reports what arrived there as :class:`Delivered` records, so one set of tests can
hold every adapter to the same contract. What a harness can observe or provoke beyond
delivery (the console cannot refuse a message) is in :data:`CAPABILITIES`: a test that
needs a capability is parametrized over ``adapters_with(it)`` only, so no test is
collected, or skipped, for an adapter it does not apply to.
"""

from __future__ import annotations

import enum
import io
import json
from collections import deque
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr
from pathlib import Path

from channel_servers import (
    Reply,
    SMSProviderServer,
    SMTPServer,
    TwilioServer,
    WebhookReceiver,
    free_port,
)

from rapport.channels import (
    Channel,
    ConsoleChannel,
    FileChannel,
    HTTPSMSChannel,
    OutgoingMessage,
    RecordingChannel,
    SendResult,
    SMTPChannel,
    TwilioSMSChannel,
    WebhookChannel,
)
from rapport.channels.console import RULE
from rapport.channels.mime import message_id_of
from rapport.channels.recording import accept_all

EMAIL_ADAPTERS = ["smtp", "webhook", "file", "console", "recording"]
SMS_ADAPTERS = ["http_sms", "twilio", "webhook", "file", "console", "recording"]
ALL_ADAPTERS = ["smtp", "http_sms", "twilio", "webhook", "file", "console", "recording"]
#: Capabilities some adapters (with their harnesses) have; test_contract checks this
#: table against the adapter classes and the harnesses.
BODY_LIMIT = "declares a body limit"  # the class's max_body_chars
ONE_KIND = "carries one kind only"  # the class's kinds
REFUSES = "its far side can refuse"  # the harness's refuse_next
CONNECTION = "holds a connection"  # the harness's connections()
WAITS = "its far side can ask to wait"  # the harness's ask_to_wait (Retry-After)
UNREACHABLE = "can be aimed at a far side that is down"  # the harness's unreachable()
CAPABILITIES: dict[str, frozenset[str]] = {
    "smtp": frozenset({ONE_KIND, REFUSES, CONNECTION, UNREACHABLE}),
    "http_sms": frozenset({ONE_KIND, REFUSES, CONNECTION, WAITS, UNREACHABLE}),
    "twilio": frozenset({BODY_LIMIT, ONE_KIND, REFUSES, CONNECTION, WAITS, UNREACHABLE}),
    "webhook": frozenset({REFUSES, CONNECTION, WAITS, UNREACHABLE}),
    "file": frozenset(),
    "console": frozenset(),
    "recording": frozenset({REFUSES}),
}


def adapters_with(capability: str) -> list[str]:
    """The adapters that have ``capability``, to parametrize a test over."""
    return [name for name in ALL_ADAPTERS if capability in CAPABILITIES[name]]


#: Secrets the harnesses configure; none may ever show in a channel's repr.
TOKEN = "tok-S3CRET-http"
AUTH_TOKEN = "tok-S3CRET-twilio"
WEBHOOK_SECRET = "whsec-S3CRET"
ACCOUNT_SID = "AC0123456789abcdef0123456789abcdef"


class Refusal(enum.Enum):
    """What the far side should do with the next message."""

    TRANSIENT = "try again later"
    BAD_ADDRESS = "the address itself is bad: permanent, suppress"
    PERMANENT = "refused for another reason: permanent, keep the address"


@dataclass
class Delivered:
    """One message as it arrived at the far side."""

    kind: str
    to: str
    text: str
    subject: str | None = None
    html: str | None = None
    message_id: str | None = None
    to_name: str | None = None
    headers: dict[str, str] = field(default_factory=dict)


def unix_text(text: str) -> str:
    """MIME text parts travel with CRLF; compare them with LF."""
    return text.replace("\r\n", "\n")


def parse_email(data: bytes) -> Delivered:
    mail = BytesParser(policy=policy.default).parsebytes(data)
    assert isinstance(mail, EmailMessage)
    text_part = mail.get_body(("plain",))
    html_part = mail.get_body(("html",))
    to = mail["To"].addresses[0]
    return Delivered(
        kind="email",
        to=to.addr_spec,
        to_name=to.display_name or None,
        text=unix_text(text_part.get_content()) if text_part else "",
        subject=str(mail["Subject"]) if mail["Subject"] is not None else None,
        html=unix_text(html_part.get_content()) if html_part else None,
        message_id=str(mail["Message-ID"]),
        headers={name: str(value) for name, value in mail.items()},
    )


# --- harnesses -------------------------------------------------------------------------


class Harness:
    """An adapter plus a view of what reached the far side."""

    #: Whether the far side shows the HTML part and extra headers.
    sees_html = True
    sees_headers = True
    #: Secrets the adapter was configured with.
    secrets: tuple[str, ...] = ()

    def __init__(self, name: str, channel: Channel) -> None:
        self.name = name
        self.channel = channel

    def delivered(self) -> list[Delivered]:
        raise NotImplementedError

    def refuse_next(self, refusal: Refusal) -> None:
        raise AssertionError(
            f"the {self.name} adapter has no far side that can refuse: "
            "parametrize the test over adapters_with(REFUSES)"
        )

    def connections(self) -> int | None:
        """Connections opened to the far side, for adapters that hold one."""
        return None

    def ask_to_wait(self, status: int, retry_after: str) -> None:
        """Have the far side answer the next message with ``status`` and this
        ``Retry-After`` header."""
        raise AssertionError(
            f"the {self.name} adapter has no far side that sends Retry-After: "
            "parametrize the test over adapters_with(WAITS)"
        )

    def unreachable(self) -> Channel:
        """The same adapter, configured alike but aimed at a port nobody listens on."""
        raise AssertionError(
            f"the {self.name} adapter has no far side to take down: "
            "parametrize the test over adapters_with(UNREACHABLE)"
        )


def _ask_to_wait(server: SMSProviderServer, status: int, retry_after: str) -> None:
    server.replies.append(Reply(status, None, {"Retry-After": retry_after}))


class SMTPHarness(Harness):
    def __init__(self, server: SMTPServer) -> None:
        super().__init__("smtp", SMTPChannel(server.url, sender="Shop <shop@example.com>"))
        self.server = server

    def delivered(self) -> list[Delivered]:
        return [parse_email(data) for data in self.server.sink.messages]

    def refuse_next(self, refusal: Refusal) -> None:
        sink = self.server.sink
        if refusal is Refusal.TRANSIENT:
            sink.rcpt_replies.append("451 4.3.0 Mailbox busy, try again later")
        elif refusal is Refusal.BAD_ADDRESS:
            sink.rcpt_replies.append("550 5.1.1 <nobody@example.com>: mailbox unavailable")
        else:
            sink.data_replies.append("554 5.6.0 Message content rejected")

    def connections(self) -> int:
        return self.server.sink.connections

    def unreachable(self) -> Channel:
        return SMTPChannel(f"smtp://127.0.0.1:{free_port()}?starttls=0", timeout=5)


class HTTPSMSHarness(Harness):
    sees_html = False
    sees_headers = False
    secrets = (TOKEN,)

    def __init__(self, server: SMSProviderServer) -> None:
        super().__init__("http_sms", HTTPSMSChannel(server.url, token=TOKEN, timeout=5))
        self.server = server

    def delivered(self) -> list[Delivered]:
        return [
            Delivered(kind="sms", to=r.body["to"], text=r.body["text"])
            for r in self.server.requests
            if 200 <= r.status < 300
        ]

    def refuse_next(self, refusal: Refusal) -> None:
        reply = {
            Refusal.TRANSIENT: Reply(503, {"error": "unavailable"}),
            Refusal.BAD_ADDRESS: Reply(400, {"error": "invalid_number"}),
            Refusal.PERMANENT: Reply(403, {"error": "forbidden"}),
        }[refusal]
        self.server.replies.append(reply)

    def connections(self) -> int:
        return self.server.connections

    def ask_to_wait(self, status: int, retry_after: str) -> None:
        _ask_to_wait(self.server, status, retry_after)

    def unreachable(self) -> Channel:
        return HTTPSMSChannel(f"http://127.0.0.1:{free_port()}/v1/sms", token=TOKEN, timeout=5)


class TwilioHarness(Harness):
    sees_html = False
    sees_headers = False
    secrets = (AUTH_TOKEN,)

    def __init__(self, server: TwilioServer) -> None:
        channel = TwilioSMSChannel(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            from_number="+15550100",
            base_url=server.url,
            timeout=5,
        )
        super().__init__("twilio", channel)
        self.server = server

    def delivered(self) -> list[Delivered]:
        return [
            Delivered(kind="sms", to=r.body["To"], text=r.body["Body"])
            for r in self.server.requests
            if 200 <= r.status < 300
        ]

    def refuse_next(self, refusal: Refusal) -> None:
        reply = {
            Refusal.TRANSIENT: Reply(429, {"code": 20429, "message": "Too Many Requests"}),
            Refusal.BAD_ADDRESS: Reply(
                400,
                {
                    "code": 21211,
                    "message": "The 'To' number +989121234567 is not a valid phone number.",
                    "status": 400,
                },
            ),
            Refusal.PERMANENT: Reply(
                400, {"code": 21408, "message": "Permission to send an SMS has not been enabled"}
            ),
        }[refusal]
        self.server.replies.append(reply)

    def connections(self) -> int:
        return self.server.connections

    def ask_to_wait(self, status: int, retry_after: str) -> None:
        _ask_to_wait(self.server, status, retry_after)

    def unreachable(self) -> Channel:
        return TwilioSMSChannel(
            account_sid=ACCOUNT_SID,
            auth_token=AUTH_TOKEN,
            from_number="+15550100",
            base_url=f"http://127.0.0.1:{free_port()}",
            timeout=5,
        )


class WebhookHarness(Harness):
    """The webhook against a loopback receiver, which needs ``allow_private``."""

    secrets = (WEBHOOK_SECRET,)

    def __init__(self, server: WebhookReceiver) -> None:
        channel = WebhookChannel(server.url, secret=WEBHOOK_SECRET, allow_private=True, timeout=5)
        super().__init__("webhook", channel)
        self.server = server

    def delivered(self) -> list[Delivered]:
        found: list[Delivered] = []
        for request in self.server.requests:
            if not 200 <= request.status < 300:
                continue
            body = request.body
            found.append(
                Delivered(
                    kind=body["kind"],
                    to=body["to"],
                    text=body["text"],
                    subject=body["subject"],
                    html=body["html"],
                    message_id=body["message_id"],
                    to_name=body["to_name"],
                    headers=dict(body["headers"]),
                )
            )
        return found

    def refuse_next(self, refusal: Refusal) -> None:
        reply = {
            Refusal.TRANSIENT: Reply(503, None),
            Refusal.BAD_ADDRESS: Reply(422, {"error": "invalid_recipient"}),
            Refusal.PERMANENT: Reply(400, {"error": "unsupported"}),
        }[refusal]
        self.server.replies.append(reply)

    def connections(self) -> int:
        return self.server.connections

    def ask_to_wait(self, status: int, retry_after: str) -> None:
        _ask_to_wait(self.server, status, retry_after)

    def unreachable(self) -> Channel:
        url = f"http://127.0.0.1:{free_port()}/hooks/rapport"
        return WebhookChannel(url, secret=WEBHOOK_SECRET, allow_private=True, timeout=5)


class FileHarness(Harness):
    def __init__(self, path: Path) -> None:
        super().__init__("file", FileChannel(path, sender="Shop <shop@example.com>"))
        self.path = path

    def delivered(self) -> list[Delivered]:
        found: list[Delivered] = []
        for file in sorted(self.path.glob("*")):
            if file.suffix == ".eml":
                found.append(parse_email(file.read_bytes()))
            elif file.suffix == ".json":
                record = json.loads(file.read_text(encoding="utf-8"))
                found.append(Delivered(kind="sms", to=record["to"], text=record["text"]))
        return found


class ConsoleHarness(Harness):
    sees_html = False

    def __init__(self) -> None:
        self.stream = io.StringIO()
        super().__init__("console", ConsoleChannel(self.stream))

    def delivered(self) -> list[Delivered]:
        """Parse the rendering back: title line, ``Name: value`` lines, blank, text."""
        found: list[Delivered] = []
        for block in self.stream.getvalue().split(f"{RULE} ")[1:]:
            head, _, text = block.partition("\n\n")
            title, *lines = head.split("\n")
            headers = dict(line.split(": ", 1) for line in lines)
            to_name, to = parseaddr(headers.pop("To"))
            found.append(
                Delivered(
                    kind=title.split(" · ")[0],
                    to=to,
                    to_name=to_name or None,
                    text=text.rstrip("\n") + "\n",
                    subject=headers.pop("Subject", None),
                    message_id=headers.pop("Message-ID", None),
                    headers=headers,
                )
            )
        return found


class RecordingHarness(Harness):
    def __init__(self) -> None:
        super().__init__("recording", RecordingChannel(self._answer))
        self.channel: RecordingChannel
        self.refusals: deque[Refusal] = deque()

    def _answer(self, message: OutgoingMessage) -> SendResult:
        if not self.refusals:
            return accept_all(message)
        return {
            Refusal.TRANSIENT: SendResult.transient("scripted"),
            Refusal.BAD_ADDRESS: SendResult.permanent("scripted", suppress=True),
            Refusal.PERMANENT: SendResult.permanent("scripted"),
        }[self.refusals.popleft()]

    def delivered(self) -> list[Delivered]:
        return [
            Delivered(
                kind=m.kind,
                to=m.to,
                to_name=m.to_name,
                text=m.text,
                subject=m.subject,
                html=m.html,
                message_id=message_id_of(m) if m.kind == "email" else None,
                headers=dict(m.headers),
            )
            for m, result in zip(self.channel.sent, self.channel.results, strict=True)
            if result.outcome == "accepted"
        ]

    def refuse_next(self, refusal: Refusal) -> None:
        self.refusals.append(refusal)
