"""Per-field validators for imported data: pure functions, one field each.

Each takes the cell's text (already stripped; the importer decides what an empty
cell means) and returns the value to store in its canonical form, or raises
:class:`FieldInvalid` with a short reason a person can act on. They never echo the
value back: reasons reach terminals and CI logs, and the values are personal data.

Normalising here (E.164 phones, ``fa_IR`` locales, upper-case ISO codes, aware UTC
datetimes) means every later stage compares like with like, and re-importing the
same data in a different spelling changes nothing.

email-validator, phonenumbers and the channel registry are imported by the validators
that use them: planning imports this module (through the event triggers) and never
validates an address, and their import is a tenth of a second of ``rapport explain``.
"""

from __future__ import annotations

import re
import unicodedata
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from babel import Locale, UnknownLocaleError, parse_locale
from babel.numbers import list_currencies

from rapport.engine.core.config import ProviderConfig, Settings
from rapport.engine.core.i18n import MAX_TAG_CHARS, unaliased_locale
from rapport.engine.core.models import ConsentStatus
from rapport.engine.core.timeutil import zone_names

MAX_ID_LENGTH = 64
MAX_NAME_LENGTH = 200
MAX_SOURCE_LENGTH = 64
MAX_WORDING_LENGTH = 200
MAX_EMAIL_LENGTH = 320
EARLIEST_BIRTHDAY = date(1900, 1, 1)
#: The earliest instant any imported timestamp may be (created_at, ordered_at,
#: captured_at, occurred_at). Every accepted instant lies between this and a day (or
#: less) after the import, so it can be shown on its local day in every time zone
#: (UTC-12 to UTC+14): a year-1 date would overflow Python's dates there.
EARLIEST_MOMENT = datetime(1900, 1, 1, tzinfo=UTC)
# Numeric(18, 4): 14 digits before the point, 4 after.
MAX_AMOUNT = Decimal(10) ** 14
MAX_QUANTITY = 2**31 - 1
_FOUR_PLACES = Decimal("0.0001")

# Region codes CLDR lists that are not ISO 3166-1 countries: unknown region,
# European Union, Eurozone, United Nations, outlying Oceania and pseudo-locales.
_NOT_COUNTRIES = frozenset({"ZZ", "EU", "EZ", "UN", "QO", "XA", "XB"})
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
#: The bracketed cause email-validator appends to its message (IDNA, ipaddress), and
#: a Python repr of a string in it, which quotes part of the address.
_CAUSE = re.compile(r" \(.*\)(?=\.?$)", re.DOTALL)
_QUOTED = re.compile(r"'(?:[^'\\]|\\.)*'" + r'|"(?:[^"\\]|\\.)*"', re.DOTALL)
# ISO 8601 extended form only; Python's fromisoformat alone would also take week
# dates and the basic form, which spreadsheets never produce on purpose.
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:[.,]\d{1,9})?)?(?:Z|z|[+-]\d{2}(?::?\d{2})?)?)?"
)
_INTEGER = re.compile(r"[+]?\d+")
# Cc covers NUL, CR, LF and the other C0/C1 controls; Zl/Zp are Unicode's own line
# breaks; Cs a lone surrogate (from a JSON "\ud800"), which no database can store.
# Cf (e.g. the zero-width non-joiner in Persian names) must stay allowed in names.
_FORBIDDEN_CATEGORIES = frozenset({"Cc", "Cs", "Zl", "Zp"})
#: Identifiers (ids, SKUs, consent sources and wordings) are machine text shown in
#: terminals, logs and the consent evidence: no format character either (Cf: the
#: bidirectional controls, zero-width characters), which would make one id look like
#: another or reverse what a terminal prints after it.
_FORMAT = "Cf"
#: Names reach mail headers, where an override (U+202E) reverses what follows it.
#: Refused rather than removed: the file is fixed once, and the name stays as written.
_BIDI_NAMES = {
    **dict.fromkeys(map(chr, range(0x202A, 0x202F)), "an embedding or override"),
    **dict.fromkeys(map(chr, range(0x2066, 0x206A)), "an isolate"),
    **dict.fromkeys(("\u200e", "\u200f", "\u061c"), "a direction mark"),
}


