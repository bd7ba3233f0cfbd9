"""Whether a provider's error text quotes a person, for erasure.

An error quotes the recipient as the provider saw it ("550 5.1.1 <old@...>: Recipient
address rejected", "21211 Invalid 'To' Phone Number: +98..."): the address the message
went to, which a CRM sync may since have replaced. Rapport keeps no history of
addresses, so any e-mail address or phone number in the text counts, beside the
customer's current addresses and names.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

#: Something@something, or a run of seven digits or more (a + and separators allowed).
_ADDRESS_LIKE = re.compile(r"[^\s<>()\[\]\"',;:]+@[^\s<>()\[\]\"',;:]+|\+?\d(?:[\s.()-]?\d){6,}")


def quotes_person(text: str, needles: Sequence[str]) -> bool:
    """Whether ``text`` holds one of ``needles`` (lower-case), or any address-like
    string."""
    folded = text.lower()
    return any(needle in folded for needle in needles) or _ADDRESS_LIKE.search(text) is not None
