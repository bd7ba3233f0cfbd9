"""The checks of config.yaml that look across its sections, each reported at its key.

Pydantic checks each section by itself; a quiet-hours key, a cap's channel, a
channel's kind and an adapter's options each need another section (or the adapter)
to be checked. Configuration is closed: a key these do not recognise is an error at
its FILE:LINE listing what it may be, never a setting silently ignored.

* ``quiet_hours`` keys are channel kinds (``email``, ``sms``): the planner applies
  them by kind, so a channel's name there is refused with the kind to write instead.
  Country keys are ISO 3166 two-letter codes in capitals, as customers' countries are
  stored.
* ``caps.channels`` keys are configured channels' names (the planner counts per
  channel); a kind with no channel of that name is refused, naming the channels.
* ``tiers.base_currency`` and the keys of ``tiers.rates`` are ISO 4217 codes in
  capitals, as orders' currencies are stored and looked up (a rate under ``eur`` or
  ``EURR`` would leave every EUR order counting as 0 spend).
* The keys of ``sender.from_name`` and ``sender.sms_signature`` are locales Babel knows
  (one under ``faa`` would never be used).
* Every channel has a kind: its ``kind``, or its name when that is a kind.
* ``topics`` holds at least one consent topic, each listed once, 1 to 64 characters
  (the database's width) without spaces at either end (imported cells are stripped).
* ``planning.default_window_start`` is earlier than ``default_window_end``.
* ``transactional_topics`` are short lower-case names, listed once, none of them also
  in ``topics``: a topic is marketing (consent) or transactional, never both.
* The legal SMS window, :data:`SMS_LEGAL_WINDOW` (08:00-21:00, the recipient's local
  time), is a floor: an SMS window (the general one and each country's) may narrow
  it; one that starts earlier or ends later is refused unless it says
  ``widen_legal_window: true`` itself (for e-mail, that key is refused: e-mail has
  no legal window).
* Each provider's options are checked against what its adapter declares
  (:func:`rapport.channels.registry.check_options`): unknown keys, wrong types,
  required ones missing; and a number is finite (YAML's ``.inf``, ``.nan``).
"""

from __future__ import annotations

import difflib
import math
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import time
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from rapport.engine.core.errors import ConfigError, Problem
from rapport.engine.core.utf8sender import utf8_sender_problems
from rapport.engine.core.yamlsource import YamlDocument

if TYPE_CHECKING:
    from rapport.engine.core.config import AllowedHours, ChannelConfig, Settings

CHANNEL_KINDS: Final = ("email", "sms")
#: SMS is never sent outside these local hours unless a window widens them explicitly.
SMS_LEGAL_WINDOW: Final = (time(8), time(21))
#: The key an SMS window sets to reach outside :data:`SMS_LEGAL_WINDOW`.
WIDEN: Final = "widen_legal_window"

Loc = tuple[str | int, ...]
#: What a transactional topic may be called (it is stored in ``outbox_message.topic``).
TOPIC_PATTERN: Final = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def check_keys(settings: Settings) -> None:
    """Raise a ValidationError located at each key the checks above refuse."""
    errors = [
        *_channel_kinds(settings),
        *_quiet_hours(settings),
        *_caps(settings),
        *_currencies(settings),
        *_sender_locales(settings),
        *_topics(settings),
        *_transactional_topics(settings),
        *_default_window(settings),
        *utf8_sender_problems(settings),
    ]
    if errors:
        raise ValidationError.from_exception_data(
            "Settings",
            [
                InitErrorDetails(
                    type=PydanticCustomError("config_key", message), loc=loc, input=None
                )
                for loc, message in errors
            ],
        )


def _default_window(settings: Settings) -> Iterator[tuple[Loc, str]]:
    """The send window of every campaign without its own is a window: "20:00" to "09:00"
    loaded, and such a campaign never sent (a campaign's own is refused likewise)."""
    planning = settings.planning
    start, end = planning.default_window_start, planning.default_window_end
    if start >= end:
        written = "default_window_start" in planning.model_fields_set
        key = "default_window_start" if written else "default_window_end"
        yield (
            ("planning", key),
            (
                f"default_window_start must be earlier than default_window_end ({start:%H:%M} "
                f"is not before {end:%H:%M}): it is the send window of every campaign without "
                "its own"
            ),
        )


