"""Running the web app with uvicorn, in the foreground or beside the daemon."""

from __future__ import annotations

import threading
import time

import uvicorn
from starlette.applications import Starlette


class BackgroundServer:
    """uvicorn in a thread: for ``rapport run`` with the web app enabled, and for tests."""

    def __init__(self, app: Starlette, host: str = "127.0.0.1", port: int = 0) -> None:
        config = uvicorn.Config(
            app, host=host, port=port, log_level="warning", lifespan="off", access_log=False
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, name="rapport-web", daemon=True)

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self.thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self.thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the web server did not start")
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
        self.thread.join(timeout=10)


def serve(app: Starlette, host: str, port: int) -> None:
    """Serve in the foreground until interrupted (``rapport serve``)."""
    uvicorn.run(
        app,
        host=host,
        port=port,
        log_level="info",
        lifespan="off",
        proxy_headers=True,
        server_header=False,
    )
