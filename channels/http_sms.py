"""SMS through a generic JSON-over-HTTP provider, on kept-alive connections.

Each request is written on a connection of the adapter's own (:mod:`.http_wire`): one
write of bytes built from a prefix made once, and a reply parsed as it arrives, about
40 us of Python where httpx's transport took about 600 us (its pool, h11 and anyio).
Connections are opened on first use, kept alive for the next message and closed in
:meth:`HTTPSMSChannel.aclose`; ``https`` is verified as httpx verifies it (same CA
bundle, ``SSL_CERT_FILE``/``SSL_CERT_DIR``, host name checked), and at most
:data:`~rapport.channels.http_wire.MAX_BODY_BYTES` of a reply are read.
Redirects are never followed: a provider that redirects is misconfigured, and
following it could send the message (and the token) somewhere else.

When the environment names a proxy (``HTTPS_PROXY`` and friends), sends go through an
``httpx.AsyncClient`` instead, which honours it, as before.

Provider contract (what a provider, or a shim in front of one, must implement)::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <idempotency_key>          same value on every retry
    Authorization: Bearer <token>               only when a token is configured

    {"to": "+989121234567", "text": "...", "idempotency_key": "...", "locale": "fa"}

Replies and what the adapter makes of them:

* ``2xx`` with JSON ``{"id": "..."}`` (or ``"message_id"``) -> accepted, that id kept.
  A provider that sees an ``Idempotency-Key`` again must answer 2xx without sending.
* ``408``, ``429`` and ``5xx`` -> transient (retried later with the same key). A
  ``Retry-After`` header (seconds or an HTTP date) on such a reply becomes the result's
  ``retry_after``: that message and that provider wait at least that long.
* ``4xx`` with JSON ``{"error": "invalid_number"}`` (also ``"code"`` instead of
  ``"error"``, or ``"invalid_recipient"``) -> permanent, and the number is suppressed.
* any other ``3xx``/``4xx`` -> permanent.
* connection errors and timeouts -> transient. A failure to connect (refused, reset
  or timed out while connecting, a name that does not resolve, a failed TLS handshake,
  a proxy that would not connect) is ``reached=False``:
  the provider never saw the request. Anything after the request started going out (a
  read timeout, a dropped connection without a reply, a reply that cannot be parsed)
  is ``reached=True`` and ``unanswered=True``: the message may have been sent, which
  the idempotency key makes harmless on the retry (to this provider: a channel's next
  provider is not tried with it at once). The timeout bounds connecting and each wait
  for the reply's next bytes.
* an idempotency key holding CR, LF or NUL (it travels in a header) -> permanent,
  before anything is sent.

The webhook adapter (:mod:`rapport.channels.webhook`) answers to the same reply
contract and so shares :func:`response_result` and :func:`http_error_result`.
"""

from __future__ import annotations

import json
import urllib.request
from collections.abc import Mapping
from json.encoder import encode_basestring as _quoted
from typing import Any, Final, Protocol
from urllib.parse import urlsplit

import httpx

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.hosts import address_problem
from rapport.channels.http_reply import bounded_post
from rapport.channels.http_wire import Endpoint
from rapport.channels.mime import HeaderInjectionError, check_header_value
from rapport.channels.options import OptionProblem
from rapport.channels.provider_codes import INVALID_NUMBER_CODES
from rapport.channels.retry_after import parse_retry_after

__all__ = [
    "HTTPReply",
    "HTTPSMSChannel",
    "HTTPSMSURLError",
    "http_error_result",
    "json_object",
    "response_result",
    "transient_reply",
]

_TRANSIENT_STATUS: Final = frozenset({408, 425, 429})
_BODY: Final = '{"to":%s,"text":%s,"idempotency_key":%s,"locale":%s}'
#: httpx errors raised before the request could reach the provider (no connection to
#: it was made, or no pooled one was free): the provider never saw it.
_NOT_SENT: Final = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout, httpx.ProxyError)


class HTTPSMSURLError(ValueError):
    """The provider URL cannot be used (not http or https, or no host)."""


