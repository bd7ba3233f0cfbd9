"""List-Unsubscribe carries URIs a mailbox provider can read, whatever script the
operator's web.base_url and unsubscribe mailbox are written in.

RFC 2369 header values are URIs in angle brackets: ASCII. A base URL with an
international host or path (``https://فروشگاه.example/پیوند``) is a valid IRI, fine in
the body's links, but written as is into the header it became RFC 2047 encoded-words,
which no mailbox provider reads back as a URL: the one-click button and the mailto
alternative were gone. The header now holds the same addresses as URIs: the host as its
IDNA A-label, anything else non-ASCII percent-encoded as UTF-8 (RFC 3987 3.1, RFC 6068).
"""

from __future__ import annotations

from email import policy
from email.parser import BytesParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import idna

from rapport.channels.base import OutgoingMessage
from rapport.channels.mime import build_email
from rapport.consent.links import links_for, unsubscribe_headers
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings

SECRET = "s" * 40


def _settings(tmp_path: Path) -> Settings:
    return Settings(
        base_dir=tmp_path,
        web={"base_url": "https://فروشگاه.example/پیوند"},
        sender={"unsubscribe_mailto": "لغو@فروشگاه.example"},
    )


def _list_unsubscribe(headers: dict[str, str]) -> tuple[bytes, list[str]]:
    """The raw header line(s) as sent, and the URIs the parsed value holds."""
    wire = build_email(
        OutgoingMessage(
            idempotency_key="k1", kind="email", to="arash@example.com", text="hi", headers=headers
        ),
        "Shop <shop@example.com>",
    )
    head = wire.split(b"\r\n\r\n", 1)[0]
    raw = head.split(b"List-Unsubscribe:", 1)[1].split(b"\r\nList-Unsubscribe-Post", 1)[0]
    message = BytesParser(policy=policy.default).parsebytes(wire)
    value = str(message["List-Unsubscribe"])
    return raw, [part.strip().strip("<>") for part in value.split(",")]


def test_list_unsubscribe_of_an_international_base_url_is_ascii_uris(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    raw, uris = _list_unsubscribe(unsubscribe_headers("c-1", "email", settings, Signer(SECRET)))

    assert raw.isascii() and b"=?" not in raw
    https, mailto = uris
    assert https.startswith("https://xn--")
    assert mailto.startswith("mailto:%D9%84%D8%BA%D9%88@xn--")


def test_the_one_click_uri_opens_the_page_the_body_links_to(tmp_path: Path) -> None:
    settings = _settings(tmp_path)
    signer = Signer(SECRET)
    _, (https, _mailto) = _list_unsubscribe(unsubscribe_headers("c-1", "email", settings, signer))

    body_link = links_for("c-1", "email", settings, signer, ("unsubscribe",))["unsubscribe"]
    parts = urlsplit(https)
    host = idna.decode(parts.hostname or "")
    assert f"{parts.scheme}://{host}{unquote(parts.path)}" == body_link


def test_a_host_idna_refuses_is_percent_encoded_in_list_unsubscribe(tmp_path: Path) -> None:
    settings = Settings(base_dir=tmp_path, web={"base_url": "https://🎉.example"})
    raw, (https, _mailto) = _list_unsubscribe(
        unsubscribe_headers("c-1", "email", settings, Signer(SECRET))
    )

    assert raw.isascii() and b"=?" not in raw
    assert https.startswith("https://%F0%9F%8E%89.example/unsubscribe/")
