"""Postfix's C SMTP sink and client, unpacked from Debian's package without installing it.

``smtp-sink`` accepts and discards mail as fast as C does, so delivery into it measures
the sender, not the sink; ``smtp-source`` is the C client from the same package, the
ceiling Rapport's dispatcher is compared with (issue 20). Nothing is installed: the
``postfix`` package is fetched with ``apt-get download`` and unpacked with ``dpkg -x``
into a cache folder (``bench/.cache/postfix``, git-ignored); the two programs then run
with ``LD_LIBRARY_PATH`` pointing at the package's own shared libraries. No mail
service is configured or started.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from bench.sinks import free_port

CACHE = Path(__file__).resolve().parent / ".cache" / "postfix"
_COUNTS = re.compile(rb"sess=(\d+) quit=\d+ mesg=(\d+)")


class PostfixUnavailable(RuntimeError):
    """The postfix package could not be fetched or unpacked here."""


@dataclass(frozen=True)
class Postfix:
    root: Path

    @property
    def sink(self) -> Path:
        return self.root / "usr" / "sbin" / "smtp-sink"

    @property
    def source(self) -> Path:
        return self.root / "usr" / "sbin" / "smtp-source"

    @property
    def env(self) -> dict[str, str]:
        libraries = str(self.root / "usr" / "lib" / "postfix")
        return {**os.environ, "LD_LIBRARY_PATH": libraries}


def unpacked(cache: Path = CACHE) -> Postfix:
    """The unpacked package, fetched on first use (``apt-get update`` first if the
    package lists do not know it yet)."""
    found = Postfix(cache / "root")
    if found.sink.exists() and found.source.exists():
        return found
    cache.mkdir(parents=True, exist_ok=True)
    for deb in cache.glob("postfix_*.deb"):
        deb.unlink()
    download = ["apt-get", "download", "postfix"]
    if subprocess.run(download, cwd=cache, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update"], capture_output=True)
        fetched = subprocess.run(download, cwd=cache, capture_output=True, text=True)
        if fetched.returncode != 0:
            raise PostfixUnavailable(f"apt-get download postfix failed: {fetched.stderr.strip()}")
    [deb] = cache.glob("postfix_*.deb")
    unpack = subprocess.run(["dpkg", "-x", str(deb), str(found.root)], capture_output=True)
    if unpack.returncode != 0 or not found.sink.exists():
        raise PostfixUnavailable(f"dpkg -x {deb.name} failed: {unpack.stderr.decode().strip()}")
    return found


class SMTPSinkC:
    """``smtp-sink`` on loopback, counting sessions and messages from its ``-c`` output.

    Same interface as :class:`bench.sinks.SMTPSink` (``url``, ``port``, ``count``,
    ``connections``).
    """

    def __init__(self, postfix: Postfix | None = None) -> None:
        self.postfix = postfix or unpacked()
        self.port = free_port()
        self._process: subprocess.Popen[bytes] | None = None
        self._sessions = 0
        self._messages = 0
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    @property
    def count(self) -> int:
        return self._messages

    @property
    def connections(self) -> int:
        return self._sessions

    def _read(self, stream: IO[bytes]) -> None:
        tail = b""
        while chunk := stream.read1(65536):  # type: ignore[attr-defined]
            tail = (tail + chunk)[-200:]
            for match in _COUNTS.finditer(tail):
                self._sessions, self._messages = int(match[1]), int(match[2])

    def __enter__(self) -> SMTPSinkC:
        user = ["-u", "nobody"] if os.geteuid() == 0 else []
        self._process = subprocess.Popen(
            [str(self.postfix.sink), *user, "-c", f"127.0.0.1:{self.port}", "1000"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env=self.postfix.env,
        )
        assert self._process.stdout is not None
        self._reader = threading.Thread(target=self._read, args=(self._process.stdout,))
        self._reader.daemon = True
        self._reader.start()
        for _ in range(200):
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.1).close()
                break
            except OSError:
                time.sleep(0.02)
        # The probe connection above counts as a session; wait for it to be shown.
        time.sleep(0.05)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._process is not None:
            self._process.terminate()
            self._process.wait(5)


def smtp_source(
    postfix: Postfix,
    port: int,
    messages: int,
    sessions: int,
    size: int,
    *,
    reuse: bool,
) -> dict[str, Any]:
    """``smtp-source`` sending ``messages`` of ``size`` bytes over ``sessions`` parallel
    sessions; ``reuse``: ``-d``, every session keeps its connection for its next message
    (as Rapport does), else one connection per message (the program's default)."""
    command = [
        str(postfix.source),
        *(["-d"] if reuse else []),
        "-s",
        str(sessions),
        "-m",
        str(messages),
        "-l",
        str(size),
        "-f",
        "hello@example.com",
        "-t",
        "someone@example.com",
        f"127.0.0.1:{port}",
    ]
    started = time.perf_counter()
    done = subprocess.run(command, env=postfix.env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        raise PostfixUnavailable(f"smtp-source failed: {done.stderr.strip()}")
    return {
        "seconds": seconds,
        "messages": messages,
        "sessions": sessions,
        "size": size,
        "reuse": reuse,
    }
