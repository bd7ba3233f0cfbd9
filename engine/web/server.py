"""Running the web app with uvicorn, in the foreground or beside the daemon.

Both ways use one uvicorn configuration (:func:`uvicorn_config`):

- uvicorn's own logging set-up is skipped and its access log is off: its records go
  through the root logger's redacting handler (:mod:`rapport.engine.core.logs`) like
  every other, and requests are logged, when ``web.access_log`` is on, by
  :mod:`rapport.engine.web.accesslog` (route templates, never a token);
- the h11 protocol, with deadlines uvicorn lacks (:class:`GuardedH11Protocol`): the
  request head must arrive within ``web.header_timeout_seconds`` and its body within
  ``web.body_timeout_seconds``; idle kept-alive connections close after
  ``web.keep_alive_seconds``; a head over ``web.max_header_bytes`` gets 400; past
  ``web.max_connections`` open connections a request gets 503 at once.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import threading
import time
from typing import Any, ClassVar

import h11
import uvicorn
from starlette.types import ASGIApp
from uvicorn.protocols.http.h11_impl import H11Protocol

from rapport.engine.core.config import WebConfig
from rapport.engine.core.errors import RapportError

log = logging.getLogger(__name__)


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with deadlines on what the client sends.

    uvicorn closes a kept-alive connection that stays silent, but sets no deadline on a
    request head or body: a client sending a header byte every few seconds keeps a
    connection open as long as it likes. Here one timer follows the client's side of
    the connection: waiting for a head (from connecting, or from the end of the previous
    response) it allows :attr:`header_timeout` seconds, receiving a body
    :attr:`body_timeout` seconds from the end of the head. When it fires in the same
    phase it was set in, the connection is closed (a handler still reading the body
    sees the client leave, see :mod:`rapport.engine.web.limits`).
    """

    header_timeout: ClassVar[float] = 10.0
    body_timeout: ClassVar[float] = 30.0
    _deadline: asyncio.TimerHandle | None = None
    _watched: tuple[object, object] | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._watch()

    def data_received(self, data: bytes) -> None:
        super().data_received(data)
        self._watch()

    def on_response_complete(self) -> None:
        super().on_response_complete()
        self._watch()

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel()
        super().connection_lost(exc)

    def send_400_response(self, msg: str) -> None:
        """uvicorn's 400 for a request it cannot parse, then the request ends at once.

        A body that breaks HTTP (a chunk size that is not hex) is found while the
        request's handler already runs. uvicorn answers 400 and closes the transport,
        but the handler learns of it only when the connection is lost, a loop turn
        later: a route that answers without reading the body wrote its answer after the
        400, h11 raised, and each such request logged two errors (an "unexpected error"
        traceback and "ASGI callable returned without completing response"). Marking
        the request disconnected now makes its answer go nowhere, as after any client
        that left, and wakes a handler waiting for the body with ``http.disconnect``."""
        super().send_400_response(msg)
        cycle = self.cycle
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True
            cycle.message_event.set()

    def _phase(self) -> tuple[object, object]:
        return (self.cycle, self.conn.their_state)

    def _watch(self) -> None:
        phase = self._phase()
        if phase == self._watched:
            return  # same request, same phase: its deadline stands
        self._cancel()
        self._watched = phase
        if self.transport.is_closing():
            return
        state = phase[1]
        if state is h11.IDLE:
            seconds, what = self.header_timeout, "request head"
        elif state is h11.SEND_BODY:
            seconds, what = self.body_timeout, "request body"
        else:
            return
        self._deadline = self.loop.call_later(seconds, self._expire, phase, what, seconds)

    def _expire(self, phase: tuple[object, object], what: str, seconds: float) -> None:
        self._deadline = None
        if self._phase() != phase or self.transport.is_closing():
            return
        log.debug("closed a connection: no complete %s within %g s", what, seconds)
        self.transport.close()

    def _cancel(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None


def guarded_protocol(web: WebConfig) -> type[GuardedH11Protocol]:
    """The protocol class with ``web``'s deadlines (uvicorn takes a class, not options)."""

    class Configured(GuardedH11Protocol):
        header_timeout = web.header_timeout_seconds
        body_timeout = web.body_timeout_seconds

    return Configured


def uvicorn_config(app: ASGIApp, host: str, port: int, web: WebConfig) -> uvicorn.Config:
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "http": guarded_protocol(web),
        "lifespan": "off",
        # Leave logging to rapport.engine.core.logs: no handlers of uvicorn's own, no
        # level set here, and no uvicorn access log (it writes raw paths).
        "log_config": None,
        "log_level": None,
        "access_log": False,
        "proxy_headers": True,
        "server_header": False,
        "timeout_keep_alive": web.keep_alive_seconds,
        "h11_max_incomplete_event_size": web.max_header_bytes,
        "limit_concurrency": web.max_connections,
    }
    return uvicorn.Config(app, **options)


def cannot_listen(name: str, host: str, port: int) -> RapportError:
    """The runtime failure of a server that could not bind its address."""
    return RapportError(
        f"{name} could not listen on {host}:{port} (is the address in use, or not this machine's?)"
    )


class BackgroundServer:
    """uvicorn in a thread: for ``rapport run`` with the web app enabled, the separate
    /metrics address, and tests."""

    def __init__(
        self,
        app: ASGIApp,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        web: WebConfig | None = None,
        name: str = "the web app",
    ) -> None:
        self.host = host
        self.name = name
        self.server = uvicorn.Server(uvicorn_config(app, host, port, web or WebConfig()))
        self.thread = threading.Thread(target=self.server.run, name=f"rapport {name}", daemon=True)

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise cannot_listen(self.name, self.host, self.server.config.port)
            time.sleep(0.02)
        return self

    @property
    def port(self) -> int:
        sockets = self.server.servers[0].sockets
        return int(sockets[0].getsockname()[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        if self.thread.is_alive():
            self.thread.join(timeout=10)


class _Terminated(Exception):
    """SIGTERM, raised again by uvicorn once it has shut down gracefully."""


def _terminated(signum: int, frame: object) -> None:
    raise _Terminated


def serve(app: ASGIApp, host: str, port: int, web: WebConfig) -> None:
    """Serve in the foreground until interrupted (``rapport serve``).

    uvicorn handles SIGTERM and SIGINT itself (a graceful shutdown), then restores the
    handlers it found and sends itself the signal again. SIGTERM's default action
    would then kill the process (status 143, skipping the caller's ``finally``): the
    handler found here ends the serving instead, so ``rapport serve`` exits 0 as
    ``rapport run`` does. SIGINT comes back as KeyboardInterrupt, for the caller.

    An address that cannot be bound is logged by uvicorn, which then calls
    ``sys.exit``: that is the one-line error ``rapport run`` gives for it."""
    previous = signal.signal(signal.SIGTERM, _terminated)
    server = uvicorn.Server(uvicorn_config(app, host, port, web))
    try:
        server.run()
    except _Terminated:
        pass
    except SystemExit:
        if server.started:
            raise
        raise cannot_listen("the web app", host, port) from None
    finally:
        signal.signal(signal.SIGTERM, previous)
