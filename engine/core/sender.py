"""How the sender names itself per locale: the From display name and the SMS signature.

Both come from the ``sender`` section of the configuration
(:class:`~rapport.engine.core.config.SenderConfig`) as mappings from a locale tag to a
text, looked up most specific first (``fa_IR``, then ``fa``); a locale without an
entry gets the default.

* ``sender.from_name``: the display name of the ``From`` header of an e-mail to a
  customer of that locale; by default the display name of ``sender.from_address``
  (the brand). Configure a transliteration (``fa: رپورت``) only if the brand uses it.
* ``sender.sms_signature``: how an SMS the product writes itself names the brand (the
  keyword replies, the reply-YES text) and what campaign SMS templates get as
  ``sender.sms_signature``; ``{brand}`` stands for ``sender.brand``. By default
  ``【{brand}】`` for Chinese, whose carriers expect the bracketed signature as the
  first thing in a text, and ``{brand}`` elsewhere. Where it stands is the text's
  business, by language: first for Chinese (``【Rapport】您已退订…``), first followed by a
  colon for English (``Rapport: You are unsubscribed…``), and *after* the text for
  Persian and Arabic, so that an RTL text starts with a right-to-left letter and the
  phone lays it out right to left (``…را بفرستید. Rapport``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from email.utils import parseaddr
from typing import TYPE_CHECKING, Annotated

from pydantic import AfterValidator

from rapport.engine.core.i18n import locale_candidates

if TYPE_CHECKING:
    from rapport.engine.core.config import SenderConfig

__all__ = [
    "DEFAULT_SMS_SIGNATURES",
    "MAX_FROM_NAME_CHARS",
    "MAX_SMS_SIGNATURE_CHARS",
    "SMSSignatures",
    "SenderTexts",
    "check_sender_texts",
    "check_sms_signatures",
    "for_locale",
    "from_header",
    "sms_signature",
]

#: The longest ``from_name`` (a display name: mail clients show a few dozen characters)
#: and ``sms_signature`` (it opens every SMS, whose first segment holds 70 UCS-2 ones).
MAX_FROM_NAME_CHARS = 200
MAX_SMS_SIGNATURE_CHARS = 40

#: ``sender.sms_signature`` when the configuration says nothing for a language.
DEFAULT_SMS_SIGNATURES: dict[str, str] = {"zh": "【{brand}】"}


def for_locale(mapping: Mapping[str, str], locale: str | None) -> str | None:
    """The entry for ``locale``, most specific tag first, with the script CLDR gives it:
    'zh-TW' tries zh_TW, zh_Hant_TW, zh_Hant, zh. Keys and tags compare
    case-insensitively, '-' and '_' alike."""
    if not mapping or not locale:
        return None
    keys = {key.replace("-", "_").lower(): value for key, value in mapping.items()}
    for candidate in locale_candidates(locale):  # zh_TW: zh_TW, zh_Hant_TW, zh_Hant, zh
        found = keys.get(candidate.lower())
        if found is not None:
            return found
    return None


@functools.lru_cache(maxsize=64)
def _address_of(from_address: str) -> str:
    """The address of a ``From`` value, parsed once (the dispatcher asks per e-mail)."""
    return parseaddr(from_address)[1]


def from_header(sender: SenderConfig, locale: str | None) -> str:
    """The ``From`` value for an e-mail to a customer of ``locale``:
    ``"<display name>" <address>``, the display name from ``sender.from_name``."""
    name = for_locale(sender.from_name, locale)
    address = _address_of(sender.from_address)
    if not name or not address:
        return sender.from_address  # its own display name (the brand), if it has one
    escaped = name.replace("\\", "\\\\").replace('"', '\\"')
    return f'"{escaped}" <{address}>'


def sms_signature(sender: SenderConfig, locale: str | None) -> str:
    """How an SMS to a customer of ``locale`` names the brand: '【Rapport】' for zh."""
    signature = for_locale(sender.sms_signature, locale)
    if signature is None:
        signature = for_locale(DEFAULT_SMS_SIGNATURES, locale) or "{brand}"
    return signature.replace("{brand}", sender.brand)


def check_sender_texts(mapping: dict[str, str], most: int = MAX_FROM_NAME_CHARS) -> dict[str, str]:
    """A ``from_name`` or ``sms_signature`` mapping: non-empty one-line texts of at most
    ``most`` characters, keyed by a locale tag (ValueError otherwise, naming the key)."""
    for key, text in mapping.items():
        if not key.replace("-", "_").replace("_", "").isalnum():
            raise ValueError(f"{key!r} is not a locale tag (fa, zh, zh_Hant, en_GB ...)")
        if not text.strip() or not text.replace("\u200c", "").isprintable():  # ZWNJ is Persian
            raise ValueError(f"{key}: give a non-empty text on one line, without controls")
        if len(text) > most:
            raise ValueError(f"{key}: {len(text):,} characters; write at most {most}")
    return mapping


def check_sms_signatures(mapping: dict[str, str]) -> dict[str, str]:
    """``sender.sms_signature``: as :func:`check_sender_texts`, and no brace but those of
    ``{brand}``: a misspelt placeholder (``【{brnd}】``) was sent as written in every SMS."""
    for key, text in check_sender_texts(mapping, MAX_SMS_SIGNATURE_CHARS).items():
        if "{" in text.replace("{brand}", "") or "}" in text.replace("{brand}", ""):
            raise ValueError(
                f"{key}: {text!r} holds a brace that is not part of {{brand}}, the one "
                "placeholder (sender.brand): write {brand}, or the brand itself"
            )
    return mapping


#: ``sender.from_name``.
SenderTexts = Annotated[dict[str, str], AfterValidator(check_sender_texts)]
#: ``sender.sms_signature``.
SMSSignatures = Annotated[dict[str, str], AfterValidator(check_sms_signatures)]
