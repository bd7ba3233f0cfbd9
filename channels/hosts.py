"""Host names and ports of the URLs adapters connect to, and of the addresses the web
app listens on (``rapport.engine.core.configtexts``).

``urlsplit`` reads ``smtp://mail shop.example:0`` without a word: host
``'mail shop.example'``, port 0. Loaded, every send failed transiently at the
connection and was retried until it gave up; checked here, the URL is refused at its
``config.yaml:LINE`` (or naming its variable) when the configuration is read.
"""

from __future__ import annotations

import functools
import ipaddress
import re
from urllib.parse import SplitResult, quote

import idna

__all__ = ["address_problem", "ascii_host", "is_host"]

#: A label of a host name: letters, digits, hyphens (not first or last) and, as
#: container names have them, underscores.
_LABEL = re.compile(r"(?!-)[A-Za-z0-9_-]{1,63}(?<!-)")


def is_host(host: str) -> bool:
    """An IP address (v4, or v6 without brackets) or a host name (RFC 1123 labels, an
    internationalised name in its IDNA form). Spaces, ``!`` or an empty label
    (``a..b``) make neither."""
    try:
        ipaddress.ip_address(host)
        return True
    except ValueError:
        pass
    try:
        name = host.encode("idna").decode("ascii")
    except UnicodeError:
        return False
    name = name.removesuffix(".")
    return 0 < len(name) <= 253 and all(_LABEL.fullmatch(label) for label in name.split("."))


def address_problem(parts: SplitResult) -> str | None:
    """What is wrong with a split URL's host and port, or None. A URL without a host
    is its caller's to word (each adapter says which URL it wants)."""
    try:
        port = parts.port
    except ValueError:
        return "its port is not a number from 1 to 65535"
    if port == 0:
        return "port 0 is no port to connect to: write a port from 1 to 65535, or none"
    host = parts.hostname
    if host and not is_host(host):
        return (
            f"{host!r} is not a host name: write a name such as mail.shop.example or an IP address"
        )
    return None


@functools.lru_cache(maxsize=64)
def ascii_host(host: str) -> str:
    """A host name as ASCII, for a header or a URI: an international name as its IDNA
    A-label (IDNA 2008 with the UTS 46 mapping, as addresses are sent: ``mime``), one
    IDNA 2008 refuses (an emoji) percent-encoded as UTF-8, as RFC 3986 3.2.2 allows a
    host name (``%`` is also an atom character of a Message-ID)."""
    if host.isascii():
        return host
    try:
        return idna.encode(host, uts46=True).decode("ascii")
    except UnicodeError:  # idna.IDNAError, or a label too long
        return quote(host, safe="-._~")