def _topics(settings: Settings) -> Iterator[tuple[Loc, str]]:
    """At least one consent topic (every campaign names one), each listed once."""
    if not settings.topics:
        yield ("topics",), "at least one consent topic is needed: every campaign names one"
    seen: set[str] = set()
    for index, topic in enumerate(settings.topics):
        control = any(ord(char) < 32 or 127 <= ord(char) < 160 for char in topic)
        if not topic or topic != topic.strip() or control or len(topic) > 64:
            yield (
                ("topics", index),
                f"{topic!r}: a topic is 1 to 64 characters, without spaces at either end or "
                "control characters (consent records and campaigns name it as written)",
            )
        elif topic in seen:
            yield ("topics", index), f"{topic}: listed twice"
        seen.add(topic)


def _transactional_topics(settings: Settings) -> Iterator[tuple[Loc, str]]:
    """Each a short lower-case name (the outbox's ``topic``), listed once, and never
    also a consent topic: a topic is marketing or transactional, not both."""
    seen: set[str] = set()
    for index, topic in enumerate(settings.transactional_topics):
        where = ("transactional_topics", index)
        if not TOPIC_PATTERN.match(topic):
            yield where, f"{topic!r}: a topic is 1 to 64 lower-case letters, digits, '-' or '_'"
        elif topic in settings.topics:
            yield where, f"{topic}: a topic is either a consent topic (topics) or transactional"
        elif topic in seen:
            yield where, f"{topic}: listed twice"
        seen.add(topic)


def _kinds(settings: Settings) -> dict[str, str]:
    return {name: config.kind or name for name, config in settings.channels.items()}


def _listed(settings: Settings) -> str:
    return ", ".join(f"{name} ({kind})" for name, kind in _kinds(settings).items()) or "none"


def _channel_kinds(settings: Settings) -> Iterator[tuple[Loc, str]]:
    for name, kind in _kinds(settings).items():
        if kind not in CHANNEL_KINDS:
            yield (
                ("channels", name, "kind"),
                f"channel {name!r} needs kind: email or sms (its name is not a kind)",
            )
        elif name in CHANNEL_KINDS and kind != name:  # consent to "sms" is to texts
            yield (
                ("channels", name, "kind"),
                f"channel {name!r} is named like a kind and must be of it: its kind is "
                f"{kind}; give an {kind} channel another name, or write kind: {name}",
            )


def _quiet_hours(settings: Settings) -> Iterator[tuple[Loc, str]]:
    kinds = _kinds(settings)
    for key, hours in settings.quiet_hours.items():
        where: Loc = ("quiet_hours", key)
        if key not in CHANNEL_KINDS:
            if key in kinds and kinds[key] in CHANNEL_KINDS:
                kind = kinds[key]
                yield (
                    where,
                    f"quiet hours are set per channel kind, not per channel: {key!r} is a "
                    f"channel of kind {kind}; write its hours under {kind} (they hold for "
                    f"every {kind} channel)",
                )
            else:
                yield (
                    where,
                    f"unknown key {key!r}; {_close(key, CHANNEL_KINDS)}quiet hours are set "
                    "per channel kind: email, sms",
                )
            continue
        yield from _legal_window(key, where, hours)
        for country, window in hours.countries.items():
            loc = (*where, "countries", country)
            if country not in _countries():
                yield (
                    loc,
                    f"{country!r} is not an ISO 3166 two-letter country code in capitals "
                    "(e.g. IR, US), as customers' countries are stored",
                )
            yield from _legal_window(key, loc, window)


def _legal_window(kind: str, loc: Loc, window: AllowedHours) -> Iterator[tuple[Loc, str]]:
    """The SMS floor: see the module docstring."""
    if kind != "sms":
        if window.widen_legal_window:
            yield (*loc, WIDEN), f"{WIDEN} is for SMS hours only: e-mail has no legal window"
        return
    if window.widen_legal_window:
        return
    start, end = SMS_LEGAL_WINDOW
    rule = (
        "SMS may go out only from 08:00 to 21:00 local time: a window can narrow that; "
        f"to widen it where the law allows, add {WIDEN}: true to this window "
        "(docs/campaigns.md, Quiet hours)"
    )
    if window.not_before < start:
        yield (*loc, "not_before"), f"{window.not_before:%H:%M} is before 08:00. {rule}"
    if window.not_after > end:
        yield (*loc, "not_after"), f"{window.not_after:%H:%M} is after 21:00. {rule}"


def _caps(settings: Settings) -> Iterator[tuple[Loc, str]]:
    for key in settings.caps.channels:
        if key in settings.channels:
            continue
        if key in CHANNEL_KINDS:
            message = (
                f"no channel is named {key!r}: channel caps are keyed by channel name, "
                f"not kind; the channels: {_listed(settings)}"
            )
        else:
            message = (
                f"unknown channel {key!r}; {_close(key, settings.channels)}channel caps "
                f"are keyed by a configured channel's name: {_listed(settings)}"
            )
        yield ("caps", "channels", key), message


