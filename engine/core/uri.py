"""Links as URIs: ASCII, whatever script the operator's ``web.base_url`` is written in.

A base URL with an international host or path (``https://فروشگاه.example/پیوند``) is a
valid IRI, kept as written in the links of message bodies; a mail header holds URIs
only (RFC 2369), and an IRI written into one was sent as RFC 2047 encoded-words, which
no mailbox provider reads back as a URL. :func:`as_uri` gives the URI that opens the
same page (RFC 3987 3.1).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit, urlunsplit

from rapport.channels.hosts import ascii_host as a_label

__all__ = ["a_label", "as_uri", "uri_text"]

#: What RFC 3986 lets a path or a mailto local part hold as it is; ``%`` too, so text
#: the operator already percent-encoded stays as written.
_URI_SAFE = "/:@!$&'()*+,;=-._~%"


def uri_text(text: str) -> str:
    """``text`` with every character a URI cannot hold percent-encoded as UTF-8."""
    return quote(text, safe=_URI_SAFE)


def as_uri(link: str) -> str:
    """``link`` (an http(s) IRI made from ``web.base_url``) as an ASCII URI that opens
    the same page: the host as its A-label, the path percent-encoded."""
    if link.isascii():
        return link
    parts = urlsplit(link)
    netloc = a_label(parts.hostname or "")
    if ":" in netloc:  # an IPv6 address (ASCII, but the path was not)
        netloc = f"[{netloc}]"
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, uri_text(parts.path), "", ""))
