"""Whether the sender an operator configured is their own, not the shipped example.

Every e-mail carries ``sender.from_address``, the ``mailto:`` form of List-Unsubscribe
(``sender.unsubscribe_mailto``, RFC 2369), a contact and a postal address in its
footer, and Message-IDs at ``sender.message_id_domain``. The shipped values are
placeholders at domains reserved for examples (RFC 2606, RFC 6761): no mail is
delivered to them, so an unsubscribe request by e-mail is lost (the law requires it to
work), replies go nowhere, and mail "from" a domain the operator does not hold fails
SPF and DMARC at every receiver. The example postal address fails the requirement of
a valid physical postal address (CAN-SPAM) in every footer.

Like a plain-HTTP ``web.base_url`` (:mod:`rapport.engine.core.baseurl`) and a short
secret (:mod:`rapport.engine.core.secretcheck`), this is a warning on a trial set-up
and refused with ``production: true``.
"""

from __future__ import annotations

from email.utils import parseaddr

from rapport.engine.core.config import SenderConfig, Settings

__all__ = ["RESERVED_DOMAINS", "placeholder_sender"]

#: Domains reserved for documentation and testing, with everything under them
#: (RFC 2606 section 2 and 3, RFC 6761 section 6): mail to or from them reaches nobody.
RESERVED_DOMAINS = frozenset(
    {"example", "example.com", "example.net", "example.org", "test", "invalid", "localhost"}
)

#: Postal addresses shipped as examples: the setting's default and config.yaml's sample.
EXAMPLE_POSTAL_ADDRESSES = frozenset(
    {
        str(SenderConfig.model_fields["postal_address"].default),
        "Rapport Ltd, 1 Example Street, London EC1A 1AA, United Kingdom",
    }
)


def reserved(domain: str) -> bool:
    """Whether ``domain`` is one of :data:`RESERVED_DOMAINS` or under one."""
    labels = domain.strip().rstrip(".").lower().split(".")
    return any(".".join(labels[i:]) in RESERVED_DOMAINS for i in range(len(labels)))


def _domain_of(address: str) -> str | None:
    """The domain of an e-mail address (a display name may come with it), or None."""
    _, bare = parseaddr(address)
    return bare.rpartition("@")[2] if "@" in bare else None


def placeholder_sender(settings: Settings) -> list[str]:
    """Why each sender setting is still an example, one sentence each (none: all fine)."""
    sender = settings.sender
    whys = []
    mailboxes = (
        ("sender.from_address", sender.from_address, "every e-mail is sent from it"),
        ("sender.unsubscribe_mailto", sender.unsubscribe_mailto, "customers unsubscribe to it"),
        ("sender.contact", sender.contact, "messages name it as the contact"),
    )
    for key, value, use in mailboxes:
        domain = _domain_of(value)
        if domain is not None and reserved(domain):
            whys.append(
                f"{key} {value!r} is at {domain}, a domain reserved for examples where no "
                f"mail is delivered: {use}; write an address at a domain you hold"
            )
    if reserved(sender.message_id_domain):
        whys.append(
            f"sender.message_id_domain {sender.message_id_domain!r} is a domain reserved "
            "for examples; write a domain you hold (the one of sender.from_address)"
        )
    if sender.postal_address.strip() in EXAMPLE_POSTAL_ADDRESSES:
        whys.append(
            f"sender.postal_address {sender.postal_address!r} is the shipped example: every "
            "e-mail's footer must give your own postal address"
        )
    return whys
