"""POSTs through httpx's client with the bounds of the adapter's own wire.

httpx reads a reply's whole body into memory, and its read timeout counts from the
last byte received: a provider that answers with a gigabyte, or one byte every few
seconds, held a dispatcher's memory or one of its sends without end (the ``twilio``
and ``webhook`` adapters, and ``http_sms`` behind a proxy). :func:`bounded_post` reads
a reply as :mod:`.http_wire` does:

* at most :data:`~rapport.channels.http_wire.MAX_BODY_BYTES` of the body are kept; a
  longer body is cut there and the connection closed rather than read to its end;
* the whole reply arrives within ``timeout`` seconds of the request starting to go
  out (connecting keeps httpx's own timeout, so a failure to connect still says the
  provider never saw the request); past that, ``httpx.ReadTimeout``.

The reply is a :class:`~rapport.channels.http_wire.Reply`: status, headers, the kept
body, which the reply mappings read as they read ``httpx.Response``.
"""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from rapport.channels.http_wire import MAX_BODY_BYTES, Reply, ReplyHeaders

__all__ = ["bounded_post"]


async def bounded_post(
    client: httpx.AsyncClient, url: str, timeout: float, **request: Any
) -> Reply:
    """POST ``request`` (httpx's ``content``, ``data``, ``headers``...) to ``url`` and read
    the reply within the bounds above; raises httpx's errors."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(None) as deadline:

            async def trace(event: str, info: dict[str, Any]) -> None:
                # Connected: from now on the whole exchange has ``timeout`` seconds.
                if event.endswith("send_request_headers.started"):
                    deadline.reschedule(loop.time() + timeout)

            extensions = {"trace": trace}
            async with client.stream("POST", url, extensions=extensions, **request) as response:
                kept = bytearray()
                async for chunk in response.aiter_bytes():
                    kept += chunk
                    if len(kept) > MAX_BODY_BYTES:
                        break
    except TimeoutError:
        if not deadline.expired():  # pragma: no cover - httpx raises its own types
            raise
        raise httpx.ReadTimeout(
            f"the reply did not arrive whole within {timeout:g} s of the request"
        ) from None
    headers = ReplyHeaders((name, response.headers[name]) for name in response.headers)
    truncated = len(kept) > MAX_BODY_BYTES
    return Reply(response.status_code, headers, bytes(kept[:MAX_BODY_BYTES]), truncated)
