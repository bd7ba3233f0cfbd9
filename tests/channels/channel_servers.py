"""Real local servers for the channel tests: the far sides the adapters deliver to.

An aiosmtpd handler that keeps every message (and can be told to refuse the next one),
and HTTP servers on loopback acting as a generic SMS provider, as Twilio and as a
webhook receiver, each recording the requests it got and answering from a script.
``channel_harness.py`` wraps each in a harness; ``conftest.py`` starts and stops them.
"""

from __future__ import annotations

import asyncio
import json
import socket
import ssl
import sys
import threading
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session


def free_port() -> int:
    """A port nobody listens on right now (aiosmtpd's Controller needs a fixed one)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# --- SMTP server -------------------------------------------------------------------


class SMTPSink:
    """aiosmtpd handler that keeps every message and can be told to refuse the next one.

    Runs in the Controller's thread; the test reads the lists after awaiting sends.
    """

    def __init__(self, *, pipelining: bool = False) -> None:
        #: Offer PIPELINING (RFC 2920) in the EHLO reply.
        self.pipelining = pipelining
        self.connections = 0
        self.messages: list[bytes] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self.mail_replies: deque[str] = deque()
        #: The ESMTP parameters of every MAIL command (e.g. ``["SIZE=1234"]``).
        self.mail_options: list[list[str]] = []
        self.rcpt_replies: deque[str] = deque()
        self.data_replies: deque[str] = deque()
        self.data_delay = 0.0
        #: Per accepted message: whether it came over TLS (STARTTLS or implicit).
        self.tls: list[bool] = []

    async def handle_EHLO(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        hostname: str,
        responses: list[str],
    ) -> list[str]:
        self.connections += 1
        session.host_name = hostname
        if self.pipelining:
            responses.insert(-1, "250-PIPELINING")
        return responses

    async def handle_MAIL(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        self.mail_options.append(list(options))
        if self.mail_replies:
            return self.mail_replies.popleft()
        envelope.mail_from = address
        envelope.mail_options.extend(options)
        return "250 OK"

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        if self.rcpt_replies:
            return self.rcpt_replies.popleft()
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_delay:
            await asyncio.sleep(self.data_delay)
        if self.data_replies:
            return self.data_replies.popleft()
        content = envelope.original_content or b""
        self.messages.append(content)
        self.envelopes.append((str(envelope.mail_from), list(envelope.rcpt_tos)))
        transport = server.transport
        self.tls.append(transport is not None and bool(transport.get_extra_info("ssl_object")))
        return "250 2.0.0 Message accepted for delivery"


@dataclass
class SMTPServer:
    sink: SMTPSink
    controller: Controller

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.controller.port}?starttls=0"

    def restart(self) -> None:
        """Stop and start on the same port: every open connection is dropped."""
        self.controller.stop()
        self.start_again()

    def start_again(self) -> None:
        """A new server on the same port, after ``controller.stop()``."""
        self.controller = Controller(self.sink, hostname="127.0.0.1", port=self.controller.port)
        self.controller.start()


# --- HTTP server ---------------------------------------------------------------------


@dataclass
class Reply:
    status: int
    body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    #: Read the request, then close the connection without any reply.
    hang_up: bool = False


@dataclass
class RecordedRequest:
    method: str
    path: str
    headers: dict[str, str]
    #: JSON bodies parsed as JSON, form bodies as a dict of their fields.
    body: dict[str, Any]
    #: The status the server answered with.
    status: int
    raw: bytes = b""


class SMSProviderServer(ThreadingHTTPServer):
    """An HTTP provider on loopback: records requests, answers from a script.

    Speaks the generic JSON SMS contract; subclasses answer like Twilio or like a
    webhook receiver by overriding :attr:`url` and :meth:`default_reply`.
    """

    daemon_threads = True
    #: A provider's backlog, not socketserver's 5: a dispatcher opens 16 at once.
    request_queue_size = 128

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _ProviderHandler)
        self.requests: list[RecordedRequest] = []
        self.replies: deque[Reply] = deque()
        self.connections = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/v1/sms"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that timed out has hung up; only report anything else."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)

    def default_reply(self) -> Reply:
        return Reply(200, {"id": f"sms-{len(self.requests)}"})

    def next_reply(self) -> Reply:
        with self.lock:
            if self.replies:
                return self.replies.popleft()
            return self.default_reply()


class TwilioServer(SMSProviderServer):
    """Answers like Twilio's ``Messages.json``: 201 with a message ``sid``."""

    @property
    def url(self) -> str:
        """The ``base_url`` to configure."""
        return f"http://127.0.0.1:{self.server_address[1]}"

    def default_reply(self) -> Reply:
        return Reply(201, {"sid": f"SM{len(self.requests):032x}", "status": "queued"})


class WebhookReceiver(SMSProviderServer):
    """A webhook endpoint: 204 without a body; over TLS when given a server context."""

    def __init__(self, tls: ssl.SSLContext | None = None) -> None:
        super().__init__()
        self.scheme = "http"
        if tls is not None:
            self.socket = tls.wrap_socket(self.socket, server_side=True)
            self.scheme = "https"

    @property
    def url(self) -> str:
        return f"{self.scheme}://127.0.0.1:{self.server_address[1]}/hooks/rapport"

    def default_reply(self) -> Reply:
        return Reply(204)


class _ProviderHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible
    server: SMSProviderServer

    def setup(self) -> None:
        super().setup()
        with self.server.lock:
            self.server.connections += 1

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length", "0"))
        raw = self.rfile.read(length)
        if self.headers.get("Content-Type", "").startswith("application/x-www-form-urlencoded"):
            body = dict(parse_qsl(raw.decode("utf-8"), keep_blank_values=True))
        else:
            body = json.loads(raw)
        reply = self.server.next_reply()
        with self.server.lock:
            self.server.requests.append(
                RecordedRequest(
                    "POST", self.path, dict(self.headers.items()), body, reply.status, raw
                )
            )
        if reply.delay:
            threading.Event().wait(reply.delay)
        if reply.hang_up:
            self.close_connection = True
            return
        payload = json.dumps(reply.body).encode() if reply.body is not None else b""
        self.send_response(reply.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""