class HTTPReply(Protocol):
    """What the reply mapping reads of a reply: an ``httpx.Response`` or a
    :class:`rapport.channels.http_wire.Reply`."""

    @property
    def status_code(self) -> int: ...

    @property
    def headers(self) -> Mapping[str, str]: ...

    def json(self) -> Any: ...


def json_object(response: HTTPReply) -> dict[str, Any]:
    """The reply's JSON object, or an empty dict for anything else."""
    try:
        body = response.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return {}
    return body if isinstance(body, dict) else {}


def transient_reply(response: HTTPReply, reason: str) -> SendResult:
    """A transient result for a reply, carrying the wait its ``Retry-After`` asks for."""
    retry_after = parse_retry_after(response.headers.get("Retry-After"))
    if retry_after is not None:
        reason = f"{reason} (retry after {round(retry_after, 1):g} s)"
    return SendResult.transient(reason, retry_after=retry_after)


def response_result(response: HTTPReply) -> SendResult:
    """Translate the provider's reply into an outcome, following the module's contract."""
    status = response.status_code
    if 200 <= status < 300:
        body = json_object(response)
        provider_id = body.get("id") or body.get("message_id")
        return SendResult.accepted(str(provider_id) if provider_id is not None else None)
    if status in _TRANSIENT_STATUS or status >= 500:
        return transient_reply(response, f"HTTP {status}")
    body = json_object(response)
    code = body.get("error") or body.get("code")
    if isinstance(code, str) and code in INVALID_NUMBER_CODES:
        return SendResult.permanent(f"HTTP {status} {code}", suppress=True)
    if 300 <= status < 400:
        return SendResult.permanent(f"HTTP {status}: provider redirected; redirects not followed")
    detail = f" {code}" if isinstance(code, str) else ""
    return SendResult.permanent(f"HTTP {status}{detail}")


def http_error_result(exc: BaseException) -> SendResult | None:
    """Translate an httpx error into an outcome; None if it is not ours to translate.

    This is the only place that knows httpx's exceptions. Errors that a retry cannot
    fix (our own malformed request, an unsupported scheme) are permanent. Failures
    before the request left are ``reached=False`` (see the module docstring).
    """
    if isinstance(exc, _NOT_SENT):
        return SendResult.transient(f"could not connect: {type(exc).__name__}", reached=False)
    if isinstance(exc, httpx.TimeoutException):
        return SendResult.transient(f"timed out: {type(exc).__name__}", unanswered=True)
    if isinstance(exc, httpx.NetworkError | httpx.RemoteProtocolError):
        return SendResult.transient(f"connection failed: {type(exc).__name__}", unanswered=True)
    if isinstance(exc, httpx.HTTPError):  # LocalProtocolError, UnsupportedProtocol, ...
        return SendResult.permanent(f"request failed: {type(exc).__name__}")
    return None


