"""Bounded requests against the real server (uvicorn on loopback, raw sockets).

A body over its cap gets 413 whether its length is declared or it arrives chunked,
and nothing the request would have written is written; a head over its cap gets 400;
a client that trickles its head or body, or says nothing, is disconnected within the
configured deadline. The caps here are the lowest the configuration allows, so each
case is small; the edges (at the cap: accepted, one byte over: refused) are literal.
"""

from __future__ import annotations

import logging
import select
import shutil
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from factories import REPO, consent_trail
from sqlalchemy import Engine, func
from sqlalchemy import select as sql_select

from rapport.consent.links import links_for
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX
from rapport.engine.web.app import create_app
from rapport.engine.web.server import BackgroundServer
from tests.engine.web.conftest import add_customer, event_count, record

SECRET = "limits-test-secret"
HOOK = "hook-token"


def limited_settings(**web: Any) -> Settings:
    settings = Settings(base_dir=REPO, secret_key=SECRET)
    values = {
        "max_body_bytes": 1024,
        "max_webhook_body_bytes": 64 * 1024,
        "max_header_bytes": 4096,
        "header_timeout_seconds": 1,
        "body_timeout_seconds": 1,
        "keep_alive_seconds": 5,
        "webhook_token": HOOK,
        **web,
    }
    return settings.model_copy(update={"web": settings.web.model_copy(update=values)})


@pytest.fixture
def sqlite_engine(sqlite_template: Path, tmp_path: Path) -> Iterator[Engine]:
    path = tmp_path / "rapport.db"
    shutil.copy(sqlite_template, path)
    engine = make_engine(f"sqlite:///{path}")
    try:
        yield engine
    finally:
        engine.dispose()


def serving(settings: Settings, engine: Engine) -> BackgroundServer:
    return BackgroundServer(create_app(settings, engine), web=settings.web).start()


@pytest.fixture
def server(engine: Engine) -> Iterator[BackgroundServer]:
    running = serving(limited_settings(), engine)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def quick_server(sqlite_engine: Engine) -> Iterator[BackgroundServer]:
    """For the deadline tests, which need no second database."""
    running = serving(limited_settings(), sqlite_engine)
    try:
        yield running
    finally:
        running.stop()


def connect(server: BackgroundServer) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def read_until_closed(sock: socket.socket, seconds: float = 10) -> bytes:
    """Everything the server sends until it closes the connection."""
    sock.settimeout(seconds)
    received = b""
    try:
        while chunk := sock.recv(65536):
            received += chunk
    except ConnectionResetError:
        pass
    return received


def status_of(response: bytes) -> int:
    return int(response.split(b" ", 2)[1])


def unsubscribe_path(customer_id: str) -> str:
    settings = Settings(base_dir=REPO, secret_key=SECRET)
    return urlsplit(links_for(customer_id, "email", settings, Signer(SECRET))["unsubscribe"]).path


def form_post(path: str, body: bytes, extra: str = "") -> bytes:
    head = (
        f"POST {path} HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Content-Length: {len(body)}\r\n{extra}\r\n"
    )
    return head.encode() + body


def one_click(size: int) -> bytes:
    """The RFC 8058 one-click body, padded with a harmless field to ``size`` bytes."""
    base = b"List-Unsubscribe=One-Click&pad="
    return base + b"x" * (size - len(base))


def exchange(server: BackgroundServer, request: bytes) -> bytes:
    with connect(server) as sock:
        sock.sendall(request)
        return read_until_closed(sock)


def chunked(parts: list[bytes]) -> bytes:
    return b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in parts) + b"0\r\n\r\n"


def outbox_count(engine: Engine) -> int:
    with engine.connect() as connection:
        return connection.execute(sql_select(func.count()).select_from(OUTBOX)).scalar_one()


# -- bodies ----------------------------------------------------------------------------


def test_a_form_at_the_cap_is_read_and_one_byte_over_is_refused_unread(
    engine: Engine, server: BackgroundServer
) -> None:
    add_customer(engine, "CAP1", email="cap1@example.com")
    record(engine, "CAP1", "email", ["offers"])
    path = unsubscribe_path("CAP1")
    over = exchange(server, form_post(path, one_click(1025), "Connection: close\r\n"))
    assert status_of(over) == 413
    assert len(consent_trail(engine, "CAP1")) == 1  # nothing written
    at_cap = exchange(server, form_post(path, one_click(1024), "Connection: close\r\n"))
    assert status_of(at_cap) == 200
    assert len(consent_trail(engine, "CAP1")) == 2  # the withdrawal


def test_a_declared_900_mb_body_is_refused_before_any_of_it_is_read(
    engine: Engine, server: BackgroundServer
) -> None:
    add_customer(engine, "BIG1", email="big1@example.com")
    record(engine, "BIG1", "email", ["offers"])
    head = (
        f"POST {unsubscribe_path('BIG1')} HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        "Content-Length: 900000000\r\n\r\n"
    )
    started = time.monotonic()
    with connect(server) as sock:
        sock.sendall(head.encode() + b"List-Unsubscribe=One-Click&pad=" + b"x" * 500)
        response = read_until_closed(sock)  # the server closes: the rest is never read
    assert status_of(response) == 413
    assert b"connection: close" in response.lower()
    assert time.monotonic() - started < 5  # answered at once, not after a body deadline
    assert len(consent_trail(engine, "BIG1")) == 1


