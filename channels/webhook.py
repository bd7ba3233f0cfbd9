"""POST each message as JSON to a configured URL, refusing to be aimed at internal hosts.

Request::

    POST <url>
    Content-Type: application/json
    Idempotency-Key: <idempotency_key>               same value on every retry
    X-Rapport-Signature: sha256=<hex>                when a ``secret`` is configured
    Authorization: Bearer <token>                    when a ``token`` is configured

    {"kind": "email", "to": "...", "to_name": "...", "sender": null, "subject": "...",
     "text": "...", "html": "...", "headers": {"List-Unsubscribe": "..."},
     "message_id": "<...>", "idempotency_key": "...", "locale": "fa",
     "customer_id": "c1", "campaign": "birthday"}

The signature is HMAC-SHA256, keyed by ``secret``, over the exact body bytes; the
receiver recomputes it and compares in constant time (``hmac.compare_digest``).
``message_id`` is set for e-mail only. E-mail fields pass the same header checks as the
SMTP adapter (the receiver will likely turn them into headers): CR, LF or NUL in a
name, subject, address or extra header is a permanent failure before any request.

Replies follow the generic SMS contract (:func:`~rapport.channels.http_sms.
response_result`): ``2xx`` accepted (the JSON ``id`` if any, else the Message-ID for
e-mail); ``408``/``429``/``5xx`` transient, with the ``Retry-After`` header read into
``retry_after``; ``4xx`` with ``{"error": "invalid_recipient"}`` permanent and
suppressed; other ``3xx``/``4xx`` permanent. A host that does not resolve, or no
vetted address that accepts the connection, is transient with ``reached=False``.

Refusing internal addresses (server-side request forgery)
---------------------------------------------------------
Unless ``allow_private: true`` is configured, the adapter will not talk to loopback,
private (RFC 1918, unique local ``fc00::/7``), link-local (``169.254.0.0/16`` with the
cloud metadata service at ``169.254.169.254``, ``fe80::/10``), multicast, unspecified,
reserved or otherwise not globally routable addresses, including IPv4 addresses
embedded in IPv6 (``::ffff:a.b.c.d``, 6to4, NAT64, Teredo). The check happens at send
time, in :class:`PinnedTransport`, an httpx transport in front of the ordinary one:

1. resolve the URL's host with ``getaddrinfo`` (literal IPs resolve to themselves);
2. refuse if **any** resolved address is disallowed: a name with one public and one
   internal address is refused, whichever address the connection would have used;
3. hand the ordinary transport a copy of the request whose URL names the vetted IP
   itself, with the ``Host`` header and the TLS server name (httpx's ``sni_hostname``
   extension) still those of the configured host, so certificates are checked
   against the name as usual.

Because the connection goes to the address that was checked, a DNS answer that changes
between the check and the connection (DNS rebinding) cannot redirect it. Every send
resolves anew; kept-alive connections are pooled per vetted address. Redirects are
never followed (a ``3xx`` is a permanent failure), environment proxies are not used
(a proxy would connect on our behalf to an unchecked address), and a refusal is a
permanent failure whose reason names the host, the address and why.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import ipaddress
import json
import logging
import os
import socket
import ssl
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, Final, Self
from urllib.parse import urlsplit

import httpx

from rapport.channels.base import Channel, OutgoingMessage, SendResult
from rapport.channels.hosts import address_problem
from rapport.channels.http_reply import bounded_post
from rapport.channels.http_sms import http_error_result, response_result, token_problems
from rapport.channels.mime import (
    DEFAULT_MESSAGE_ID_DOMAIN,
    MessageFormatError,
    check_email_headers,
    check_header_value,
    message_id_of,
    strip_bidi_controls,
)
from rapport.channels.options import OptionProblem

__all__ = [
    "SIGNATURE_HEADER",
    "BlockedAddressError",
    "PinnedTransport",
    "Resolver",
    "WebhookChannel",
    "WebhookURLError",
    "address_refusal",
    "sign_body",
]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER: Final = "X-Rapport-Signature"
METADATA_ADDRESSES: Final = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
#: Resolves (host, port) to IP address strings; the default uses ``getaddrinfo``.
Resolver = Callable[[str, int], Awaitable[list[str]]]


#: Special-purpose blocks that IANA's registries mark not globally reachable, which some
#: Python versions' ``is_global`` still calls global (192.0.0.8 on 3.11): listed here so
#: the answer does not depend on the interpreter.
NOT_GLOBAL = tuple(
    ipaddress.ip_network(block)
    for block in (
        "192.0.0.0/24",  # IETF protocol assignments
        "198.18.0.0/15",  # benchmarking
        "100.64.0.0/10",  # shared address space (carrier-grade NAT)
        "3fff::/20",  # IPv6 documentation (RFC 9637)
        "5f00::/16",  # IPv6 segment routing SIDs (RFC 9602)
    )
)


class WebhookURLError(ValueError):
    """The webhook URL cannot be used (not http or https, or no host)."""


def _url_problem(url: str) -> str | None:
    """What makes ``url`` no webhook URL, found when the configuration is read: what
    would fail at the first send instead (an octal IPv4, a bad port)."""
    try:
        parts = urlsplit(url)
    except ValueError as exc:  # an IPv6 literal left open
        return f"the webhook URL is not valid: {exc}"
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return "the webhook URL must be http:// or https:// with a host"
    try:
        _lookup_name(httpx.URL(url).host)
    except (httpx.InvalidURL, ValueError) as exc:  # UnicodeError is a ValueError
        return f"the webhook URL is not valid: {exc}"
    problem = address_problem(parts)
    return f"the webhook URL is not valid: {problem}" if problem else None


class BlockedAddressError(Exception):
    """The host resolves to an address the webhook may not reach."""

    def __init__(self, host: str, address: str, category: str) -> None:
        super().__init__(
            f"webhook host {host!r} resolves to {address}, a {category} address; "
            "refused (set allow_private: true to allow it)"
        )
        self.host = host
        self.address = address
        self.category = category


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """An IPv4 address a packet to ``address`` may end up at (mapped, 6to4, NAT64, Teredo)."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    if address.teredo is not None:
        return address.teredo[1]
    return None


