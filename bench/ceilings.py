"""Same-run ceilings: the fastest this machine does each stage's work, without the engine.

Each ceiling does the work of one stage with nothing around it, on the same data the
stage just handled: the driver fetching the same columns, Jinja rendering the same
compiled templates with the same contexts, a minimal MIME writer, a raw bulk insert
of the same outbox rows, aiosmtplib sending pre-built bytes over the same number of
persistent connections, and httpx posting the same payloads with the same client
settings. A stage's figure divided by its ceiling says how much the engine costs.

The SMS adapter no longer posts with httpx but on a wire of its own
(:mod:`rapport.channels.http_wire`); :func:`raw_http_wire` posts the same payloads on
that wire, with no engine around it, so the report can also say what the engine costs
against the client it uses.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import time
from datetime import UTC, datetime
from email.header import Header
from email.utils import format_datetime
from typing import Any

import aiosmtplib
import httpx
from sqlalchemy import ColumnElement, Engine, select

from rapport.channels.http_wire import Endpoint
from rapport.engine.core.models import CUSTOMER
from rapport.engine.rendering.filters import CUSTOMER_LOCALE
from rapport.engine.rendering.renderer import Renderer


def raw_fetch(engine: Engine, where: ColumnElement[bool] | None = None) -> dict[str, float]:
    """The driver reading what selection reads: customers, consent, orders, history.

    ``where`` is the run's pre-filter (:func:`rapport.engine.planning.prefilter.candidate_clause`):
    the ceiling reads the same customers the engine reads, each table in one query.
    """
    tables = (
        "SELECT customer_id, channel, topic FROM consent_state WHERE status = 'granted'",
        "SELECT customer_id, id, sku, quantity, amount, currency, ordered_at FROM orders",
        "SELECT customer_id, campaign, channel, occasion, status, send_at, transactional "
        "FROM outbox_message",
    )
    columns = (
        "id, first_name, last_name, email, phone, locale, timezone, country, birthday, created_at"
    )
    queries = [f"SELECT {columns} FROM customer ORDER BY id"]
    if where is None:
        queries += tables
    else:
        # The clause with its values written in, so the raw cursor runs the same SQL.
        candidates = str(
            select(CUSTOMER.c.id)
            .where(where)
            .compile(dialect=engine.dialect, compile_kwargs={"literal_binds": True})
        )
        queries = [f"SELECT {columns} FROM customer WHERE id IN ({candidates}) ORDER BY id"]
        queries += [
            f"{table}{' AND ' if 'WHERE' in table else ' WHERE '}customer_id IN ({candidates})"
            for table in tables
        ]
    raw = engine.raw_connection()
    rows = 0
    customers = 0
    started = time.perf_counter()
    try:
        cursor = raw.cursor()
        for index, query in enumerate(queries):
            cursor.execute(query)
            while batch := cursor.fetchmany(5000):
                rows += len(batch)
                if index == 0:
                    customers += len(batch)
        cursor.close()
    finally:
        raw.close()
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "customers": customers, "rows": rows}


def raw_render(renderer: Renderer, contexts: list[tuple[str, str, str, dict[str, Any]]]) -> dict:
    """The same compiled templates rendered with the same contexts, nothing else."""
    work = []
    for template_set, kind, locale, context in contexts:
        resolved = renderer._resolved.get((template_set, kind, locale))
        if resolved is not None:
            work.append((locale, list(resolved[1].values()), context))
    started = time.perf_counter()
    for locale, templates, context in work:
        token = CUSTOMER_LOCALE.set(locale)
        for template in templates:
            template.render(context)
        CUSTOMER_LOCALE.reset(token)
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "messages": len(work)}


def _b64_lines(text: str) -> str:
    data = base64.b64encode(text.encode("utf-8")).decode("ascii")
    return "\r\n".join(data[i : i + 76] for i in range(0, len(data), 76))


def minimal_mime(
    sender: str, to: str, subject: str, message_id: str, text: str, html: str | None
) -> bytes:
    """A correct but minimal multipart/alternative message: base64 bodies, CRLF."""
    encoded_subject = Header(subject, "utf-8").encode(linesep="\r\n")
    boundary = "=_" + hashlib.sha1(message_id.encode()).hexdigest()[:24]
    head = (
        f"From: {sender}\r\nTo: {to}\r\n"
        f"Subject: {encoded_subject}\r\n"
        f"Message-ID: {message_id}\r\nDate: {format_datetime(datetime.now(UTC))}\r\n"
        "MIME-Version: 1.0\r\n"
    )
    text_part = (
        'Content-Type: text/plain; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + _b64_lines(text)
    )
    if html is None:
        return (head + text_part + "\r\n").encode("ascii")
    html_part = (
        'Content-Type: text/html; charset="utf-8"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + _b64_lines(html)
    )
    body = (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\r\n\r\n'
        f"--{boundary}\r\n{text_part}\r\n--{boundary}\r\n{html_part}\r\n--{boundary}--\r\n"
    )
    return (head + body).encode("ascii")


def raw_mime(messages: list[tuple[str, str, str, str, str, str | None]]) -> dict:
    started = time.perf_counter()
    built = [minimal_mime(*m) for m in messages]
    seconds = time.perf_counter() - started
    return {"seconds": seconds, "messages": len(built), "bytes": built}


def raw_insert(engine: Engine, rows: list[dict[str, Any]]) -> dict:
    """The same outbox rows, bulk-inserted into a copy of the table with its indexes."""
    if not rows:
        return {"seconds": 0.0, "rows": 0}
    columns = list(rows[0])
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        if engine.dialect.name == "sqlite":
            cursor.execute("DROP TABLE IF EXISTS bench_outbox")
            cursor.execute(
                "SELECT type, sql FROM sqlite_master WHERE tbl_name = 'outbox_message' "
                "AND sql IS NOT NULL"
            )
            ddl = cursor.fetchall()
            for kind, sql in sorted(ddl, key=lambda d: d[0] != "table"):
                sql = sql.replace("outbox_message", "bench_outbox")
                if kind == "index":
                    sql = sql.replace("INDEX ix_", "INDEX bench_ix_").replace(
                        "INDEX uq_", "INDEX bench_uq_"
                    )
                cursor.execute(sql)
            values = [
                tuple(
                    v.strftime("%Y-%m-%d %H:%M:%S.%f") if isinstance(v, datetime) else v
                    for v in (row[c] for c in columns)
                )
                for row in rows
            ]
            raw.commit()
            started = time.perf_counter()
            cursor.executemany(
                f"INSERT INTO bench_outbox ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))})",
                values,
            )
            raw.commit()
        else:
            cursor.execute("DROP TABLE IF EXISTS bench_outbox")
            cursor.execute("CREATE TABLE bench_outbox (LIKE outbox_message INCLUDING ALL)")
            raw.commit()
            values = [
                tuple(
                    v.astimezone(UTC).replace(tzinfo=None) if isinstance(v, datetime) else v
                    for v in (row[c] for c in columns)
                )
                for row in rows
            ]
            started = time.perf_counter()
            with cursor.copy(f"COPY bench_outbox ({', '.join(columns)}) FROM STDIN") as copy:
                for row in values:
                    copy.write_row(row)
            raw.commit()
        seconds = time.perf_counter() - started
        cursor.execute("DROP TABLE bench_outbox")
        raw.commit()
    finally:
        raw.close()
    return {"seconds": seconds, "rows": len(rows)}


def raw_smtp(port: int, sender: str, messages: list[tuple[str, bytes]], connections: int) -> dict:
    """Pre-built bytes over ``connections`` persistent aiosmtplib connections."""

    async def worker(share: list[tuple[str, bytes]]) -> None:
        client = aiosmtplib.SMTP(hostname="127.0.0.1", port=port, start_tls=False)
        await client.connect()
        for rcpt, data in share:
            await client.sendmail(sender, [rcpt], data)
        await client.quit()

    async def go() -> float:
        started = time.perf_counter()
        await asyncio.gather(*(worker(messages[i::connections]) for i in range(connections)))
        return time.perf_counter() - started

    return {"seconds": asyncio.run(go()), "messages": len(messages)}


def raw_http(url: str, payloads: list[dict[str, Any]], concurrency: int) -> dict:
    """The same payloads posted with one AsyncClient configured as the adapter's."""

    async def go() -> float:
        async with httpx.AsyncClient(timeout=10, follow_redirects=False) as client:

            async def worker(share: list[dict[str, Any]]) -> None:
                for payload in share:
                    response = await client.post(
                        url,
                        content=json.dumps(payload),
                        headers={
                            "Content-Type": "application/json",
                            "Idempotency-Key": payload["idempotency_key"],
                        },
                    )
                    response.raise_for_status()

            started = time.perf_counter()
            await asyncio.gather(*(worker(payloads[i::concurrency]) for i in range(concurrency)))
            return time.perf_counter() - started

    return {"seconds": asyncio.run(go()), "messages": len(payloads)}


def raw_http_wire(url: str, payloads: list[dict[str, Any]], concurrency: int) -> dict:
    """The same payloads posted on the SMS adapter's own wire, ``concurrency`` at a
    time (one kept-alive connection each), with the adapter's fixed headers."""

    async def go() -> float:
        fixed = [("Accept", "*/*"), ("User-Agent", "rapport"), ("Content-Type", "application/json")]
        endpoint = Endpoint(httpx.URL(url), fixed, timeout=10)

        async def worker(share: list[dict[str, Any]]) -> None:
            for payload in share:
                body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
                key = [("Idempotency-Key", payload["idempotency_key"])]
                reply = await endpoint.post(endpoint.request_bytes(key, body))
                if reply.status_code >= 400:
                    raise RuntimeError(f"the sink answered {reply.status_code}")

        started = time.perf_counter()
        try:
            await asyncio.gather(*(worker(payloads[i::concurrency]) for i in range(concurrency)))
        finally:
            endpoint.close()
        return time.perf_counter() - started

    return {"seconds": asyncio.run(go()), "messages": len(payloads)}
