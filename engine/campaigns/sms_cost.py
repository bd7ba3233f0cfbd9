"""What a campaign's SMS costs, checked on its sample texts by ``campaigns validate``.

The longest sample text against the campaign's ``sms_max_segments`` (every segment is
billed) and against the longest text an adapter of the campaign's SMS channels carries
(``max_body_chars``: Twilio takes 1,600 characters, and a longer text is a permanent
failure at sending); and a warning when only typographic characters (``’``) make a
text UCS-2, more than halving what one segment holds.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import lru_cache

from rapport.channels.registry import adapter_class
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import TYPICAL, Traits
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem
from rapport.engine.rendering.renderer import SMS_TEXT, Renderer, is_channel_kind
from rapport.engine.rendering.sms_encoding import count_sms, non_gsm_characters

__all__ = ["TYPOGRAPHIC", "body_limits", "channel_limits", "first_text_line", "sms_cost"]

#: Characters word processors put in for plain ones; each alone forces UCS-2.
TYPOGRAPHIC = {
    "\u2018": "'",
    "\u2019": "'",
    "\u201c": '"',
    "\u201d": '"',
    "\u2013": "-",
    "\u2014": "-",
    "\u2026": "...",
    "\u00a0": "a plain space",
    "`": "'",
}

#: A template line that prints nothing itself: only statements, comments, blanks.
_STATEMENT_ONLY = re.compile(r"^(?:\{%.*?%\}|\{#.*?#\}|\s)*$")


def sms_cost(
    renderer: Renderer,
    campaign: Campaign,
    settings: Settings,
    where: tuple[str, str],
    texts: Sequence[tuple[Traits, str]],
) -> tuple[list[Problem], list[Problem]]:
    """Problems and warnings of one SMS template (``where``: its template set and
    locale folder) from its sample ``texts``."""
    problems: list[Problem] = []
    warnings: list[Problem] = []
    if not texts:
        return problems, warnings
    template_set, locale = where
    file = renderer.file_of(template_set, SMS_TEXT, locale)
    line = first_text_line(renderer.source_of(template_set, SMS_TEXT, locale))

    def who(traits: Traits) -> str:
        sample = f"the sample {locale} customer"
        return sample if traits == TYPICAL else f"{sample} with {', '.join(traits.labels())}"

    traits, output = max(texts, key=lambda text: count_sms(text[1]).segments)
    encoding, units, segments = count_sms(output)
    limit = campaign.sms_max_segments
    if limit is not None and segments > limit:
        problems.append(
            Problem(
                file,
                line,
                f"the SMS takes {segments} segments ({units} {encoding} units for "
                f"{who(traits)}); the campaign allows {limit} (sms_max_segments)",
            )
        )
    traits, output = max(texts, key=lambda text: len(text[1]))
    for channel, adapter, most in body_limits(campaign, settings):
        if len(output) > most:
            problems.append(
                Problem(
                    file,
                    line,
                    f"the SMS has {len(output)} characters (for {who(traits)}); the "
                    f"{adapter} adapter of channel {channel!r} carries at most {most}: "
                    "each such message would fail at sending",
                )
            )
    culprits = non_gsm_characters(output)
    if culprits and all(c in TYPOGRAPHIC for c in culprits):
        names = ", ".join(f"{c!r} (U+{ord(c):04X}) by {TYPOGRAPHIC[c]}" for c in culprits)
        warnings.append(
            Problem(
                file,
                line,
                f"only typographic characters make this SMS UCS-2 (70 characters a segment"
                f" instead of 160): replace {names}",
            )
        )
    return problems, warnings


def body_limits(campaign: Campaign, settings: Settings) -> list[tuple[str, str, int]]:
    """(channel, adapter, most characters) for each adapter of the campaign's SMS
    channels, a failover's providers included, that limits a text's length."""
    found: list[tuple[str, str, int]] = []
    for name in campaign.channels:
        config = settings.channels.get(name)
        if config is None or not is_channel_kind(kind := config.kind or name) or kind != "sms":
            continue
        found += [(name, adapter, most) for adapter, most in channel_limits(settings, name)]
    return found


def channel_limits(settings: Settings, channel: str) -> list[tuple[str, int]]:
    """(adapter, most characters) for each adapter of ``channel`` that limits a text."""
    config = settings.channels.get(channel)
    if config is None:
        return []
    adapters = [config.adapter] if config.adapter else [p.adapter for p in config.providers]
    found = [(adapter, _most_chars(adapter)) for adapter in dict.fromkeys(adapters)]
    return [(adapter, most) for adapter, most in found if most is not None]


@lru_cache(maxsize=64)
def _most_chars(adapter: str) -> int | None:
    """The adapter's ``max_body_chars`` (planning asks for every message)."""
    try:
        return adapter_class(adapter).max_body_chars
    except Exception:  # an unknown adapter: the configuration check reports it
        return None


def first_text_line(source: str) -> int | None:
    """The first line that prints something: where a message's text starts."""
    for number, text in enumerate(source.splitlines(), 1):
        if not _STATEMENT_ONLY.match(text):
            return number
    return None