class FieldInvalid(ValueError):
    """One field of one row is wrong; ``reason`` is short and never contains the value."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


def _check_text(value: str, field: str, max_length: int) -> str:
    if len(value) > max_length:
        raise FieldInvalid(field, f"longer than {max_length} characters")
    if any(unicodedata.category(char) in _FORBIDDEN_CATEGORIES for char in value):
        raise FieldInvalid(field, "contains control characters or line breaks")
    return value


def identifier(value: str, field: str, max_length: int) -> str:
    """Machine text (an id, a SKU, a consent source or wording): :func:`_check_text`,
    and no invisible format character (U+202E, U+200B, ...), named by its code point."""
    _check_text(value, field, max_length)
    for char in value:
        if unicodedata.category(char) == _FORMAT:
            raise FieldInvalid(
                field, f"contains the invisible format character U+{ord(char):04X}; remove it"
            )
    return value


def external_id(value: str, field: str = "id") -> str:
    """An id from the source system: it becomes a primary key and appears in logs."""
    if not value:
        raise FieldInvalid(field, "must not be empty")
    return identifier(value, field, MAX_ID_LENGTH)


def name(value: str, field: str = "first_name") -> str:
    """A person's name; it may end up in a mail header, hence no CR, LF or NUL, and no
    bidirectional control characters (U+202A-U+202E, U+2066-U+2069, U+200E, U+200F,
    U+061C), which would let a name reverse the text shown after it. Invisible
    characters a script needs, such as the Persian zero-width non-joiner, are kept."""
    _check_text(value, field, MAX_NAME_LENGTH)
    for char in value:
        if kind := _BIDI_NAMES.get(char):
            raise FieldInvalid(
                field,
                f"contains the invisible bidirectional control U+{ord(char):04X} "
                f"({kind}); remove it",
            )
    return value


def email(value: str, field: str = "email") -> str:
    """The normalised address (domain lower-cased and IDNA-checked), syntax only.

    Deliverability (DNS) is not checked: imports must not depend on the network, and
    bounces feed the suppression list anyway.
    """
    if len(value) > MAX_EMAIL_LENGTH:
        raise FieldInvalid(field, f"longer than {MAX_EMAIL_LENGTH} characters")
    from email_validator import EmailNotValidError, validate_email

    try:
        result = validate_email(value, check_deliverability=False)
    except EmailNotValidError as exc:
        # email_validator's messages name the rule broken, not the address, except
        # where it appends its cause's message in brackets: the IDNA library's quotes
        # the refused label ("... at position 7 of 'rezaei-family' not allowed").
        reason = str(exc)
        if exc.__cause__ is not None:
            reason = _CAUSE.sub(lambda cause: _QUOTED.sub("the label", cause[0]), reason)
        raise FieldInvalid(field, f"not a valid e-mail address: {reason}") from None
    return result.normalized


def sendable_email(value: str, field: str = "email", *, utf8_mailboxes: bool) -> str:
    """:func:`email`, refusing what no configured e-mail channel could deliver.

    * A local part (before the @) that Unicode compatibility normalisation (NFKC) would
      change, such as full-width ``ａ@example.com`` or a ligature: the characters an
      input method types by mistake. It is refused, never folded to ``a@``: mailbox
      names belong to the receiving server, and a guessed mailbox may be a stranger's.
      email-validator keeps such local parts as they are (it applies NFC only); the
      domain is IDNA-mapped by email-validator (``ｅxample.com`` is ``example.com``),
      which is the standard mapping and kept.
    * Any other non-ASCII local part (``josé@``, ``用户@``), unless ``utf8_mailboxes``:
      some configured e-mail channel can carry it (SMTP with ``smtputf8: true``, the
      file channel). Non-ASCII domains are always fine: they travel as IDNA A-labels.
    """
    normalized = email(value, field)
    local = normalized.rpartition("@")[0]
    if unicodedata.normalize("NFKC", local) != local:
        raise FieldInvalid(
            field,
            "the part before @ has full-width or other compatibility characters; "
            "write it in plain characters (the address is not guessed)",
        )
    if not utf8_mailboxes and not local.isascii():
        raise FieldInvalid(
            field,
            "the part before @ is not ASCII, and no configured e-mail channel can send "
            "to such an address (the SMTP channel can when its server offers SMTPUTF8: "
            "set smtputf8: true)",
        )
    return normalized


def _is_format(char: str) -> bool:
    return unicodedata.category(char) == _FORMAT


def phone(value: str, field: str = "phone") -> str:
    """E.164 (``+989121234567``); separators and non-Latin digits are tolerated.

    Without the leading ``+`` a number's country is a guess, and a wrong guess
    texts a stranger, so national forms are refused rather than assumed.
    """
    # Invisible format characters (a left-to-right mark Persian spreadsheets put before
    # a number, a zero-width non-joiner from the text around it) are no part of it, and
    # compatibility forms (a Chinese input method's full-width ＋ and digits) read as
    # their plain ones: the number is still never guessed, only read.
    value = "".join(c for c in unicodedata.normalize("NFKC", value) if not _is_format(c)).strip()
    if not value.startswith("+"):
        raise FieldInvalid(field, "must be in international E.164 form, starting with +")
    import phonenumbers

    try:
        number = phonenumbers.parse(value, None)
    except phonenumbers.NumberParseException:
        raise FieldInvalid(field, "not a phone number") from None
    if not phonenumbers.is_valid_number(number):
        raise FieldInvalid(field, "not a valid phone number for its country code")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def timezone(value: str, field: str = "timezone") -> str:
    """An IANA time zone name such as ``Asia/Tehran``; offsets like ``+03:30`` are not
    time zones (they ignore daylight saving) and are refused."""
    if value not in zone_names():
        raise FieldInvalid(field, "not an IANA time zone name (e.g. Asia/Tehran)")
    return value


#: ISO 639-1 codes in use whose CLDR alias is a related but other language (Tagalog
#: and Filipino, Twi and Akan): stored as written, so a template folder named after
#: them (``tl/``) still serves their customers.
_KEPT_AS_WRITTEN = frozenset({"tl", "tw"})


@lru_cache(maxsize=1024)
def _canonical_locale(value: str) -> str | None:
    kept = value.replace("-", "_").partition("_")[0].lower() in _KEPT_AS_WRITTEN
    # pes -> fa, prs_AF -> fa_AF, iw -> he (CLDR's aliases)
    identifier = value.replace("-", "_") if kept else unaliased_locale(value)
    try:
        language, territory, script, variant = parse_locale(identifier)[:4]
        parsed = Locale.parse(identifier)
    except (UnknownLocaleError, ValueError, TypeError):
        return None
    # Babel silently falls back (en_ZZ -> en_US, de_DE_POSIX -> de_DE); a locale that
    # is not what the file said is an unknown one.
    if territory and parsed.territory != territory:
        return None
    if variant and parsed.variant != variant:
        return None
    return "_".join(part for part in (language, script, territory, variant) if part)


def locale(value: str, field: str = "locale") -> str:
    """A CLDR locale, returned with underscores (``fa-IR`` -> ``fa_IR``) as the
    templates' folders and Babel spell it."""
    # A longer value is no locale; the cache would keep it whole (a line may be 4 MiB).
    canonical = _canonical_locale(value) if value and len(value) <= MAX_TAG_CHARS else None
    if canonical is None:
        raise FieldInvalid(field, "not a known locale (e.g. en, fa_IR, zh_Hans_CN)")
    return canonical


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    codes = Locale("en").territories
    return frozenset(
        code
        for code in codes
        if isinstance(code, str)
        and len(code) == 2
        and code.isalpha()
        and code not in _NOT_COUNTRIES
    )


