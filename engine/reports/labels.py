"""The words and numbers of the HTML report in its language.

The figures name stages, RFM segments and tiers by their ids (``at_risk``,
``potential_loyalist``); the page shows words (``At risk``, ``Potential loyalists``)
from the small table below, in English, Persian, Chinese (simplified and traditional)
and Arabic; any other language falls back to English. A tier or channel id without
an entry is shown with underscores as spaces and a capital first letter (``rouge`` ->
``Rouge``). Numbers and money go through Babel (:class:`LocaleFormats`): thousands
separators, the base currency's symbol and the language's digits; rates are CLDR's
percent pattern with one decimal, in the language's digits, decimal separator and
percent sign (``52.4%``, ``۵۲٫۴٪``). Dates a person reads are in the language's CLDR
formats and calendar, through the template filters' :class:`LocaleFormats`: Solar
Hijri in Persian (``۵ آذر ۱۴۰۵``), Gregorian elsewhere (``Nov 26, 2026``,
``2026年11月26日``). Headings, captions and column names come from
:mod:`rapport.engine.reports.phrases`, keyed by their English text.

The table lives here rather than in the message catalogs: it is the report's own
vocabulary, used by no template.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from decimal import Decimal

from babel import Locale, UnknownLocaleError

from rapport.engine.rendering.formats import LocaleFormats
from rapport.engine.reports.phrases import PHRASES, PLURALS

WORDS: dict[str, dict[str, str]] = {
    "en": {
        "champions": "Champions",
        "loyal": "Loyal",
        "new": "New",
        "potential_loyalist": "Potential loyalists",
        "cant_lose": "Can't lose them",
        "at_risk": "At risk",
        "hibernating": "Hibernating",
        "lost": "Lost",
        "none": "Never ordered",
        "prospect": "Prospects",
        "first_time": "First-time buyers",
        "repeat": "Repeat buyers",
        "lapsed": "Lapsed",
        "no_answers": "no answers",
        "no_data": "No data in this period.",
        "messages_sent": "messages sent",
        "day": "day (UTC)",
        "cohort": "cohort",
        "customers": "customers",
        "email": "E-mail",
        "sms": "SMS",
    },
    "fa": {
        "champions": "قهرمانان",
        "loyal": "وفادار",
        "new": "جدید",
        "potential_loyalist": "وفادارانِ بالقوه",
        "cant_lose": "نباید از دست بروند",
        "at_risk": "در خطر ریزش",
        "hibernating": "خفته",
        "lost": "از دست رفته",
        "none": "بدون سفارش",
        "prospect": "مشتریان بالقوه",
        "first_time": "خرید نخست",
        "repeat": "خرید دوباره",
        "lapsed": "غیرفعال",
        "no_answers": "بدون پاسخ",
        "no_data": "در این دوره داده‌ای نیست.",
        "messages_sent": "پیام‌های فرستاده‌شده",
        "day": "روز (UTC)",
        "cohort": "گروه",
        "customers": "مشتری",
        "email": "ایمیل",
        "sms": "پیامک",
    },
    "zh": {
        "champions": "冠军客户",
        "loyal": "忠诚客户",
        "new": "新客户",
        "potential_loyalist": "潜在忠诚客户",
        "cant_lose": "不能失去的客户",
        "at_risk": "流失风险",
        "hibernating": "休眠客户",
        "lost": "已流失",
        "none": "从未下单",
        "prospect": "潜在客户",
        "first_time": "首次购买",
        "repeat": "复购客户",
        "lapsed": "已失效",
        "no_answers": "暂无回答",
        "no_data": "此期间无数据。",
        "messages_sent": "已发送消息",
        "day": "日期（UTC）",
        "cohort": "同期群",
        "customers": "客户",
        "email": "电子邮件",
        "sms": "短信",
    },
    "zh_Hant": {
        "champions": "冠軍客戶",
        "loyal": "忠誠客戶",
        "new": "新客戶",
        "potential_loyalist": "潛在忠誠客戶",
        "cant_lose": "不能失去的客戶",
        "at_risk": "流失風險",
        "hibernating": "休眠客戶",
        "lost": "已流失",
        "none": "從未下單",
        "prospect": "潛在客戶",
        "first_time": "首次購買",
        "repeat": "回購客戶",
        "lapsed": "已失效",
        "no_answers": "暫無回答",
        "no_data": "此期間無資料。",
        "messages_sent": "已發送訊息",
        "day": "日期（UTC）",
        "cohort": "同期群",
        "customers": "客戶",
        "email": "電子郵件",
        "sms": "簡訊",
    },
    "ar": {
        "champions": "الأبطال",
        "loyal": "الأوفياء",
        "new": "جدد",
        "potential_loyalist": "أوفياء محتملون",
        "cant_lose": "لا يمكن خسارتهم",
        "at_risk": "معرضون للفقد",
        "hibernating": "خاملون",
        "lost": "مفقودون",
        "none": "لم يطلبوا قط",
        "prospect": "عملاء محتملون",
        "first_time": "مشترون لأول مرة",
        "repeat": "مشترون متكررون",
        "lapsed": "منقطعون",
        "no_answers": "لا إجابات",
        "no_data": "لا بيانات في هذه الفترة.",
        "messages_sent": "الرسائل المرسلة",
        "day": "اليوم (UTC)",
        "cohort": "الفوج",
        "customers": "العملاء",
        "email": "البريد الإلكتروني",
        "sms": "الرسائل القصيرة",
    },
}

#: Languages written right to left (the page's ``dir``).
RTL = {"fa", "ar"}


def table_name(locale: Locale) -> str:
    """The key of :data:`WORDS` for a locale: traditional Chinese by script or region."""
    if locale.language == "zh" and (
        locale.script == "Hant" or locale.territory in {"TW", "HK", "MO"}
    ):
        return "zh_Hant"
    return locale.language if locale.language in WORDS else "en"


class Words:
    """The report's vocabulary and number formats in one language."""

    def __init__(self, locale: str = "en") -> None:
        try:
            parsed = Locale.parse(locale.replace("-", "_"))
        except (ValueError, UnknownLocaleError):
            parsed = Locale.parse("en")
        self.language = parsed.language
        self.rtl = parsed.language in RTL
        self._words = WORDS[table_name(parsed)]
        self._phrases = PHRASES.get(table_name(parsed), {})
        self._plurals = PLURALS.get(table_name(parsed), {})
        self._locale = parsed
        self._formats = LocaleFormats(parsed)
        # LocaleFormats writes a Persian date in the Solar Hijri calendar, whose months
        # do not line up with the Gregorian months the figures are grouped by.
        self._solar = parsed.language == "fa"
        self._percent = _with_decimals(parsed.percent_formats[None].pattern, 1)
        self._decimal = _with_decimals(parsed.decimal_formats[None].pattern, 1)

    def label(self, key: str) -> str:
        """The word for an id: ``at_risk`` -> ``At risk``; an unknown id readable."""
        found = self._words.get(key) or WORDS["en"].get(key)
        if found is not None:
            return found
        text = key.replace("_", " ").strip()
        return text[:1].upper() + text[1:] if text else "–"

    def text(self, english: str, **fields: object) -> str:
        """A heading, caption or column name in this language (English when the
        phrase has no translation), its ``{fields}`` filled in.

        A whole-number field is a count: it is shown in the language's digits and
        separators (``۷`` on a Persian page), and where the phrase has plural forms
        (:data:`PLURALS`) the count picks the form CLDR's rules give it (English
        ``1 comment``, ``2 comments``)."""
        counts = {
            name: value
            for name, value in fields.items()
            if isinstance(value, int) and not isinstance(value, bool)
        }
        found = self._phrases.get(english, english)
        forms = self._plurals.get(english)
        if forms and counts:
            found = forms.get(self._locale.plural_form(next(iter(counts.values()))), found)
        shown = {**fields, **{name: self.number(value) for name, value in counts.items()}}
        return found.format(**shown) if fields else found

    def labelled(self, name: str, value: str) -> str:
        """``name: value`` with the language's colon: full-width ``：`` in Chinese."""
        return f"{name}：{value}" if self.language == "zh" else f"{name}: {value}"

    def number(self, value: int | float) -> str:
        """A count with the language's separators and digits: ``12,345``."""
        return self._formats.format_decimal(value)

    def percent(self, rate: float | None, decimals: int = 1) -> str:
        """A rate in CLDR's percent pattern with ``decimals`` places, in the language's
        digits, decimal separator and percent sign (``52.4%``, ``۵۲٫۴٪``), or a dash."""
        if rate is None:
            return "–"
        pattern = self._percent if decimals == 1 else _with_decimals(self._percent, decimals)
        return self._formats.format_percent(rate, pattern)

    def decimal(self, value: float, decimals: int = 1) -> str:
        """A number with ``decimals`` places in the language's digits: ``12.5``, ``۱۲٫۵``."""
        pattern = self._decimal if decimals == 1 else _with_decimals(self._decimal, decimals)
        return self._formats.format_decimal(value, pattern)

    def day(self, iso: str) -> str:
        """A day (``2026-11-26``) as the language writes it: ``Nov 26, 2026``,
        ``2026年11月26日``, ``۵ آذر ۱۴۰۵`` (Solar Hijri; isolated, see :meth:`_whole`)."""
        return self._whole(self._date(date.fromisoformat(iso), "yMMMd"))

    def month(self, iso: str) -> str:
        """A UTC month (``2026-11``) as the language writes it: ``Nov 2026``,
        ``2026年11月``. In Persian, the Solar Hijri days it spans, joined by CLDR's
        interval word: ``۱۰ آبان تا ۹ آذر ۱۴۰۵`` (no Solar Hijri month is a Gregorian one)."""
        first = date.fromisoformat(f"{iso}-01")
        if not self._solar:
            return self._whole(self._date(first, "yMMM"))
        last = (first.replace(day=28) + timedelta(days=4)).replace(day=1) - timedelta(days=1)
        end = self._date(last, "yMMMd")
        same_year = self._date(first, "y") == self._date(last, "y")
        start = self._date(first, "MMMd" if same_year else "yMMMd")
        between = str(self._locale.interval_formats.get(None, "{0} – {1}"))
        return self._whole(between.replace("{0}", start).replace("{1}", end))

    def _whole(self, text: str) -> str:
        """A date on a right-to-left page as one bidi unit (Unicode first-strong
        isolate, U+2068 ... U+2069): the charts' SVG runs left to right, and there
        ``۵ آذر ۱۴۰۵`` would show its day on the wrong side; in a sentence a Latin
        word before it (the brand in the title) would pull the day to itself."""
        return f"\u2068{text}\u2069" if self.rtl else text

    def _date(self, day: date, skeleton: str) -> str:
        """``day`` in the CLDR pattern the language has for ``skeleton``, in its calendar."""
        found = self._locale.datetime_skeletons.get(skeleton)
        pattern = skeleton if found is None else found.pattern
        return self._formats.format_date(day, pattern)

    def money(self, amount: float | Decimal | None, currency: str) -> str:
        """An amount in the base currency (``$12,345.60``), or a dash when there is none."""
        if amount is None:
            return "–"
        return self._formats.format_currency(Decimal(str(amount)), currency)


def _with_decimals(pattern: str, decimals: int) -> str:
    """A CLDR number pattern's positive part with exactly ``decimals`` fraction digits:
    ``#,##0%`` -> ``#,##0.0%``."""
    positive = pattern.split(";")[0]
    number = re.search(r"[#,0]*0(\.[0#]*)?", positive)
    if number is None:
        return positive
    whole = number.group().split(".")[0]
    fraction = "." + "0" * decimals if decimals else ""
    return positive[: number.start()] + whole + fraction + positive[number.end() :]
