"""SMS segment counting against a table of reference cases (acceptance 4).

The expected values are what carriers bill: 160 / 153 septets for GSM-7, 70 / 67
UTF-16 code units for UCS-2, extension characters counting two, and neither an
escape pair nor a surrogate pair ever split across two segments. The Persian and
Chinese sentences are taken from the project's seed texts (real marketing prose,
not lorem ipsum), so the count is checked on text customers actually get.
"""

from __future__ import annotations

import pytest

from rapport.engine.rendering.sms_encoding import (
    GSM7_BASIC,
    GSM7_EXTENSION,
    SMSCount,
    count_sms,
    non_gsm_characters,
    sms_encoding,
)

#: shared/seeds/000_*.txt, its 4th sentence: "Listening to the customer is very
#: important in customer relationship management."
PERSIAN = "گوش سپردن به مشتری در مدیریت روابط با مشتری بسیار مهم است."
#: shared/seeds/000_*.txt, its opening words (exactly 200 characters).
PERSIAN_LONG = (
    "رؤیای هر بازاریاب برقراری ارتباط صمیمانه و قوی با مشتری است و چنین رابطهای اغلب"
    " کلید موفقیت در بازاریابی بلندمدت است. شرکتی که در پی ایجاد اینگونه پیوندهاست"
    " باید به بعضی امور خاص توجه داشته باشد. گروه"
)
#: shared/seeds/003_*.txt, the first sentence of the definition paragraph.
CHINESE = (
    "客户关系维护策略是指企业为保持与客户之间的良好关系,"
    "提升客户满意度和忠诚度而采取的一系列措施和方法。"
)
#: shared/seeds/003_*.txt, the whole definition paragraph (144 characters).
CHINESE_LONG = (
    CHINESE
    + "随着市场竞争的加剧以及消费者需求的多样化,企业在客户关系管理中的策略也变得越来越重要。"
    "本文将从多个角度深入探讨客户关系维护策略的定义、背景、应用、方法以及在主流领域和专业文献中的相关内容。"
)

REFERENCE = [
    # (case, text, encoding, units, segments)
    ("70 GSM characters", "a" * 70, "GSM-7", 70, 1),
    ("71 GSM characters", "a" * 71, "GSM-7", 71, 1),
    ("160 GSM characters: the most one message holds", "a" * 160, "GSM-7", 160, 1),
    ("161 GSM characters: two segments", "a" * 161, "GSM-7", 161, 2),
    ("306 GSM characters: 2 x 153", "a" * 306, "GSM-7", 306, 2),
    ("307 GSM characters", "a" * 307, "GSM-7", 307, 3),
    ("70 UCS-2 characters: the most one message holds", "ب" * 70, "UCS-2", 70, 1),
    ("71 UCS-2 characters: two segments", "ب" * 71, "UCS-2", 71, 2),
    ("134 UCS-2 characters: 2 x 67", "ب" * 134, "UCS-2", 134, 2),
    ("135 UCS-2 characters", "ب" * 135, "UCS-2", 135, 3),
    ("a curly quote forces UCS-2", "It’s your birthday!", "UCS-2", 19, 1),
    ("a curly quote in 71 characters", "’" + "a" * 70, "UCS-2", 71, 2),
    ("the straight quote stays GSM-7", "It's your birthday!", "GSM-7", 19, 1),
    ("an emoji forces UCS-2 and counts two", "Happy birthday 🎂", "UCS-2", 17, 1),
    ("69 characters and an emoji", "a" * 69 + "🎂", "UCS-2", 71, 2),
    ("an emoji is never split", "a" * 66 + "🎂" + "a" * 66, "UCS-2", 134, 3),
    ("{ counts two", "{", "GSM-7", 2, 1),
    ("159 characters and {", "a" * 159 + "{", "GSM-7", 161, 2),
    ("80 x { fill one message", "{" * 80, "GSM-7", 160, 1),
    ("€ counts two", "Only 5€ today", "GSM-7", 14, 1),
    ("159 characters and €", "€" + "a" * 159, "GSM-7", 161, 2),
    ("an escape pair is never split", "a" * 152 + "€" + "a" * 152, "GSM-7", 306, 3),
    ("every extension character", "^{}\\[~]|€\f", "GSM-7", 20, 1),
    ("GSM's own accented letters", "Ça va? Øre, straße, año", "GSM-7", 23, 1),
    ("Persian text", PERSIAN, "UCS-2", 58, 1),
    ("200 characters of Persian", PERSIAN_LONG, "UCS-2", 200, 3),
    ("Chinese text", CHINESE, "UCS-2", 50, 1),
    ("144 characters of Chinese", CHINESE_LONG, "UCS-2", 144, 3),
    ("a CJK ideograph outside the BMP counts two", "𠀋" * 35, "UCS-2", 70, 1),
    ("an empty text still costs a message", "", "GSM-7", 0, 1),
]


@pytest.mark.parametrize(
    ("text", "encoding", "units", "segments"),
    [case[1:] for case in REFERENCE],
    ids=[case[0] for case in REFERENCE],
)
def test_reference_cases(text: str, encoding: str, units: int, segments: int) -> None:
    assert count_sms(text) == SMSCount(encoding, units, segments)  # type: ignore[arg-type]
    assert sms_encoding(text) == encoding


def test_the_result_unpacks_as_encoding_units_segments() -> None:
    encoding, units, segments = count_sms("Reply STOP to opt out")
    assert (encoding, units, segments) == ("GSM-7", 21, 1)


def test_the_alphabet_is_the_gsm_default_table() -> None:
    # 128 codes, one of which (0x1B) is the escape into the extension table.
    assert len(GSM7_BASIC) == 127 and len(GSM7_EXTENSION) == 10
    assert not GSM7_BASIC & GSM7_EXTENSION
    assert {"\n", "\r", " ", "@", "£", "¥", "¤", "Δ", "ß"} <= GSM7_BASIC
    # Lookalikes that are *not* in it, and so cost a message its GSM-7 encoding.
    assert not {"`", "’", "“", "–", "…", "\t", "ç"} & (GSM7_BASIC | GSM7_EXTENSION)


def test_non_gsm_characters_name_what_forces_ucs2() -> None:
    assert non_gsm_characters("It’s “great” – isn’t it?") == ["’", "“", "”", "–"]
    assert non_gsm_characters("Only 5€ {today}") == []


def test_the_docstring_examples_hold() -> None:
    import doctest

    from rapport.engine.rendering import sms_encoding

    assert doctest.testmod(sms_encoding).failed == 0
