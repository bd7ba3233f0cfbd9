"""Finding customers by an e-mail address a person typed, the way import stores it.

Import keeps :func:`~rapport.engine.customers.fields.sendable_email`'s normalised form:
Unicode NFC, the domain as email-validator maps it (IDNA / UTS 46: ``BÜCHER.de`` and
the punycode ``xn--bcher-kva.de`` are both stored as ``bücher.de``), the part before
the ``@`` as written. A typed address goes through the same normalisation
(:func:`address_key`), so a decomposed ``é``, an upper-case or punycode domain find
the stored address; the parts before the ``@`` then compare ignoring case (Python's
Unicode lower case: ``Ünsal`` and ``ünsal`` are one person, as mail providers treat
them), the domains exactly.

The match is decided here, in Python, never by SQL's ``lower()``: SQLite folds only
ASCII and PostgreSQL folds by the database's locale, so the same query would find
different customers on the two databases. SQL only narrows the candidates with a
pattern both databases read alike: the typed address with every cased non-ASCII
letter a wildcard and ASCII compared without case; a stored address that matches
by :func:`address_key` always matches the pattern. (One letter escapes the pattern:
a stored Turkish dotted ``İ`` typed as ``i`` plus a combining dot.)
"""

from __future__ import annotations

from dataclasses import dataclass

import idna
from sqlalchemy import Connection, or_, select

from rapport.engine.core.models import CUSTOMER
from rapport.engine.customers import fields

_LIKE_SPECIAL = str.maketrans({"\\": "\\\\", "%": "\\%", "_": "\\_"})


@dataclass(frozen=True, slots=True)
class AddressKey:
    """A typed or stored address as compared: local part lower-cased, domain normalised."""

    local: str
    domain: str
    #: The domain's ASCII (punycode) form, for rows stored before import normalised.
    ascii_domain: str

    @property
    def key(self) -> str:
        return f"{self.local}@{self.domain}"


def address_key(value: str) -> AddressKey | None:
    """The comparable form of an address, or None when import would refuse it."""
    try:
        normalized = fields.email(value.strip())
    except fields.FieldInvalid:
        return None
    local, _, domain = normalized.rpartition("@")
    try:
        ascii_domain = idna.encode(domain, uts46=True).decode("ascii")
    except idna.IDNAError:
        ascii_domain = domain
    return AddressKey(local.lower(), domain, ascii_domain)


def _pattern(local: str, domain: str) -> str:
    """A LIKE pattern every stored spelling of the address matches (see the module doc)."""
    parts: list[str] = []
    for char in local:
        if char.isascii() or char.lower() == char.upper():
            parts.append(char.translate(_LIKE_SPECIAL))
        elif not parts or parts[-1] != "%":
            parts.append("%")
    return "".join(parts) + "@" + domain.translate(_LIKE_SPECIAL)


@dataclass(frozen=True, slots=True)
class Found:
    id: str
    first_name: str
    locale: str
    last_name: str = ""
    #: The address as stored (dispatch compares exact strings).
    email: str = ""


def customers_by_email(connection: Connection, typed: str) -> list[Found]:
    """Customers (not erased) whose stored address is the typed one, oldest id first."""
    wanted = address_key(typed)
    if wanted is None:
        return []
    domains = dict.fromkeys((wanted.domain, wanted.ascii_domain))
    rows = connection.execute(
        select(
            CUSTOMER.c.id,
            CUSTOMER.c.first_name,
            CUSTOMER.c.last_name,
            CUSTOMER.c.locale,
            CUSTOMER.c.email,
        )
        .where(
            or_(
                *(
                    CUSTOMER.c.email.ilike(_pattern(wanted.local, domain), escape="\\")
                    for domain in domains
                )
            ),
            CUSTOMER.c.erased_at.is_(None),
        )
        .order_by(CUSTOMER.c.id)
    )
    return [
        Found(row.id, row.first_name, row.locale, row.last_name, row.email)
        for row in rows
        if _same(row.email, wanted)
    ]


def _same(stored: str | None, wanted: AddressKey) -> bool:
    found = address_key(stored) if stored else None
    return found is not None and found.key == wanted.key