def country(value: str, field: str = "country") -> str:
    """ISO 3166-1 alpha-2, upper case; it picks the holiday calendar."""
    code = value.upper()
    if code not in _countries():
        raise FieldInvalid(field, "not an ISO 3166 two-letter country code (e.g. IR, CN)")
    return code


def ascii_digits(value: str) -> str:
    """``value`` with every decimal digit of another script (Persian ``۱۹۹۰``,
    Arabic-Indic ``١٩٩٠``, full-width ...) written as 0-9.

    A Persian or Arabic system writes dates in its own digits; the regular expressions
    below match them (``\\d`` is any decimal digit) but ``fromisoformat`` does not read
    them, so such a date was refused as "not a real calendar date". Amounts, quantities
    and phone numbers already read them as their values."""
    if value.isascii():
        return value
    return "".join(str(unicodedata.decimal(char)) if char.isdecimal() else char for char in value)


def iso_date(value: str, field: str = "date") -> date:
    """``YYYY-MM-DD`` only: ``03/04/1990`` means two different days on two continents.
    Digits of any script are read as 0-9 (:func:`ascii_digits`)."""
    value = ascii_digits(value)
    if not _ISO_DATE.fullmatch(value):
        raise FieldInvalid(field, "not a date in YYYY-MM-DD form")
    try:
        return date.fromisoformat(value)
    except ValueError:  # 1403-06-31: a Solar Hijri day no Gregorian month has
        raise FieldInvalid(field, "not a real calendar date" + _too_early(int(value[:4]))) from None


