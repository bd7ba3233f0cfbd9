"""Numbers in Persian and Arabic: CLDR's digits, minus sign and percent sign.

Babel substitutes a locale's separators but prints a pattern's ``-`` and ``%`` as
written, so a Persian -5 came out with a hyphen. Here every negative number must be
Babel's own format with CLDR's symbols in place (``\\u200e−`` in Persian, ``\\u061c-``
in Egyptian Arabic) and the locale's digits, as CLDR (and ICU) write it.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from babel import Locale
from babel import numbers as babel_numbers

from rapport.engine.core.i18n import DIGITS, numbering_system
from rapport.engine.rendering.formats import LocaleFormats

LOCALES = ["fa", "fa_IR", "ar", "ar_EG", "ar_SA", "ar_MA"]
VALUES = [-5, -1234.5, Decimal("-1500000"), Decimal("-0.25"), -0.001]


def cldr(text: str, locale: str) -> str:
    """Babel's text with the pattern's symbols and digits as the locale's CLDR data has them."""
    system = numbering_system(locale)
    symbols = Locale.parse(locale).number_symbols[system]
    for char, name in (("-", "minusSign"), ("%", "percentSign")):
        text = text.replace(char, symbols[name])
    return text.translate(str.maketrans("0123456789", DIGITS[system]))


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("value", VALUES)
def test_negative_numbers_use_cldr_s_minus_sign(locale: str, value: int | float | Decimal) -> None:
    formats = LocaleFormats(Locale.parse(locale))
    system = numbering_system(locale)
    babel = babel_numbers.format_decimal(value, locale=locale, numbering_system=system)
    assert formats.format_decimal(value) == cldr(babel, locale)
    minus = babel_numbers.get_minus_sign_symbol(locale, numbering_system=system)
    assert formats.format_decimal(value).startswith(minus)
    assert formats.format_decimal(-value) == cldr(
        babel_numbers.format_decimal(-value, locale=locale, numbering_system=system), locale
    )
    currency = babel_numbers.format_currency(value, "USD", locale=locale, numbering_system=system)
    assert formats.format_currency(value, "USD") == cldr(currency, locale)
    # Unrounded: a percentage keeps its decimals (see test_a_percentage_is_not_rounded...).
    percent = babel_numbers.format_percent(
        value, locale=locale, numbering_system=system, decimal_quantization=False
    )
    assert formats.format_percent(value) == cldr(percent, locale)


def test_the_persian_and_egyptian_minus_signs() -> None:
    assert LocaleFormats(Locale.parse("fa")).format_decimal(-5) == "\u200e\u2212۵"
    assert LocaleFormats(Locale.parse("fa")).format_percent(-0.15) == "\u200e\u2212۱۵٪"
    assert LocaleFormats(Locale.parse("ar_EG")).format_decimal(-5) == "\u061c-٥"
    # CLDR gives plain Arabic Western digits (and a left-to-right mark before its minus).
    assert LocaleFormats(Locale.parse("ar")).format_decimal(-5) == "\u200e-5"
    assert LocaleFormats(Locale.parse("en")).format_decimal(-5) == "-5"


def test_quoted_text_in_a_pattern_stays_as_written() -> None:
    formats = LocaleFormats(Locale.parse("fa"))
    assert formats.format_decimal(-5, "'-'#;'-'-#") == "-\u200e\u2212۵"


@pytest.mark.parametrize(
    ("locale", "system"),
    [("fa", "arabext"), ("fa_AF", "arabext"), ("ar_EG", "arab"), ("ar_SA", "arab")],
)
def test_persian_and_arabic_numbers_have_only_their_own_digits(locale: str, system: str) -> None:
    formats = LocaleFormats(Locale.parse(locale))
    own = set(DIGITS[system])
    other_digits = set("".join(DIGITS.values())) - own
    for text in (
        formats.format_decimal(-1234567.89),
        formats.format_currency(Decimal("-1500000"), "IRR"),
        formats.format_percent(-0.155),
        formats.format_timedelta(3 * 86400),
    ):
        assert own & set(text), text
        assert not other_digits & set(text), text


def test_a_page_may_ask_for_another_numbering_system() -> None:
    # The Arabic pages use ar's Western digits, or an ar_EG customer's Arabic-Indic ones.
    assert LocaleFormats(Locale.parse("ar"), numbering="arab").format_decimal(-1500) == (
        "\u061c-١٬٥٠٠"
    )
    assert LocaleFormats(Locale.parse("ar"), numbering="latn").format_decimal(-1500) == (
        "\u200e-1,500"
    )


@pytest.mark.parametrize(
    ("locale", "value", "expected"),
    [
        ("en", Decimal("0.125"), "12.5%"),
        ("fa", Decimal("0.125"), "۱۲٫۵٪"),
        ("zh", Decimal("0.125"), "12.5%"),
        ("en", Decimal("0.005"), "0.5%"),
        ("fa", Decimal("0.005"), "۰٫۵٪"),
        ("en", Decimal("0.995"), "99.5%"),
        ("fa", Decimal("0.995"), "۹۹٫۵٪"),
        ("en", Decimal("0.15"), "15%"),
        ("fa", 0.2, "۲۰٪"),
        ("en", 1 / 3, "33.33%"),
    ],
)
def test_a_percentage_is_not_rounded_to_another_offer(
    locale: str, value: Decimal | float, expected: str
) -> None:
    # A 12.5% discount printed '12%' ('۱۲٪'), 0.5% '0%' and 99.5% '100%' (all but free):
    # CLDR's percent pattern has no decimals, so a percentage keeps up to two.
    assert LocaleFormats(Locale.parse(locale)).format_percent(value) == expected
