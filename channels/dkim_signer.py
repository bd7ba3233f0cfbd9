"""DKIM signing (RFC 6376) for the SMTP adapter, on the ``dkimpy`` package.

Every header Rapport writes is signed, ``List-Unsubscribe`` and
``List-Unsubscribe-Post`` included (RFC 8058 requires one-click unsubscription to be
covered by a valid DKIM signature, or mailbox providers ignore it). The identity and
list headers are also *over-signed* (listed once more than they occur), so a relay
cannot add a second ``From`` or ``List-Unsubscribe`` without breaking the signature.
Canonicalization is relaxed/relaxed, which survives the re-folding relays do.

``dkimpy`` is imported only when a key is configured, so an unsigned SMTP channel
works without it.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Final

from rapport.channels.hosts import ascii_host
from rapport.channels.mime import MessageFormatError

__all__ = ["OVERSIGNED_HEADERS", "DKIMSigner", "dkim_name_problem", "header_names"]

#: Signed one extra time each, so that adding another such header breaks the signature.
OVERSIGNED_HEADERS: Final = (
    "from",
    "to",
    "cc",
    "reply-to",
    "subject",
    "date",
    "message-id",
    "list-unsubscribe",
    "list-unsubscribe-post",
)
_DNS_LABELS = re.compile(r"^[A-Za-z0-9_](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$")
#: RFC 6376 section 5.4.1: headers a signer should not sign (relays add or change them).
_NEVER_SIGNED: Final = frozenset(
    {"return-path", "received", "comments", "keywords", "bcc", "resent-bcc", "dkim-signature"}
)


def dkim_name_problem(option: str, value: str) -> str | None:
    """Why ``value`` cannot be the ``dkim_selector`` or ``dkim_domain`` (``option``), or
    None. An international domain is taken: it signs as its A-label."""
    if option == "dkim_domain":
        value = ascii_host(value)
    if _DNS_LABELS.match(value):
        return None
    return f"{option} must be ASCII letters, digits, '.', '-' or '_'"


def header_names(data: bytes) -> list[str]:
    """The lower-cased names of the header fields of ``data``, in order, repeats kept."""
    head = data.split(b"\r\n\r\n", 1)[0]
    return [
        line.split(b":", 1)[0].strip().decode("ascii").lower()
        for line in head.split(b"\r\n")
        if line and line[:1] not in (b" ", b"\t")
    ]


class DKIMSigner:
    """Sign serialized e-mails with one RSA key for ``selector._domainkey.domain``."""

    def __init__(self, selector: str, domain: str, private_key: bytes) -> None:
        try:
            import dkim  # optional until a key is configured
            import dkim.crypto
        except ImportError as exc:
            raise ValueError("DKIM signing needs the dkimpy package (pip install dkimpy)") from exc
        for option, value in (("dkim_selector", selector), ("dkim_domain", domain)):
            if problem := dkim_name_problem(option, value):
                raise ValueError(problem)
        domain = ascii_host(domain)  # d= is the A-label (RFC 6376 3.5)
        try:
            dkim.crypto.parse_pem_private_key(private_key)
        except dkim.crypto.UnparsableKeyError as exc:
            # The key's bytes are never echoed.
            raise ValueError("the DKIM private key is not a PEM RSA key (PKCS#1 or #8)") from exc
        self._dkim = dkim
        self.selector = selector
        self.domain = domain
        self._key = private_key

    @classmethod
    def from_file(cls, selector: str, domain: str, path: str | os.PathLike[str]) -> DKIMSigner:
        try:
            key = Path(path).read_bytes()
        except OSError as exc:
            raise ValueError(
                f"cannot read the DKIM private key {str(path)!r}: {exc.strerror}"
            ) from exc
        return cls(selector, domain, key)

    def __repr__(self) -> str:
        return f"DKIMSigner(selector={self.selector!r}, domain={self.domain!r})"

    def sign(self, data: bytes) -> bytes:
        """``data`` with a ``DKIM-Signature`` header in front.

        Raises :class:`MessageFormatError` if dkimpy cannot sign it.
        """
        present = [name for name in header_names(data) if name not in _NEVER_SIGNED]
        include = [*present, *OVERSIGNED_HEADERS]
        try:
            signature = self._dkim.sign(
                data,
                self.selector.encode("ascii"),
                self.domain.encode("ascii"),
                self._key,
                canonicalize=(b"relaxed", b"relaxed"),
                include_headers=[name.encode("ascii") for name in include],
            )
        except (self._dkim.DKIMException, UnicodeError) as exc:
            raise MessageFormatError(f"DKIM signing failed: {type(exc).__name__}") from exc
        return bytes(signature) + data