#: The years of the Solar Hijri calendar a Persian system writes today's dates in
#: (1403 is 2024-2025): a date in them is one, refused as before 1900, never converted.
_SOLAR_HIJRI_YEARS = range(1300, 1500)
_NOT_GREGORIAN = (
    " (the calendar is Gregorian: a Solar Hijri date such as 1403-12-30 is not "
    "converted; write 2025-03-20)"
)


def _too_early(year: int) -> str:
    """What a refusal of a date before 1900, or of a day no Gregorian month has
    (1403-06-31), adds: the hint a Solar Hijri year needs."""
    return _NOT_GREGORIAN if year in _SOLAR_HIJRI_YEARS else ""


def birthday(value: str, today: date, field: str = "birthday") -> date:
    """A plausible birthday; ``today`` is injected so tests do not age."""
    day = iso_date(value, field)
    if day > today:
        raise FieldInvalid(field, "is in the future")
    if day < EARLIEST_BIRTHDAY:
        raise FieldInvalid(field, f"is before {EARLIEST_BIRTHDAY.year}" + _too_early(day.year))
    return day


def iso_datetime(value: str, field: str = "datetime") -> datetime:
    """ISO 8601 as aware UTC; no offset means UTC, a trailing ``Z`` is accepted.

    Not before :data:`EARLIEST_MOMENT`; an instant whose conversion to UTC leaves
    Python's years 1-9999 (year 1 at +14:00, year 9999 at -12:00) is out of range too,
    never an OverflowError. Callers bound the future (:func:`not_after`). Digits of any
    script are read as 0-9 (:func:`ascii_digits`)."""
    value = ascii_digits(value)
    if not _ISO_DATETIME.fullmatch(value):
        raise FieldInvalid(field, "not an ISO 8601 date-time (e.g. 2024-03-20T09:30:00Z)")
    try:
        # Python reads t and z only in upper case (RFC 3339 allows both), and keeps
        # the microseconds of up to nine decimals (Java's Instant, Go's RFC3339Nano).
        parsed = datetime.fromisoformat(value.replace(",", ".").upper())
    except ValueError:
        raise FieldInvalid(field, "not a real date-time" + _too_early(int(value[:4]))) from None
    try:
        moment = parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)
    except OverflowError:
        moment = None
    if moment is None and parsed.year == datetime.max.year:  # behind UTC
        raise FieldInvalid(field, "is out of range (after the year 9999 in UTC)")
    if moment is None or moment < EARLIEST_MOMENT:
        early = f"is out of range (before {EARLIEST_MOMENT.date()})" + _too_early(parsed.year)
        raise FieldInvalid(field, early)
    return moment


def not_after(
    value: datetime, latest: datetime, field: str, reason: str = "is in the future"
) -> datetime:
    """Refuse a timestamp later than ``latest``.

    Consent from the future would outrank every real change until that date, so a
    typo in a year could override a later withdrawal; an order from the future would
    count in every report and keep its customer "active" for years.
    """
    if value > latest:
        raise FieldInvalid(field, reason)
    return value


@lru_cache(maxsize=1)
def _currencies() -> frozenset[str]:
    return frozenset(list_currencies())


