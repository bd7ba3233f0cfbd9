"""``rapport campaigns validate``: every campaign file and template, checked in one pass.

A marketer should be able to fix everything in one edit-and-validate cycle, so
nothing here stops at the first problem. Campaign files are loaded as the planner
loads them; then each template a customer could receive is rendered against sample
customers (see :func:`rapport.engine.campaigns.samples.sample_context`) in the default
locale, every configured locale and every locale folder present, the way the daemon
would render it. Each part of a message is rendered on its own, so a broken subject
does not hide a broken body. A holiday campaign's sample is rendered once per tone it
reaches (``trigger.tones``), so the observance and mourning wording is checked too; a
mourning day with an offer is refused when the campaign file loads
(:func:`rapport.engine.campaigns.model.load_campaign`), at the line of ``tones`` or
``names``.

Beyond "does it render", e-mail bodies must show the preference link and an SMS
must carry the STOP opt-out hint: the consent promises in the spec depend on it. An
SMS must also fit the campaign's ``sms_max_segments``, since every segment is billed.

Findings come in two severities. *Problems* fail validation. *Warnings* are shown
but let the campaigns go live: a configured locale a campaign has no templates for
(its customers get the default locale's, see ``locales.missing_templates`` to make
that a problem), and a typographic character such as ``’`` that alone turns an SMS
from GSM-7 into UCS-2, more than halving what one segment holds.

The configuration the messages depend on is checked too (:func:`check_configuration`):
a ``web.base_url`` that is not HTTPS makes every link in them plain HTTP,
``List-Unsubscribe`` included (RFC 8058 requires HTTPS): a warning, and a problem with
``production: true``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.core.baseurl import insecure_base_url
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem
from rapport.engine.rendering.errors import TemplateMissing, TemplateProblemError
from rapport.engine.rendering.locales import language
from rapport.engine.rendering.renderer import (
    CHANNEL_PARTS,
    EMAIL_HTML,
    EMAIL_TEXT,
    SMS_TEXT,
    ChannelKind,
    Renderer,
    is_channel_kind,
)
from rapport.engine.rendering.sms_encoding import count_sms, non_gsm_characters
from rapport.engine.triggers.models import HolidayTrigger

__all__ = ["ValidationReport", "check_campaigns", "check_configuration", "validate_campaigns"]

#: The keyword every SMS provider and our inbound handler honour; see the spec's consent model.
OPT_OUT_KEYWORD = "STOP"

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


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What validation found: ``problems`` fail it, ``warnings`` are only shown."""

    problems: list[Problem]
    warnings: list[Problem]


@dataclass(slots=True)
class _Findings:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)


def check_campaigns(settings: Settings, renderer: Renderer | None = None) -> ValidationReport:
    """Every problem and warning about the campaign files and their templates.

    Each list is sorted by file and line. The same template file can be reached from
    several locales through fallback, so identical findings are reported once.
    """
    campaigns, problems = load_campaigns(settings)
    found = _Findings(problems=list(problems))
    # Library callers (tests) may omit it; the command passes runtime.services'.
    renderer = renderer or Renderer.from_settings(settings)
    for campaign in campaigns:
        kinds = _template_kinds(campaign, settings)
        for kind in kinds:
            _check_channel(renderer, campaign, kind, settings, found)
        gaps = _missing_locales(renderer, campaign, kinds, settings)
        if settings.locales.missing_templates == "fail":
            found.problems.extend(gaps)
        else:
            found.warnings.extend(gaps)
    return ValidationReport(_sorted(found.problems), _sorted(found.warnings))


def check_configuration(settings: Settings, source: str = "config.yaml") -> ValidationReport:
    """What in the configuration (read from ``source``) would spoil every message: a
    ``web.base_url`` that is not HTTPS is a warning, a problem with ``production: true``."""
    why = insecure_base_url(settings)
    if why is None:
        return ValidationReport([], [])
    if settings.production:
        return ValidationReport([Problem(source, None, f"{why} (production: true)")], [])
    return ValidationReport([], [Problem(source, None, why)])


def validate_campaigns(settings: Settings, renderer: Renderer | None = None) -> list[Problem]:
    """The problems that fail validation, sorted by file and line (no warnings)."""
    return check_campaigns(settings, renderer).problems


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file, p.line or 0, p.field or "", p.message))


def _template_kinds(campaign: Campaign, settings: Settings) -> list[ChannelKind]:
    """The template kinds a campaign's channels need, from each channel's configured kind."""
    kinds: list[ChannelKind] = []
    for name in campaign.channels:
        config = settings.channels.get(name)
        kind = config.kind if config is not None and config.kind else name
        if is_channel_kind(kind) and kind not in kinds:
            kinds.append(kind)
    return kinds


def _locales(renderer: Renderer, template_set: str, settings: Settings) -> list[str]:
    """Default first, then the configured locales, then any other folder that exists."""
    folder = renderer.templates_dir / template_set
    present = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return list(dict.fromkeys([settings.locales.default, *settings.locales.supported, *present]))


def _check_channel(
    renderer: Renderer,
    campaign: Campaign,
    kind: ChannelKind,
    settings: Settings,
    found: _Findings,
) -> None:
    for template_set in campaign.template_sets():
        _check_template_set(renderer, campaign, template_set, kind, settings, found)