def _currencies(settings: Settings) -> Iterator[tuple[Loc, str]]:
    """The base currency and every rate's key: ISO 4217 codes in capitals."""
    tiers = settings.tiers
    named: list[tuple[Loc, str]] = [(("tiers", "base_currency"), tiers.base_currency)]
    named += [(("tiers", "rates", code), code) for code in tiers.rates]
    for where, code in named:
        if code not in _currency_codes():
            close = difflib.get_close_matches(code.upper(), sorted(_currency_codes()), n=1)
            yield (
                where,
                f"{code!r} is not an ISO 4217 currency code in capitals (e.g. USD, EUR, IRR), "
                "as orders' currencies are stored"
                + (f"; did you mean {close[0]!r}?" if close else ""),
            )


def _sender_locales(settings: Settings) -> Iterator[tuple[Loc, str]]:
    """Per-locale sender texts are keyed by locales that exist."""
    from rapport.engine.core.i18n import known_locale

    for key in ("from_name", "sms_signature"):
        for tag in getattr(settings.sender, key):
            try:
                known_locale(tag)
            except ValueError as exc:
                yield ("sender", key, tag), str(exc)


def _close(key: str, names: Iterable[str]) -> str:
    close = difflib.get_close_matches(key, list(names), n=1)
    return f"did you mean {close[0]!r}? " if close else ""


@lru_cache(maxsize=1)
def _currency_codes() -> frozenset[str]:
    """ISO 4217 codes, as Babel lists them (the importer's own list)."""
    from babel.numbers import list_currencies

    return frozenset(list_currencies())


@lru_cache(maxsize=1)
def _countries() -> frozenset[str]:
    """ISO 3166-1 alpha-2 codes (CLDR's territories, without its regions such as 001)."""
    from babel import Locale

    return frozenset(
        code
        for code in Locale("en").territories
        if isinstance(code, str) and len(code) == 2 and code.isalpha() and code.isupper()
    )


def adapter_problems(channels: Mapping[str, ChannelConfig], doc: YamlDocument) -> list[Problem]:
    """Every channel's providers name installed adapters, with options those adapters
    declare: found at load, not at the first send."""
    from rapport.channels.registry import (
        InvalidAdapterError,
        adapter_class,
        adapter_names,
        check_options,
    )

    known = adapter_names()
    problems = []
    for name, channel in channels.items():
        for index, provider in enumerate(channel.provider_list()):
            base: Loc = (
                ("channels", name, "providers", index) if channel.providers else ("channels", name)
            )
            if channel.providers and "kind" in provider.options():  # else dropped unread
                problems.append(
                    _problem(
                        doc,
                        (*base, "kind"),
                        "kind belongs to the channel (beside providers), not to one provider",
                    )
                )
            if provider.adapter not in known:
                problems.append(
                    _problem(
                        doc,
                        (*base, "adapter"),
                        f"unknown adapter {provider.adapter!r}; installed adapters: "
                        + ", ".join(known),
                    )
                )
                continue
            try:
                found = check_options(provider.adapter, provider.options())
            except (InvalidAdapterError, ImportError, AttributeError) as exc:
                problems.append(
                    _problem(doc, (*base, "adapter"), f"adapter cannot be loaded: {exc}")
                )
                continue
            for option in found:
                path = (*base, option.key) if option.key is not None else (*base, "adapter")
                problems.append(_problem(doc, path, option.message))
            if (kind := channel.kind or name) in CHANNEL_KINDS and kind not in (
                carries := adapter_class(provider.adapter).kinds
            ):  # every message of the channel failed for good at its send
                problems.append(
                    _problem(
                        doc,
                        (*base, "adapter"),
                        f"adapter {provider.adapter!r} cannot carry {kind} (it carries "
                        f"{', '.join(sorted(carries))}); channel {name!r} is of kind {kind}",
                    )
                )
            for key, value in provider.options().items():
                if isinstance(value, float) and not math.isfinite(value):  # .inf, .nan
                    problems.append(
                        _problem(doc, (*base, key), f"option {key!r} is not a finite number")
                    )
    return problems


def _problem(doc: YamlDocument, path: Loc, message: str) -> Problem:
    return Problem(doc.file, doc.line_of(path), message, ".".join(str(p) for p in path))


#: The variables that replace a channel by a built-in adapter at a URL: (variable,
#: channel and kind, adapter).
URL_VARIABLES: Final = (
    ("RAPPORT_SMTP_URL", "email", "smtp"),
    ("RAPPORT_SMS_URL", "sms", "http_sms"),
)


