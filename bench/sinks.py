"""Local sinks that accept and count: an aiosmtpd SMTP server and a tiny HTTP server.

Each runs in its own process (the machine has two cores; a sink in a thread of the
sender's process would compete with it for the GIL and halve what is measured). They
keep nothing but counts, shared with the harness through ``multiprocessing.Value``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import socket
from typing import Any


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class _CountingHandler:
    def __init__(self, messages: Any, connections: Any) -> None:
        self.messages = messages
        self.connections = connections

    async def handle_EHLO(
        self, server: Any, session: Any, envelope: Any, hostname: str, responses: list[str]
    ) -> list[str]:
        self.connections.value += 1
        session.host_name = hostname
        return responses

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.value += 1
        return "250 OK"


def _smtp_main(port: int, messages: Any, connections: Any, stop: Any) -> None:
    from aiosmtpd.controller import Controller

    controller = Controller(
        _CountingHandler(messages, connections), hostname="127.0.0.1", port=port
    )
    controller.start()
    stop.wait()
    controller.stop()


class _ProcessSink:
    target: Any = None

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self.port = free_port()
        self._messages = context.Value("q", 0, lock=False)
        self._connections = context.Value("q", 0, lock=False)
        self._stop = context.Event()
        self._ready = context.Event()
        self._process = context.Process(
            target=type(self).target,
            args=(self.port, self._messages, self._connections, self._stop),
            daemon=True,
        )

    @property
    def count(self) -> int:
        return int(self._messages.value)

    @property
    def connections(self) -> int:
        return int(self._connections.value)

    def __enter__(self) -> Any:
        self._process.start()
        for _ in range(200):  # wait until it accepts connections
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                break
            except OSError:
                self._stop.wait(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()


class SMTPSink(_ProcessSink):
    """aiosmtpd on loopback that counts messages and EHLOs (connection set-ups)."""

    target = staticmethod(_smtp_main)

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"


_BODY = b'{"id":"bench"}'
_REPLY = (
    b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: %d\r\nConnection: keep-alive\r\n\r\n" % len(_BODY)
) + _BODY


def _http_main(port: int, messages: Any, connections: Any, stop: Any) -> None:
    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        connections.value += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line[:15].lower() == b"content-length:":
                        length = int(line[15:])
                if length:
                    await reader.readexactly(length)
                messages.value += 1
                writer.write(_REPLY)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    async def main() -> None:
        server = await asyncio.start_server(serve, "127.0.0.1", port)
        async with server:
            await asyncio.get_running_loop().run_in_executor(None, stop.wait)

    asyncio.run(main())


class HTTPSink(_ProcessSink):
    """An HTTP/1.1 keep-alive server that answers every POST 200 and counts it."""

    target = staticmethod(_http_main)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/sms"
