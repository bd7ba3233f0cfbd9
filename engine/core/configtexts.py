"""Texts of config.yaml that every message carries, checked at load.

The sender's postal address (marketing law asks for it in every e-mail), its From
address and the base of every link (``List-Unsubscribe`` included) are printed into
each message. Left empty, or a base URL without a scheme and host, they loaded
without a word and every message went out without them or with links that open
nothing; a closed configuration refuses them at their FILE:LINE instead.
"""

from __future__ import annotations

import os
import re
from email.utils import getaddresses, parseaddr
from pathlib import Path
from typing import Annotated
from urllib.parse import parse_qs, urlsplit

from pydantic import AfterValidator, BeforeValidator

from rapport.channels.hosts import is_host
from rapport.engine.core.uri import as_uri

__all__ = [
    "MAX_ADDRESS_CHARS",
    "MAX_SENDER_TEXT_CHARS",
    "DatabaseURL",
    "FromAddress",
    "LinkBase",
    "ListenHost",
    "LocalPath",
    "MailtoAddress",
    "MessageIdDomain",
    "Secret",
    "SenderText",
    "check_listen_host",
]


#: The longest postal address, brand or contact: every message prints them, and a
#: part of a message may hold 100,000 characters in all (template_limits).
MAX_SENDER_TEXT_CHARS = 500
#: The longest e-mail address a mail server takes (RFC 5321 4.5.3.1.3: a path of 256
#: octets, its angle brackets included).
MAX_ADDRESS_CHARS = 254


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError(
            "may not be empty: every message carries it; leave the key out for the default"
        )
    return text


def _sender_text(text: str) -> str:
    _not_blank(text)
    if len(text) > MAX_SENDER_TEXT_CHARS:  # never echoed: it may be kilobytes
        raise ValueError(
            f"is {len(text):,} characters long; every message prints it: write at most "
            f"{MAX_SENDER_TEXT_CHARS} characters"
        )
    return text


def _address_length(address: str) -> None:
    if len(address) > MAX_ADDRESS_CHARS:
        raise ValueError(
            f"the address is {len(address):,} characters long; a mail server takes at most "
            f"{MAX_ADDRESS_CHARS} characters"
        )


def _one_line(text: str) -> str:
    """A header value: CR, LF or NUL in it failed every e-mail at its send, for good."""
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise ValueError(
            "holds a line break or another control character, which no mail header may "
            "carry: write it on one line"
        )
    return text


#: Characters an unquoted local part (before the ``@``) never holds.
_NOT_IN_MAILBOX = frozenset('<>()[]\\,;:"?&#% ')


def _mailbox(address: str) -> bool:
    """Whether ``address`` is one bare address: a local part, ``@``, a host name."""
    local, at, domain = address.rpartition("@")
    return bool(at and local) and not (set(local) & _NOT_IN_MAILBOX) and is_host(domain)


def _from_address(text: str) -> str:
    _not_blank(text)
    _address_length(parseaddr(text)[1])
    _one_line(text)
    if "@" not in parseaddr(text)[1]:
        raise ValueError(f"{text!r} holds no e-mail address (write 'Shop <hello@shop.example>')")
    pairs = getaddresses([text])
    if len(pairs) != 1 or not _mailbox(pairs[0][1]):  # "a@x.org, b@x.org" sent from a alone
        raise ValueError(f"{text!r} is not one e-mail address (write 'Shop <hello@shop.example>')")
    return text


def _message_id_domain(text: str) -> str:
    _not_blank(text)
    if not is_host(text):  # '<id@shop org>' is no Message-ID a provider can compare
        raise ValueError(
            f"{text!r} is not a domain name: every Message-ID ends in it (write the domain "
            "of sender.from_address, e.g. shop.example)"
        )
    return text


def _mailto(text: str) -> str:
    _not_blank(text)
    _address_length(text)
    _one_line(text)
    if not _mailbox(text):
        raise ValueError(
            f"{text!r} is not an e-mail address: List-Unsubscribe carries it as "
            "mailto:ADDRESS (write e.g. unsubscribe@shop.example)"
        )
    return text


#: A user name or password before the host (``//user:password@``), read from the text.
_USERINFO = re.compile(r"//[^/?#]*@")
_CREDENTIALS = (
    "holds a user name or password, which every message would show its reader: "
    "write the address customers open, without them"
)


