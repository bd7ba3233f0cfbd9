"""Every signed link a customer is sent: preferences, unsubscribe, confirm, feedback.

Each purpose has its own salt (:class:`rapport.consent.tokens.Purpose`), so a token made
for one page opens no other; all links are built here so that the URL shapes the web
app answers and the links messages carry cannot drift apart.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection

from rapport.consent.tokens import Purpose, Signer, TokenClaims
from rapport.engine.core.config import Settings
from rapport.engine.core.uri import a_label, as_uri, uri_text

#: The signed links a message context offers its templates (``links.<name>``).
LINKS = ("preferences", "unsubscribe", "feedback")


def page_url(settings: Settings, page: str, token: str) -> str:
    """The URL of the web app's ``page`` (``preferences``, ``unsubscribe``, ``confirm``,
    ``feedback``) for ``token``: the one place the link shape is written."""
    return f"{settings.web.base_url.rstrip('/')}/{page}/{token}"


def links_for(
    customer_id: str,
    channel: str | None,
    settings: Settings,
    signer: Signer,
    wanted: Collection[str] = ("preferences", "unsubscribe"),
) -> dict[str, str]:
    """Signed preference and one-click unsubscribe links for a customer (those of
    them in ``wanted``: signing is a large share of building a context)."""
    claims = TokenClaims(customer_id=customer_id, channel=channel)
    links = {}
    if "preferences" in wanted:
        token = signer.sign(Purpose.PREFERENCES, claims)
        links["preferences"] = page_url(settings, "preferences", token)
    if "unsubscribe" in wanted:
        token = signer.sign(Purpose.UNSUBSCRIBE, claims)
        links["unsubscribe"] = page_url(settings, "unsubscribe", token)
    return links


def unsubscribe_headers(
    customer_id: str, channel: str, settings: Settings, signer: Signer
) -> dict[str, str]:
    """RFC 2369 / RFC 8058 headers: an HTTPS one-click URL and a mailto alternative.

    Both are URIs, ASCII whatever script ``web.base_url`` or the mailbox is written in
    (:mod:`rapport.engine.core.uri`): a header holding an IRI is sent as encoded-words,
    which no mailbox provider reads back as a URL."""
    link = links_for(customer_id, channel, settings, signer, ("unsubscribe",))["unsubscribe"]
    token = link.rsplit("/", 1)[-1]
    local, _, domain = settings.sender.unsubscribe_mailto.rpartition("@")
    mailto = f"mailto:{uri_text(local)}@{a_label(domain)}?subject=unsubscribe%20{token}"
    link = as_uri(link)
    return {
        "List-Unsubscribe": f"<{link}>, <{mailto}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }


def confirm_link(
    customer_id: str, settings: Settings, signer: Signer, address: str | None = None
) -> str:
    """The double opt-in link that turns a customer's pending e-mail grants into grants,
    for as long as the customer's address is ``address``, the one it is mailed to (a
    digest of it rides in the token's ``topic`` slot: see :func:`mailed_to`)."""
    digest = address_digest(address) if address else None
    token = signer.sign(Purpose.CONFIRM, TokenClaims(customer_id, "email", digest))
    return page_url(settings, "confirm", token)


def address_digest(address: str) -> str:
    """A short digest of an e-mail address, the same for every case of its letters (a
    sync may rewrite ``Nora@`` as ``nora@``): enough to tell a replaced address, and
    no address in the link."""
    return hashlib.sha256(address.strip().casefold().encode("utf-8")).hexdigest()[:16]


def mailed_to(claims: TokenClaims, address: str | None) -> bool:
    """Whether a confirmation link's claims were made for ``address``, the customer's
    address now. A confirmation proves the mailbox it reached: once the customer's
    address is another, the link confirms nothing. Links made before they named the
    address (no digest) are taken as they were."""
    if claims.topic is None:
        return True
    return address is not None and hmac.compare_digest(claims.topic, address_digest(address))


def feedback_link(
    customer_id: str, occasion: str, channel: str | None, settings: Settings, signer: Signer
) -> str:
    """The signed link to the one-question page for one feedback request (the
    occasion rides in the token's ``topic`` slot, so an answer names its request)."""
    claims = TokenClaims(customer_id=customer_id, channel=channel, topic=occasion)
    return page_url(settings, "feedback", signer.sign(Purpose.FEEDBACK, claims))