def test_a_chunked_form_over_the_cap_is_refused_and_nothing_is_queued(
    engine: Engine, server: BackgroundServer
) -> None:
    add_customer(engine, "CHK1", email="chk1@example.com")
    body = b"email=chk1%40example.com&pad=" + b"x" * 1200
    request = (
        b"POST /preferences HTTP/1.1\r\nHost: localhost\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\n"
        b"Transfer-Encoding: chunked\r\n\r\n" + chunked([body[:600], body[600:]])
    )
    response = exchange(server, request)
    assert status_of(response) == 413
    time.sleep(0.3)  # a (wrong) background task would have queued the link by now
    assert outbox_count(engine) == 0


def test_a_chunked_webhook_over_its_cap_is_refused_and_changes_nothing(
    engine: Engine, server: BackgroundServer
) -> None:
    add_customer(engine, "HOOK1", email="hook1@example.com")
    record(engine, "HOOK1", "email", ["offers"])
    before = event_count(engine)
    event = b'{"type": "complaint", "email": "hook1@example.com"},'
    payload = b"[" + event * (70 * 1024 // len(event)) + event[:-1] + b"]"
    assert len(payload) > 64 * 1024
    parts = [payload[i : i + 8192] for i in range(0, len(payload), 8192)]
    request = (
        b"POST /webhooks/email/events HTTP/1.1\r\nHost: localhost\r\n"
        + f"X-Rapport-Webhook-Token: {HOOK}\r\n".encode()
        + b"Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
        + chunked(parts)
    )
    response = exchange(server, request)
    assert status_of(response) == 413
    assert event_count(engine) == before


@pytest.mark.parametrize("path", ["/unsubscribe/not-a-token", "/no-such-page"])
def test_a_body_the_route_answers_without_reading_is_not_read_on(
    sqlite_engine: Engine, path: str
) -> None:
    # A 404 answered before the body was read: the server kept reading (and dropping)
    # whatever followed until the body deadline, 900 MB in 2 s on loopback.
    running = serving(limited_settings(body_timeout_seconds=60), sqlite_engine)
    try:
        with connect(running) as sock:
            sock.sendall(
                f"POST {path} HTTP/1.1\r\nHost: localhost\r\n".encode()
                + b"Content-Type: application/x-www-form-urlencoded\r\n"
                + b"Transfer-Encoding: chunked\r\n\r\n"
                + chunked([b"email=a"])[:-5]  # the first chunk, not the last
            )
            piece = b"%x\r\n%s\r\n" % (65536, b"x" * 65536)
            _, seconds = trickle(sock, piece, every=0.05, give_up=10)
        assert seconds < 5  # closed once answered, not at the 60 s deadline
    finally:
        running.stop()


def padded_head(size: int) -> bytes:
    """A GET whose line and headers come to ``size`` bytes as the limit counts them."""
    line = b"GET /healthz HTTP/1.1\r\n"
    start = b"host: localhost\r\nx-pad: "
    # counted: the path, and each header's name and value plus 4 (": ", CRLF)
    counted = len(b"/healthz") + len(b"host") + len(b"localhost") + 4 + len(b"x-pad") + 4
    return line + start + b"a" * (size - counted) + b"\r\n\r\n"


def test_a_request_head_over_its_cap_is_refused(quick_server: BackgroundServer) -> None:
    assert status_of(exchange(quick_server, padded_head(4096))) == 200
    assert status_of(exchange(quick_server, padded_head(4097))) == 431


def test_a_head_still_growing_past_its_cap_is_refused(quick_server: BackgroundServer) -> None:
    with connect(quick_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        for _ in range(6):
            sock.sendall(b"X-Pad: " + b"a" * 1000 + b"\r\n")
            time.sleep(0.02)
        response = read_until_closed(sock)
    assert status_of(response) == 400


# -- deadlines -------------------------------------------------------------------------


def trickle(sock: socket.socket, piece: bytes, every: float, give_up: float) -> tuple[int, float]:
    """Send ``piece`` every ``every`` seconds until the server closes the connection;
    (pieces sent, seconds until closed). Fails if it stays open ``give_up`` seconds."""
    started = time.monotonic()
    sent = 0
    while time.monotonic() - started < give_up:
        readable, _, _ = select.select([sock], [], [], every)
        if readable:
            try:
                if sock.recv(65536) == b"":
                    return sent, time.monotonic() - started
            except ConnectionResetError:
                return sent, time.monotonic() - started
            continue
        try:
            sock.sendall(piece)
        except (BrokenPipeError, ConnectionResetError):
            return sent, time.monotonic() - started
        sent += 1
    raise AssertionError(f"still open after {give_up} s and {sent} pieces")


def test_a_client_trickling_its_head_is_disconnected(quick_server: BackgroundServer) -> None:
    with connect(quick_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n")
        sent, seconds = trickle(sock, b"X-Slow: a\r\n", every=0.1, give_up=15)
    assert sent >= 3  # it was trickling, and was closed for it (deadline: 1 s)
    assert seconds < 8


def test_a_client_that_sends_nothing_is_disconnected(quick_server: BackgroundServer) -> None:
    started = time.monotonic()
    with connect(quick_server) as sock:
        assert read_until_closed(sock, seconds=15) == b""
    assert time.monotonic() - started < 8


def test_a_client_trickling_its_body_is_disconnected_and_nothing_is_written(
    sqlite_engine: Engine, quick_server: BackgroundServer
) -> None:
    add_customer(sqlite_engine, "SLOW1", email="slow1@example.com")
    record(sqlite_engine, "SLOW1", "email", ["offers"])
    body = one_click(200)
    with connect(quick_server) as sock:
        sock.sendall(form_post(unsubscribe_path("SLOW1"), body)[: -len(body)])  # the head
        sent, seconds = trickle(sock, b"x", every=0.1, give_up=15)  # 200 bytes: 20 s
    assert sent >= 3 and seconds < 8
    assert len(consent_trail(sqlite_engine, "SLOW1")) == 1


def test_a_kept_alive_connection_trickling_its_next_head_is_disconnected(
    quick_server: BackgroundServer,
) -> None:
    with connect(quick_server) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
        first = b""
        while b'"ok"' not in first:
            first += sock.recv(65536)
        assert status_of(first) == 200
        sock.sendall(b"GET /healthz HTTP/1.1\r\n")
        sent, seconds = trickle(sock, b"X-Slow: a\r\n", every=0.1, give_up=15)
    assert sent >= 3 and seconds < 8


def test_a_prompt_client_on_a_kept_alive_connection_is_served_every_time(
    quick_server: BackgroundServer,
) -> None:
    """The deadline is per request: each one starts its own."""
    with connect(quick_server) as sock:
        for _ in range(3):
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: localhost\r\n\r\n")
            answer = b""
            while b'"ok"' not in answer:
                answer += sock.recv(65536)
            assert status_of(answer) == 200
            time.sleep(0.6)  # 3 x 0.6 s: past one deadline in all, never within one


@pytest.mark.parametrize(
    ("language", "lang_attribute", "words"),
    [
        ("fa-IR,fa;q=0.9", 'lang="fa"', "بزرگ"),
        ("zh-CN", 'lang="zh"', "过大"),
        ("en", 'lang="en"', "too large"),
    ],
)
def test_a_declared_oversized_body_is_refused_in_the_clients_language(
    quick_server: BackgroundServer, language: str, lang_attribute: str, words: str
) -> None:
    head = (
        "POST /preferences HTTP/1.1\r\nHost: localhost\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        f"Accept-Language: {language}\r\nContent-Length: 900000000\r\n\r\n"
    )
    with connect(quick_server) as sock:
        sock.sendall(head.encode())
        response = read_until_closed(sock)
    assert status_of(response) == 413
    assert b"connection: close" in response.lower()
    page = response.decode("utf-8")
    assert lang_attribute in page and words in page, page[-600:]


def test_past_max_connections_a_request_is_answered_503_at_once(sqlite_engine: Engine) -> None:
    running = serving(
        limited_settings(max_connections=10, header_timeout_seconds=30), sqlite_engine
    )
    try:
        idle = [connect(running) for _ in range(10)]  # hold every slot, sending nothing
        try:
            time.sleep(0.2)  # let the server accept them all
            refused = exchange(running, b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        finally:
            for sock in idle:
                sock.close()
        assert status_of(refused) == 503
    finally:
        running.stop()


# -- malformed requests ----------------------------------------------------------------


@pytest.mark.parametrize("path", ["/healthz", "/no-such-page", "/unsubscribe/not-a-token"])
def test_a_malformed_chunked_body_is_400_and_logs_no_error(
    quick_server: BackgroundServer, caplog: pytest.LogCaptureFixture, path: str
) -> None:
    """uvicorn answers a broken chunked body with 400 and closes, but leaves the request
    running: a route that answers without reading the body then wrote to the closed
    connection, and every such 30-byte request from anyone logged two errors (an
    'unexpected error' with a 40-frame traceback, then 'ASGI callable returned without
    completing response'), flooding the log and its alerts."""
    request = f"POST {path} HTTP/1.1\r\nHost: localhost\r\nTransfer-Encoding: chunked\r\n\r\n"
    with caplog.at_level(logging.WARNING):
        response = exchange(quick_server, request.encode() + b"zz\r\n")
        time.sleep(0.5)  # the route answers after the 400 went out
    assert status_of(response) == 400
    assert [r.getMessage()[:60] for r in caplog.records if r.levelno >= logging.ERROR] == []