def _link_base(url: str) -> str:
    """An http(s) URL with a host and neither query nor fragment: every link is this
    URL followed by a path (/unsubscribe/TOKEN), so anything else makes links that
    open nothing. Whether it is HTTPS is checked where it matters (engine/core/baseurl.py)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 (reading it checks the range)
    except ValueError as exc:
        if _USERINFO.search(url):  # not echoed, even in a URL that does not parse
            raise ValueError(_CREDENTIALS) from None
        raise ValueError(f"{url!r} is not a URL: {exc}") from None
    if parts.username is not None or parts.password is not None:  # not echoed: a secret
        raise ValueError(_CREDENTIALS)
    if any(char.isspace() or ord(char) < 32 or ord(char) == 127 for char in url):
        raise ValueError(
            f"{url!r} holds a space or a control character: links made from it would open nothing"
        )
    host = parts.hostname or ""
    if parts.scheme.lower() not in {"http", "https"} or not is_host(host.strip("[]")):
        raise ValueError(
            f"{url!r} is not an address customers can open: write https:// and the host, "
            "e.g. https://shop.example (every link in messages starts with it)"
        )
    if parts.query or parts.fragment or "?" in url or "#" in url:
        raise ValueError(f"{url!r}: a query or fragment would end up in the middle of links")
    if parts.port == 0:
        raise ValueError(f"{url!r}: port 0 is no port a browser opens; write 1 to 65535, or none")
    if (length := len(as_uri(url))) > MAX_LINK_BASE:
        raise ValueError(
            f"is {length} characters long as a URI: List-Unsubscribe holds it with "
            "/unsubscribe/ and a signed token on one line, which past 998 characters no "
            f"e-mail can carry, so every marketing e-mail would fail; at most {MAX_LINK_BASE}"
        )
    return url


#: The longest ``web.base_url`` (as a URI): List-Unsubscribe's line then stays within
#: e-mail's 998 characters with the longest token (about 80) and its framing.
MAX_LINK_BASE = 800


def check_listen_host(host: str) -> str:
    """An address to listen on: ``web.host``, ``web.metrics_host``, ``serve --host``.

    Empty, the server listened on every interface of the machine (0.0.0.0 and ::),
    the preference centre and /metrics open to any network it is on, while the
    warning named no address at all. Not a host name (``not a host``), the server
    started and stopped on a DNS error that named no host (exit 3)."""
    if not host.strip() or host != host.strip():
        raise ValueError(
            f"{host!r} is not an address: empty, the server listens on every interface; "
            "write 127.0.0.1 for this machine alone, or 0.0.0.0 if every interface is meant"
        )
    if not is_host(host):
        raise ValueError(
            f"{host!r} is not an address to listen on: write an IP address (127.0.0.1 for "
            "this machine alone, 0.0.0.0 for every interface) or a host name of this machine"
        )
    return host


#: ``web.host`` and ``web.metrics_host``.
ListenHost = Annotated[str, AfterValidator(check_listen_host)]

#: A sender text printed into messages (postal address, brand, contact, ...).
SenderText = Annotated[str, AfterValidator(_sender_text)]
#: ``sender.from_address``: a mailbox, with or without a display name.
FromAddress = Annotated[str, AfterValidator(_from_address)]
#: ``sender.message_id_domain``: a host name.
MessageIdDomain = Annotated[str, AfterValidator(_message_id_domain)]
#: ``sender.unsubscribe_mailto``: a bare address, for ``mailto:`` in List-Unsubscribe.
MailtoAddress = Annotated[str, AfterValidator(_mailto)]
#: ``web.base_url``.
LinkBase = Annotated[str, AfterValidator(_link_base)]


def _path_text(value: object) -> object:
    """A folder or file as written: an empty one would be the config file's own folder
    (``Path("")`` is ``.``), and a space at either end names another file."""
    if not isinstance(value, str | Path) or isinstance(value, bool):
        raise ValueError(
            "expected the path of a file or folder, as text (relative to the config file's folder)"
        )
    if isinstance(value, str) and (not value.strip() or value != value.strip()):
        raise ValueError(
            f"{value!r} names no file or folder: write the path without spaces at either "
            "end (relative to the config file's folder), or leave the key out for the default"
        )
    return value


def _secret(text: str) -> str:
    """A secret written in config.yaml, held to what its variable is (config.py,
    _padded_secrets): compared byte for byte, so a space or line break around it signs
    links another machine refuses; empty, it was reported as a variable 0 characters
    long. The value is never repeated."""
    if not text.strip() or text != text.strip():
        raise ValueError(
            "is empty or starts or ends with a space or a line break: write the secret "
            "alone, or leave the key out (better: set it in the environment)"
        )
    return text


#: ``secret_key`` and the ``web`` tokens.
Secret = Annotated[str, AfterValidator(_secret)]

#: ``campaigns_dir``, ``templates_dir``, ``secret_key_file``.
LocalPath = Annotated[Path, BeforeValidator(_path_text)]

#: The URL schemes (before any ``+driver``) of the databases Rapport runs on.
USABLE_BACKENDS = ("sqlite", "postgresql", "postgres")


UNUSABLE_URL = (
    "not a usable database URL; Rapport runs on sqlite:///PATH or postgresql://USER@HOST:PORT/NAME"
)
NO_DATABASE_NAME = (
    "a PostgreSQL URL names its database: postgresql://USER@HOST:PORT/NAME (without a "
    "name PostgreSQL connects to the one named like the user, such as the maintenance "
    "database postgres, and db upgrade would create Rapport's tables there)"
)
SPACED_URL = (
    "begins or ends with a space or line break: remove it (a SQLite file would be named "
    "with it, beside the real one)"
)
SQLITE_NO_FILE = (
    "a SQLite URL names its file: sqlite:///var/rapport.db (relative) or "
    "sqlite:////srv/rapport/rapport.db (absolute); sqlite:// alone is an in-memory database"
)
SQLITE_HOST = (
    "a SQLite URL names no host: write three slashes and the file's path, "
    "sqlite:///var/rapport.db (relative) or sqlite:////srv/rapport/rapport.db (absolute)"
)


def database_url_problem(url: str) -> str | None:
    """Why ``url`` names no database Rapport runs on, or None: another scheme, a port
    that is no number from 1 to 65535, or a SQLite URL with a host (two slashes,
    ``sqlite://var/rapport.db``, which SQLAlchemy refuses only when it connects).
    The driver is checked when the engine is made: another PostgreSQL driver is a
    usage error, exit 2."""
    if url != url.strip():
        return SPACED_URL
    scheme, found, rest = url.partition("://")
    try:
        port = urlsplit(url).port  # reading it checks it: a number up to 65535
    except ValueError:
        return UNUSABLE_URL
    backend = scheme.split("+")[0]
    if not found or backend not in USABLE_BACKENDS or port == 0:
        return UNUSABLE_URL
    if backend == "sqlite" and rest.split("/", 1)[0]:
        return SQLITE_HOST
    if backend == "sqlite" and rest.split("?", 1)[0] == "/":
        return SQLITE_NO_FILE
    if backend == "sqlite" and (unread := _unread_sqlite_parameters(url)):
        return (
            f"SQLite URL parameter {unread[0]!r} is not one the driver reads, which it would "
            f"ignore: it takes {', '.join(_SQLITE_DRIVER)}, and with uri=true "
            f"{', '.join(_SQLITE_URI)}"
        )
    if backend in ("postgresql", "postgres") and not _named_database(url):
        return NO_DATABASE_NAME
    return None


#: What pysqlite reads from a SQLite URL's query, and what SQLite itself reads from it
#: with ``uri=true`` (https://sqlite.org/uri.html); SQLAlchemy ignores anything else
#: with no more than a warning in the log.
_SQLITE_DRIVER: tuple[str, ...] = ("timeout", "isolation_level", "detect_types")
_SQLITE_DRIVER += ("check_same_thread", "cached_statements", "uri")
_SQLITE_URI = ("mode", "cache", "vfs", "immutable", "nolock", "psow", "modeof")


def _unread_sqlite_parameters(url: str) -> list[str]:
    found = parse_qs(urlsplit(url).query, keep_blank_values=True)
    uri = [value.lower() for value in found.get("uri", [])] in (["true"], ["1"])
    known = _SQLITE_DRIVER + (_SQLITE_URI if uri else ())
    return [key for key in found if key not in known]


def _named_database(url: str) -> bool:
    """A PostgreSQL URL names its database (in its path or ``?dbname=``), or
    PGDATABASE does, as libpq reads it."""
    parts = urlsplit(url)
    named = any(value.strip() for value in parse_qs(parts.query).get("dbname", []))
    return bool(parts.path.strip("/") or named or os.environ.get("PGDATABASE"))


def _database_url(url: str) -> str:
    """A URL of a database Rapport runs on, checked when the file is read so that
    `campaigns validate` reports it at its line."""
    if problem := database_url_problem(url):
        raise ValueError(problem)
    return url


DatabaseURL = Annotated[str, AfterValidator(_database_url)]