def env_urls(environ: Mapping[str, str]) -> dict[str, dict[str, str]]:
    """The channels ``RAPPORT_SMTP_URL`` and ``RAPPORT_SMS_URL`` configure (each as a
    ChannelConfig's fields), their URLs checked as config.yaml's are: a URL the adapter
    would refuse is a ConfigError naming the variable at load (exit 1), not a failure of
    every dispatcher process at its first pass (exit 3, blamed on nothing the operator
    can find)."""
    from rapport.channels.registry import check_options

    channels = {}
    for variable, name, adapter in URL_VARIABLES:
        if url := environ.get(variable):
            if url != url.strip():  # a line of an EnvironmentFile, a value read from a file
                raise ConfigError(
                    f"{variable}: begins or ends with a space or a line break: set it without them"
                )
            if found := check_options(adapter, {"url": url}):
                raise ConfigError(f"{variable}: " + "; ".join(p.message for p in found))
            channels[name] = {"adapter": adapter, "kind": name, "url": url}
    return channels


#: Every ``RAPPORT_*`` variable Rapport reads (the tables of docs/configuration.md): the
#: product's, then the test suite's.
VARIABLES: Final = (
    "RAPPORT_DATABASE_URL",
    "RAPPORT_SMTP_URL",
    "RAPPORT_SMS_URL",
    "RAPPORT_SECRET_KEY",
    "RAPPORT_WEBHOOK_TOKEN",
    "RAPPORT_REPORT_TOKEN",
    "RAPPORT_METRICS_TOKEN",
    "RAPPORT_LOG_LEVEL",
    "RAPPORT_DEBUG",
    "RAPPORT_TEST_POSTGRES_URL",
    "RAPPORT_TEST_PG_BIN",
    "RAPPORT_TEST_CHROMIUM",
    "RAPPORT_FUZZ_EXAMPLES",
)


def no_adapter(extra: Mapping[str, Any]) -> str:
    """What a channel with neither ``adapter`` nor ``providers`` is told, naming a key
    written close to one of them (``adaptor: file``, otherwise taken for an option)."""
    said = "no adapter: write adapter: NAME with its options, or providers: a list of them"
    for key in extra:
        if close := difflib.get_close_matches(str(key), ["adapter", "providers"], n=1):
            return f"{said} (is {key!r} meant to be {close[0]!r}?)"
    return said


def misspelt_variables(environ: Mapping[str, str], channels: Mapping[str, ChannelConfig]) -> None:
    """Refuse a set variable one or two letters away from one Rapport reads (a letter
    swapped, missing or added, or the name in lower case; the tests of
    test_misspelt_variables.py show them): with the SMTP URL's name misspelt, e-mail went
    to the development outbox instead of the SMTP server, and with the database's the
    daemon planned into the default SQLite file, without a word. The variables the
    channels' ``X_env`` options name are the operator's to choose, and other names (the
    web app's address in docs/api.md's examples) are not Rapport's concern."""
    from rapport.channels.options import ENV_SUFFIX

    own = set(VARIABLES) | {
        value
        for channel in channels.values()
        for provider in channel.provider_list()
        for key, value in provider.options().items()
        if key.endswith(ENV_SUFFIX) and isinstance(value, str)
    }
    problems = []
    for name, value in sorted(environ.items()):
        if not value or name in own or not name.upper().startswith("RAPPORT"):
            continue
        distances = {known: _distance(name.upper(), known) for known in VARIABLES}
        close = [known for known in VARIABLES if distances[known] <= 2]
        if close:
            # The nearest: rapport_sms_url is RAPPORT_SMS_URL, not the RAPPORT_SMTP_URL
            # listed before it one letter away.
            meant = min(close, key=distances.__getitem__)
            problems.append(
                Problem(
                    name,
                    None,
                    f"not a variable Rapport reads; did you mean {meant}? Rename it, or unset it",
                )
            )
    if problems:
        raise ConfigError(problems)


def _distance(a: str, b: str) -> int:
    """Edits (a letter added, removed, changed, or two swapped) that turn ``a`` into ``b``."""
    if abs(len(a) - len(b)) > 2:
        return 3
    previous, row = None, list(range(len(b) + 1))
    for i, x in enumerate(a, 1):
        current = [i]
        for j, y in enumerate(b, 1):
            cost = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (x != y))
            if previous is not None and i > 1 and j > 1 and x == b[j - 2] and a[i - 2] == y:
                cost = min(cost, previous[j - 2] + 1)
            current.append(cost)
        previous, row = row, current
    return row[-1]