def request_body(message: OutgoingMessage) -> bytes:
    """The JSON document of the provider contract for ``message``: compact UTF-8, as
    httpx writes ``json=`` (``json.dumps`` with ``ensure_ascii=False``)."""
    fields = (message.to, message.text, message.idempotency_key, message.locale)
    if all(type(value) is str for value in fields):  # the strings quoted as json.dumps does
        return (_BODY % tuple(map(_quoted, fields))).encode("utf-8")
    payload = dict(zip(("to", "text", "idempotency_key", "locale"), fields, strict=True))
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def _check_url(url: str) -> None:
    """Raise :class:`HTTPSMSURLError` unless ``url`` is an http(s) URL with a host that
    httpx can send to."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an IPv6 literal left open
        raise HTTPSMSURLError(f"the SMS provider URL is not valid: {exc}") from None
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        raise HTTPSMSURLError("the SMS provider URL must be http:// or https:// with a host")
    if problem := address_problem(parts):
        raise HTTPSMSURLError(f"the SMS provider URL: {problem}")
    if "@" in parts.netloc:  # not echoed: a secret
        raise HTTPSMSURLError(
            "the SMS provider URL holds a user name or password, which are not sent: "
            "give the provider's key as the token option (sent as Authorization: Bearer)"
        )
    try:
        httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise HTTPSMSURLError(f"the SMS provider URL is not valid: {exc}") from None


def token_problems(options: Mapping[str, Any]) -> list[OptionProblem]:
    """The ``token`` option of an HTTP adapter, as the ``Authorization`` header it goes
    in refuses it (a line break would start another header)."""
    if isinstance(token := options.get("token"), str):
        try:
            check_header_value("Authorization", token, "token")
        except ValueError as exc:
            return [OptionProblem("token", str(exc))]
    return []


class HTTPSMSChannel(Channel):
    """Send SMS by POSTing JSON to a provider (see the module docstring for the contract)."""

    name = "http_sms"
    kinds = frozenset({"sms"})
    #: A generic provider's own limit is unknown; it refuses what it cannot carry.
    max_body_chars = None
    supports_html = False
    rate_per_second = None
    #: Round trips kept in flight when configuration sets none (docs/configuration.md).
    concurrency = 16

    @classmethod
    def value_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """The URL and the token as the constructor checks them."""
        problems = []
        if isinstance(url := options.get("url"), str):
            try:
                _check_url(url)
            except HTTPSMSURLError as exc:
                problems.append(OptionProblem("url", str(exc)))
        return problems + token_problems(options)

    def __init__(self, url: str, token: str | None = None, timeout: float = 10) -> None:
        _check_url(url)
        if token is not None:
            check_header_value("Authorization", token, "token")
        self.url = url
        self.token = token
        self.timeout = timeout
        self._headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._client: httpx.AsyncClient | None = None
        parsed = httpx.URL(url)  # _check_url parsed it
        #: Sent with every request on the adapter's own connections.
        fixed = [
            ("Accept", "*/*"),
            ("User-Agent", "rapport"),
            ("Content-Type", "application/json"),
            *self._headers.items(),
        ]
        self._endpoint = Endpoint(parsed, fixed, timeout)
        #: Whether the environment names a proxy for this URL (then the client is used).
        self._proxied = bool(_environment_proxy(parsed.scheme))

    def options(self) -> dict[str, Any]:
        return {"url": self.url, "token": self.token, "timeout": self.timeout}

    def _http(self) -> httpx.AsyncClient:
        """The client used when the environment names a proxy; created on first send."""
        if self._client is None:
            self._client = httpx.AsyncClient(
                headers=self._headers, timeout=self.timeout, follow_redirects=False
            )
        return self._client

    async def _post(self, body: bytes, key: str) -> HTTPReply:
        """POST ``body`` with the provider contract's headers; the reply is read whole
        (up to the wire's bound)."""
        if self._proxied:
            return await bounded_post(
                self._http(),
                self.url,
                self.timeout,
                content=body,
                headers={"Content-Type": "application/json", "Idempotency-Key": key},
            )
        endpoint = self._endpoint
        return await endpoint.post(endpoint.request_bytes([("Idempotency-Key", key)], body))

    async def send(self, message: OutgoingMessage) -> SendResult:
        if refused := self.unsupported(message):
            return refused
        try:
            check_header_value("Idempotency-Key", message.idempotency_key, "idempotency_key")
        except HeaderInjectionError as exc:
            return SendResult.permanent(str(exc))
        try:
            response = await self._post(request_body(message), message.idempotency_key)
        except httpx.HTTPError as exc:
            if (result := http_error_result(exc)) is None:  # pragma: no cover - all mapped
                raise
        else:
            result = response_result(response)
        return result

    async def aclose(self) -> None:
        client, self._client = self._client, None
        self._endpoint.close()
        if client is not None:
            await client.aclose()


def _environment_proxy(scheme: str) -> str | None:
    """The proxy the environment names for ``scheme`` URLs (``HTTPS_PROXY``, ``ALL_PROXY``
    and their lower-case forms), if any; httpx's client would route through it."""
    proxies = urllib.request.getproxies_environment()
    return proxies.get(scheme) or proxies.get("all")