def address_refusal(address: IPAddress) -> str | None:
    """Why the webhook may not reach ``address`` (``"loopback"``, ...), or None if it may.

    >>> address_refusal(ipaddress.ip_address("169.254.169.254"))
    'link-local (cloud metadata)'
    >>> address_refusal(ipaddress.ip_address("93.184.215.14")) is None
    True
    """
    inner = _embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    if inner is not None and (why := address_refusal(inner)) is not None:
        return f"{why} (embedded in IPv6)"
    if address in METADATA_ADDRESSES:
        return "link-local (cloud metadata)" if address.version == 4 else "cloud metadata"
    if any(address in network for network in NOT_GLOBAL):
        return "non-global"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("site-local", isinstance(address, ipaddress.IPv6Address) and address.is_site_local),
        ("non-global", not address.is_global),
    )
    return next((category for category, hit in checks if hit), None)


async def getaddrinfo_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for TCP, in the resolver's order, once each."""
    infos = await asyncio.get_running_loop().getaddrinfo(
        host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP
    )
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0]).partition("%")[0]  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    return addresses


def _lookup_name(host: str) -> None:
    """Raise ValueError for a host ``getaddrinfo`` could not be asked about: reading
    ``httpx.URL.host`` decodes its A-labels (``xn--`` alone raises), and a name is
    encoded with the ``idna`` codec before the lookup (an empty label, or one over 63
    characters, raises UnicodeError there, at every send)."""
    try:
        ipaddress.ip_address(host)
    except ValueError:
        host.encode("idna")


def _unchanged(text: str) -> str:
    return text


def _optional(transform: Callable[[str], str], text: str | None) -> str | None:
    return None if text is None else transform(text)


