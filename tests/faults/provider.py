"""A real HTTP SMS provider on loopback whose behaviour a test changes while it runs.

It speaks the ``http_sms`` adapter's contract (``POST /sms``, JSON ``to``, ``text``,
``idempotency_key``; the key also in the ``Idempotency-Key`` header; ``2xx`` with
``{"id": ...}`` is accepted) and can, request by request:

* reply after ``delay`` seconds (a slow provider),
* hang until :meth:`SMSProvider.release` (``hang()``; a hung provider),
* answer from a script of :class:`Reply` (``500``, ``429`` with ``Retry-After`` in
  seconds or as an HTTP date, ...), then ``200`` again,
* be down (nothing listening: connection refused) and come back on the same port.

Every request is recorded with its arrival time and idempotency key, so a test counts
what reached the provider: per key (duplicates), before or after a moment, in flight.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Reply:
    """One scripted answer: a status and, for 429 or 503, a ``Retry-After`` value."""

    status: int = 200
    retry_after: str | None = None

    @staticmethod
    def retry_after_seconds(seconds: int, status: int = 429) -> Reply:
        return Reply(status, str(seconds))

    @staticmethod
    def retry_after_date(when: datetime, status: int = 429) -> Reply:
        return Reply(status, format_datetime(when.astimezone(UTC), usegmt=True))


@dataclass
class Request:
    """What reached the provider, and what it answered."""

    key: str
    to: str
    text: str
    #: time.monotonic() and wall-clock UTC when the request arrived.
    arrived: float
    arrived_at: datetime
    #: The status answered; None while held or when the client had gone.
    status: int | None = None
    answered_at: datetime | None = None


class SMSProvider:
    """The provider's state, shared by the server's handler threads and the test."""

    def __init__(self) -> None:
        self.changed = threading.Condition()
        self.requests: list[Request] = []
        #: Seconds to wait before answering each request.
        self.delay = 0.0
        #: Answers to give next, in order (then 200).
        self.script: deque[Reply] = deque()
        self._open = threading.Event()  # cleared: every request hangs until released
        self._open.set()
        self._server: ThreadingHTTPServer | None = None
        self.port = 0

    # -- controls ------------------------------------------------------------------------
    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"

    def hang(self) -> None:
        """From now on, hold every request unanswered until :meth:`release`."""
        self._open.clear()

    def release(self) -> None:
        """Answer the held requests (and no longer hold new ones)."""
        self._open.set()

    def answer(self, *replies: Reply) -> None:
        with self.changed:
            self.script.extend(replies)

    def start(self, port: int = 0) -> None:
        """Listen (again) on ``port`` (0: a free one; the port is kept for restarts)."""
        server = ThreadingHTTPServer(("127.0.0.1", port or self.port), _handler(self))
        server.daemon_threads = True
        self.port = int(server.server_address[1])
        self._server = server
        threading.Thread(
            target=server.serve_forever,
            kwargs={"poll_interval": 0.05},  # stop() waits for the loop to look up
            name="sms-provider",
            daemon=True,
        ).start()

    def stop(self) -> None:
        """Stop listening: new connections are refused (held requests are let go)."""
        server, self._server = self._server, None
        if server is not None:
            server.shutdown()
            server.server_close()

    def reserve_port(self) -> None:
        """Pick a port for a provider that starts down (nothing listens on it yet)."""
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = int(probe.getsockname()[1])

    # -- what arrived --------------------------------------------------------------------
    def snapshot(self) -> list[Request]:
        with self.changed:
            return list(self.requests)

    def per_key(self) -> Counter[str]:
        return Counter(r.key for r in self.snapshot())

    def duplicates(self) -> int:
        """Requests beyond the first for each idempotency key."""
        return sum(n - 1 for n in self.per_key().values())

    def arrived_since(self, moment: float) -> list[Request]:
        return [r for r in self.snapshot() if r.arrived >= moment]

    def wait_until(self, condition: Callable[[list[Request]], bool], timeout: float) -> bool:
        """Wait until ``condition(requests)`` holds (False after ``timeout`` seconds)."""
        deadline = time.monotonic() + timeout
        with self.changed:
            while not condition(self.requests):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self.changed.wait(min(left, 0.1))
            return True

    def wait_for(self, count: int, timeout: float) -> bool:
        """Wait until ``count`` requests have arrived in all."""
        return self.wait_until(lambda requests: len(requests) >= count, timeout)

    # -- the handler's side --------------------------------------------------------------
    def _arrived(self, request: Request) -> Reply:
        with self.changed:
            self.requests.append(request)
            self.changed.notify_all()
        if self.delay:
            time.sleep(self.delay)
        while not self._open.wait(0.05):
            pass
        with self.changed:
            return self.script.popleft() if self.script else Reply()

    def _answered(self, request: Request, status: int | None) -> None:
        with self.changed:
            request.status = status
            request.answered_at = datetime.now(UTC)
            self.changed.notify_all()


def _handler(provider: SMSProvider) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as the adapter's pool expects

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            key = self.headers.get("Idempotency-Key") or body.get("idempotency_key") or ""
            request = Request(
                key, body.get("to", ""), body.get("text", ""), time.monotonic(), datetime.now(UTC)
            )
            reply = provider._arrived(request)
            payload = json.dumps(
                {"id": f"p-{key}"} if reply.status < 300 else {"error": "try_later"}
            ).encode()
            try:
                self.send_response(reply.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                if reply.retry_after is not None:
                    self.send_header("Retry-After", reply.retry_after)
                self.end_headers()
                self.wfile.write(payload)
                self.wfile.flush()
            except OSError:  # the client gave up (killed, timed out)
                provider._answered(request, None)
                return
            provider._answered(request, reply.status)

        def log_message(self, format: str, *args: object) -> None:
            return None

    return Handler