def _check_template_set(
    renderer: Renderer,
    campaign: Campaign,
    template_set: str,
    kind: ChannelKind,
    settings: Settings,
    found: _Findings,
) -> None:
    default = settings.locales.default
    problems = found.problems
    for locale in _locales(renderer, template_set, settings):
        problems.extend(_incomplete_folder(renderer, template_set, kind, locale))
        try:
            used = renderer.locale_for(template_set, kind, locale)
        except TemplateMissing as exc:
            # Every other locale falls back to the default, so report the gap once, there.
            if locale == default:
                problems.append(exc.problem)
            continue
        for context in _tone_contexts(
            sample_context(locale, campaign, settings=settings), campaign
        ):
            for part in renderer.parts_present(template_set, kind, used):
                try:
                    output = renderer.render_part(
                        template_set, part, used, context, customer_locale=locale
                    )
                except TemplateProblemError as exc:
                    problems.append(exc.problem)
                    continue
                problems.extend(_promises(renderer, template_set, part, used, output, context))
                if part == SMS_TEXT:
                    _sms_cost(renderer, campaign, template_set, used, output, found)


def _tone_contexts(context: dict[str, Any], campaign: Campaign) -> list[dict[str, Any]]:
    """The sample once per tone a holiday campaign reaches (``trigger.tones``), so the
    observance and mourning wording of a template is rendered and checked too."""
    trigger = campaign.trigger
    if not isinstance(trigger, HolidayTrigger):
        return [context]
    return [
        {**context, "occasion": {**context["occasion"], "tone": tone}} for tone in trigger.tones
    ]


def _missing_locales(
    renderer: Renderer, campaign: Campaign, kinds: list[ChannelKind], settings: Settings
) -> list[Problem]:
    """Configured locales a campaign has no templates in, so their customers fall back.

    A ``fa_IR`` customer served from ``fa/`` is not missing anything: only a fallback
    to another *language* (the default's) is reported, one line per template set.
    """
    default = settings.locales.default
    findings = []
    for template_set in campaign.template_sets():
        lacking: dict[str, list[str]] = {}
        fallback = default
        for locale in settings.locales.supported:
            for kind in kinds:
                try:
                    used = renderer.locale_for(template_set, kind, locale)
                except TemplateMissing:
                    continue  # the default lacks them too: already a problem
                if language(used) != language(locale):
                    lacking.setdefault(locale, []).append(kind)
                    fallback = used
        if not lacking:
            continue
        listed = ", ".join(f"{locale} ({', '.join(kinds)})" for locale, kinds in lacking.items())
        findings.append(
            Problem(
                renderer.folder_of(template_set),
                None,
                f"campaign {campaign.id!r} has no templates for {listed}:"
                f" those customers get the {fallback!r} ones",
            )
        )
    return findings


def _sms_cost(
    renderer: Renderer,
    campaign: Campaign,
    template_set: str,
    locale: str,
    output: str,
    found: _Findings,
) -> None:
    """The sample SMS against the campaign's segment limit, and avoidable UCS-2."""
    file = renderer.file_of(template_set, SMS_TEXT, locale)
    line = _first_text_line(renderer.source_of(template_set, SMS_TEXT, locale))
    encoding, units, segments = count_sms(output)
    limit = campaign.sms_max_segments
    if limit is not None and segments > limit:
        found.problems.append(
            Problem(
                file,
                line,
                f"the SMS takes {segments} segments ({units} {encoding} units for the sample"
                f" {locale} customer); the campaign allows {limit} (sms_max_segments)",
            )
        )
    culprits = non_gsm_characters(output)
    if culprits and all(c in TYPOGRAPHIC for c in culprits):
        names = ", ".join(f"{c!r} (U+{ord(c):04X}) by {TYPOGRAPHIC[c]}" for c in culprits)
        found.warnings.append(
            Problem(
                file,
                line,
                f"only typographic characters make this SMS UCS-2 (70 characters a segment"
                f" instead of 160): replace {names}",
            )
        )


def _first_text_line(source: str) -> int | None:
    """The first line that prints something: where a message's text starts."""
    for number, text in enumerate(source.splitlines(), 1):
        if not _STATEMENT_ONLY.match(text):
            return number
    return None


def _incomplete_folder(
    renderer: Renderer, template_set: str, kind: ChannelKind, locale: str
) -> list[Problem]:
    """A folder with some parts but not all is silently skipped at send time; say so."""
    present = renderer.parts_present(template_set, kind, locale)
    missing = [p for p in CHANNEL_PARTS[kind].required if p not in present]
    if not present or not missing:
        return []
    file = renderer.file_of(template_set, missing[0], locale)
    return [
        Problem(
            file,
            None,
            f"missing, so the {kind} templates in {template_set}/{locale} are never used"
            f" (it has {', '.join(present)}; customers get a fallback locale instead)",
        )
    ]


def _promises(
    renderer: Renderer,
    template_set: str,
    part: str,
    locale: str,
    output: str,
    context: dict[str, object],
) -> list[Problem]:
    """Consent promises a template must keep: a visible preference link, an SMS opt-out."""
    file = renderer.file_of(template_set, part, locale)
    links = context["links"]
    assert isinstance(links, dict)
    if part in (EMAIL_TEXT, EMAIL_HTML) and links["preferences"] not in output:
        return [
            Problem(
                file,
                None,
                "the e-mail must show the preference link: add {{ links.preferences }}",
            )
        ]
    if part == SMS_TEXT and OPT_OUT_KEYWORD not in output:
        return [
            Problem(
                file,
                None,
                f"the SMS must carry an opt-out hint naming {OPT_OUT_KEYWORD}"
                " (e.g. 'Reply STOP to opt out')",
            )
        ]
    return []