def currency(value: str, field: str = "currency") -> str:
    """ISO 4217, upper case."""
    code = value.upper()
    if len(code) != 3 or code not in _currencies():
        raise FieldInvalid(field, "not an ISO 4217 currency code (e.g. USD, IRR, CNY)")
    return code


#: Why an amount written with a separator is refused: a thousands separator (',', '٬',
#: a space, '_', an apostrophe) or a decimal comma ('12,50', Persian '۱۲٫۵').
SEPARATED_AMOUNT = (
    "not a number: write the digits alone, with a '.' before any decimals and no "
    "thousands separator (1250000, 12.50)"
)
_SEPARATORS = frozenset(",_'\u066b\u066c\u060c \u00a0\u2009\u202f\u2019")


def amount(value: str, field: str = "amount") -> Decimal:
    """A money amount as Decimal (never float), within the column's Numeric(18, 4).

    Digits alone, with a '.' before any decimals: no thousands separator, which
    ``Decimal`` would read in one form (``1_000``, Python's grouping) and not another."""
    if not _SEPARATORS.isdisjoint(value):
        raise FieldInvalid(field, SEPARATED_AMOUNT)
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise FieldInvalid(field, "not a number") from None
    if not number.is_finite():
        raise FieldInvalid(field, "not a finite number")
    if number < 0:
        raise FieldInvalid(field, "must not be negative")
    if number >= MAX_AMOUNT:
        raise FieldInvalid(field, "is too large")
    # Quantizing is exact here: the value is below 10**14, well inside the context's
    # 28 digits. Trailing zeros (1.50000) are fine; a fifth significant place is not.
    stored = (number + 0).quantize(_FOUR_PLACES)
    if stored != number:
        raise FieldInvalid(field, "has more than 4 decimal places")
    return stored


def quantity(value: str, field: str = "quantity") -> int:
    """A whole, positive count of items."""
    if not _INTEGER.fullmatch(value):
        raise FieldInvalid(field, "not a whole number")
    count = int(value)
    if count < 1:
        raise FieldInvalid(field, "must be at least 1")
    if count > MAX_QUANTITY:
        raise FieldInvalid(field, "is too large")
    return count


def channel(value: str, settings: Settings, field: str = "channel") -> str:
    """A channel the operator configured; consent for an unknown channel is a typo."""
    if value not in settings.channels:
        known = ", ".join(sorted(settings.channels))
        raise FieldInvalid(field, f"not a configured channel (one of: {known})")
    return value


def utf8_mailboxes(settings: Settings) -> bool:
    """Whether some configured e-mail channel can send to an address whose local part is
    not ASCII: every provider of that channel says so through its adapter's
    ``carries_utf8_mailboxes(options)`` (an adapter without it cannot)."""
    for name, config in settings.channels.items():
        if (config.kind or name) != "email":
            continue
        if all(_carries_utf8(provider) for provider in config.provider_list()):
            return True
    return False


def _carries_utf8(provider: ProviderConfig) -> bool:
    from rapport.channels.registry import adapter_class

    try:
        adapter = adapter_class(provider.adapter)
    except (LookupError, TypeError, ImportError):  # reported where channels are built
        return False
    check = getattr(adapter, "carries_utf8_mailboxes", None)
    return callable(check) and check(provider.options()) is True


def topic(value: str, settings: Settings, field: str = "topic") -> str:
    """A topic the operator configured."""
    if value not in settings.topics:
        known = ", ".join(settings.topics)
        raise FieldInvalid(field, f"not a configured topic (one of: {known})")
    return value


def consent_status(value: str, field: str = "status") -> str:
    """``granted`` or ``withdrawn``: ``pending`` only arises inside double opt-in."""
    allowed = (ConsentStatus.GRANTED.value, ConsentStatus.WITHDRAWN.value)
    if value not in allowed:
        raise FieldInvalid(field, "must be granted or withdrawn")
    return value


def source(value: str, field: str = "source") -> str:
    """Where consent was captured (shop checkout, paper form, ...): part of the proof."""
    if not value:
        raise FieldInvalid(field, "must not be empty")
    return identifier(value, field, MAX_SOURCE_LENGTH)


def wording(value: str, field: str = "wording") -> str:
    """The identifier of the text the person agreed to."""
    return identifier(value, field, MAX_WORDING_LENGTH)
