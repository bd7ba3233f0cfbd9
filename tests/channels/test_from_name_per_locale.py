"""The From display name of an e-mail is the one configured for the customer's locale.

Issue 17, point 6: ``sender.from_name`` maps a locale to a display name (most specific
tag first, then the language); a locale without one keeps ``sender.from_address`` as it
is written. The message is built as the dispatcher builds it
(:func:`~rapport.engine.delivery.outgoing.build_outgoing`) and serialised by the MIME
writer, and the From header is read back with the standard library's parser.
"""

from __future__ import annotations

from datetime import UTC, datetime
from email import policy
from email.parser import BytesParser

import pytest
from pydantic import ValidationError

from rapport.channels.mime import build_email
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.sender import for_locale, from_header, sms_signature
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.fence import Recipient, Verdict
from rapport.engine.delivery.outgoing import build_outgoing

NOW = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)
SETTINGS = Settings(
    sender={
        "from_address": "Rapport <hello@example.com>",
        "from_name": {"fa": "رپورت", "zh": "Rapport 乐享", "zh_Hant": "Rapport 樂享"},
    }
)


def sent_from(locale: str, settings: Settings = SETTINGS) -> tuple[str, str]:
    """(display name, address) of the From header of a message to a ``locale`` customer."""
    claimed = Claimed(
        id=1,
        idempotency_key="k1",
        customer_id="c1",
        campaign="birthday",
        channel="email",
        topic="birthday",
        locale=locale,
        subject="subject",
        body_text="text",
        body_html=None,
        send_at=NOW,
        expires_at=None,
        attempts=0,
        transactional=True,
    )
    verdict = Verdict(
        recipient=Recipient("c1@example.com", None, "Sara", "Ahmadi", locale),
        address="c1@example.com",
    )
    outgoing = build_outgoing(claimed, verdict, "email", settings, Signer("k"), set())
    raw = build_email(outgoing, "fallback@example.com", date=NOW)
    parsed = BytesParser(policy=policy.default).parsebytes(raw)
    [address] = parsed["From"].addresses
    return address.display_name, address.addr_spec


@pytest.mark.parametrize(
    ("locale", "name"),
    [
        ("fa_IR", "رپورت"),
        ("fa", "رپورت"),
        ("zh_Hans_CN", "Rapport 乐享"),
        ("zh-Hant-TW", "Rapport 樂享"),
        ("en", "Rapport"),
        ("ar", "Rapport"),
    ],
)
def test_the_from_display_name_is_the_locales(locale: str, name: str) -> None:
    assert sent_from(locale) == (name, "hello@example.com")


def test_without_names_every_locale_gets_the_from_address_as_written() -> None:
    plain = Settings(sender={"from_address": "Shop <shop@example.com>"})
    assert from_header(plain.sender, "fa_IR") == "Shop <shop@example.com>"
    assert sent_from("fa_IR", plain) == ("Shop", "shop@example.com")
    assert sent_from("zh", Settings()) == ("Rapport", "hello@example.com")


def test_a_display_name_with_specials_is_quoted_not_split() -> None:
    odd = Settings(sender={"from_name": {"en": 'Rapport, "The Shop" <UK>'}})
    assert sent_from("en_GB", odd) == ('Rapport, "The Shop" <UK>', "hello@example.com")


def test_locale_lookup_is_most_specific_first_and_ignores_case_and_separators() -> None:
    names = {"zh": "a", "zh-hant": "b", "ZH_Hant_HK": "c"}
    assert for_locale(names, "zh_Hant_HK") == "c"
    assert for_locale(names, "zh-Hant-TW") == "b"
    assert for_locale(names, "zh_Hans_CN") == "a"
    assert for_locale(names, "en") is None


def test_sms_signatures_default_to_brackets_for_chinese_and_the_brand_elsewhere() -> None:
    sender = Settings(sender={"brand": "Shop"}).sender
    assert sms_signature(sender, "zh_Hans_CN") == "【Shop】"
    assert sms_signature(sender, "fa_IR") == "Shop"
    assert sms_signature(sender, "en") == "Shop"
    custom = Settings(sender={"brand": "Shop", "sms_signature": {"fa": "{brand} ایران"}}).sender
    assert sms_signature(custom, "fa_IR") == "Shop ایران"


@pytest.mark.parametrize(
    "names",
    [{"fa": "line\nbreak"}, {"fa": "  "}, {"../x": "Rapport"}, {"fa": "a\u202eb"}],
)
def test_a_name_that_cannot_be_a_header_or_a_locale_is_refused_at_load(
    names: dict[str, str],
) -> None:
    with pytest.raises(ValidationError):
        Settings(sender={"from_name": names})
    with pytest.raises(ValidationError):
        Settings(sender={"sms_signature": names})