def sign_body(secret: str, body: bytes) -> str:
    """The ``X-Rapport-Signature`` value: ``sha256=`` and the HMAC-SHA256 hex digest."""
    digest = hmac.new(secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
    return f"sha256={digest}"


class PinnedTransport(httpx.AsyncBaseTransport):
    """Resolve the host, vet every address, and connect to a vetted address only.

    See the module docstring. With ``allow_private`` the vetting is skipped but the
    connection is still pinned to the resolved address.
    """

    def __init__(
        self,
        *,
        allow_private: bool = False,
        resolver: Resolver | None = None,
        verify: ssl.SSLContext | bool = True,
    ) -> None:
        self.allow_private = allow_private
        self.resolver = resolver or getaddrinfo_resolver
        self._inner = httpx.AsyncHTTPTransport(verify=verify, retries=0)

    async def vetted_addresses(self, host: str, port: int) -> list[str]:
        """The addresses to try, or :class:`BlockedAddressError` if any is disallowed."""
        try:
            addresses = await self.resolver(host, port)
        except OSError as exc:  # socket.gaierror included
            raise httpx.ConnectError(f"cannot resolve the webhook host: {exc}") from exc
        if not addresses:
            raise httpx.ConnectError("the webhook host resolves to no address")
        for address in addresses:
            try:
                parsed = ipaddress.ip_address(address)
            except ValueError as exc:
                raise BlockedAddressError(host, repr(address), "unparsable") from exc
            if not self.allow_private and (category := address_refusal(parsed)) is not None:
                raise BlockedAddressError(host, address, category)
        return addresses

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # The A-label the Host header carries (IDNA 2008): the U-label would be encoded
        # again by getaddrinfo with Python's IDNA 2003 codec, which writes straße as
        # strasse, another domain, and the certificate would be checked against it.
        host = request.url.raw_host.decode("ascii")
        port = request.url.port or (443 if request.url.scheme == "https" else 80)
        failure: httpx.ConnectError | None = None
        for address in await self.vetted_addresses(host, port):
            pinned = httpx.Request(
                request.method,
                request.url.copy_with(host=address),
                headers=request.headers,  # keeps Host: <configured host>
                stream=request.stream,
                extensions={**request.extensions, "sni_hostname": host},
            )
            try:
                return await self._inner.handle_async_request(pinned)
            except httpx.ConnectError as exc:  # nothing was sent; try the next address
                failure = exc
        assert failure is not None
        raise failure

    async def aclose(self) -> None:
        await self._inner.aclose()


class WebhookChannel(Channel):
    """POST messages as JSON to one URL, never to an internal address unless allowed."""

    name = "webhook"
    kinds = frozenset({"email", "sms"})
    max_body_chars = None
    supports_html = True
    rate_per_second = None
    secret_options = frozenset({"secret", "token"})

    @classmethod
    def value_problems(cls, options: Mapping[str, Any]) -> list[OptionProblem]:
        """The URL, the secret and the token as the constructor checks them."""
        problems = []
        if isinstance(url := options.get("url"), str) and (problem := _url_problem(url)):
            problems.append(OptionProblem("url", problem))
        if options.get("secret") == "":
            problems.append(
                OptionProblem("secret", "secret is empty; leave it out to send unsigned")
            )
        return problems + token_problems(options)

    def __init__(
        self,
        url: str,
        secret: str | None = None,
        token: str | None = None,
        allow_private: bool = False,
        timeout: float = 10,
        message_id_domain: str | None = None,
        ca_file: str | os.PathLike[str] | None = None,
        *,
        resolver: Resolver | None = None,
    ) -> None:
        if problem := _url_problem(url):
            raise WebhookURLError(problem)
        if token is not None:
            check_header_value("Authorization", token, "token")
        if secret is not None and not secret:
            raise ValueError("secret is empty; leave it out to send unsigned")
        self.url = url
        self.secret = secret
        self.token = token
        self.allow_private = bool(allow_private)
        self.timeout = timeout
        self.message_id_domain = message_id_domain or DEFAULT_MESSAGE_ID_DOMAIN
        self.ca_file = os.fspath(ca_file) if ca_file is not None else None
        self._verify: ssl.SSLContext | bool = True
        if self.ca_file is not None:
            try:
                self._verify = ssl.create_default_context(cafile=self.ca_file)
            except (OSError, ssl.SSLError) as exc:
                raise ValueError(f"cannot load ca_file {self.ca_file!r}: {exc}") from exc
        self._resolver = resolver
        self._client: httpx.AsyncClient | None = None

    @classmethod
    def from_options(cls, options: Mapping[str, Any], base_dir: Path) -> Self:
        """Resolve a relative ``ca_file`` against the configuration file's directory."""
        options = dict(options)
        if options.get("ca_file") is not None:
            options["ca_file"] = Path(base_dir) / Path(options["ca_file"]).expanduser()
        return cls(**options)

    def options(self) -> dict[str, Any]:
        return {
            "url": self.url,
            "secret": self.secret,
            "token": self.token,
            "allow_private": self.allow_private,
            "timeout": self.timeout,
            "message_id_domain": self.message_id_domain,
            "ca_file": self.ca_file,
        }

    def _http(self) -> httpx.AsyncClient:
        """The one client this adapter uses; created on first send."""
        if self._client is None:
            headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
            self._client = httpx.AsyncClient(
                transport=PinnedTransport(
                    allow_private=self.allow_private, resolver=self._resolver, verify=self._verify
                ),
                headers=headers,
                timeout=self.timeout,
                follow_redirects=False,
                trust_env=False,
            )
        return self._client

    def body(self, message: OutgoingMessage) -> bytes:
        """The JSON document POSTed for ``message``.

        An e-mail's name, sender, subject and extra headers lose their bidi controls,
        as :func:`~rapport.channels.mime.build_email` removes them from the headers it
        writes: the receiver will likely make headers of them.
        """
        email = message.kind == "email"
        header = strip_bidi_controls if email else _unchanged
        document = {
            "kind": message.kind,
            "to": message.to,
            "to_name": _optional(header, message.to_name),
            "sender": _optional(header, message.sender),
            "subject": _optional(header, message.subject),
            "text": message.text,
            "html": message.html,
            "headers": {name: header(value) for name, value in message.headers.items()},
            "message_id": message_id_of(message, self.message_id_domain) if email else None,
            "idempotency_key": message.idempotency_key,
            "locale": message.locale,
            "customer_id": message.customer_id,
            "campaign": message.campaign,
        }
        return json.dumps(document, ensure_ascii=False, separators=(",", ":")).encode("utf-8")

    async def send(self, message: OutgoingMessage) -> SendResult:
        if refused := self.unsupported(message):
            return refused
        try:
            check_header_value("Idempotency-Key", message.idempotency_key, "idempotency_key")
            if message.kind == "email":
                check_email_headers(message, message.sender or "")
        except MessageFormatError as exc:
            return SendResult.permanent(str(exc))
        body = self.body(message)
        headers = {"Content-Type": "application/json", "Idempotency-Key": message.idempotency_key}
        if self.secret:
            headers[SIGNATURE_HEADER] = sign_body(self.secret, body)
        result = await self._post(message.idempotency_key, body, headers)
        if result.outcome == "accepted" and result.provider_id is None and message.kind == "email":
            result = SendResult.accepted(message_id_of(message, self.message_id_domain))
        return result

    async def _post(self, key: str, body: bytes, headers: dict[str, str]) -> SendResult:
        """POST once and translate whatever happens into an outcome."""
        try:
            response = await bounded_post(
                self._http(), self.url, self.timeout, content=body, headers=headers
            )
        except BlockedAddressError as exc:
            logger.warning("webhook refused a message: %s", exc, extra={"idempotency_key": key})
            return SendResult.permanent(str(exc))
        except (httpx.InvalidURL, UnicodeError) as exc:  # a name no lookup can use
            return SendResult.permanent(f"the webhook URL cannot be used: {exc}")
        except httpx.HTTPError as exc:
            if (result := http_error_result(exc)) is None:  # pragma: no cover - all mapped
                raise
            return result
        return response_result(response)

    async def aclose(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()
