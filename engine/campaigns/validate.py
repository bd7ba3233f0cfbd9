"""``rapport campaigns validate``: every campaign file and template, checked in one pass.

A marketer should be able to fix everything in one edit-and-validate cycle, so
nothing here stops at the first problem. Campaign files are loaded as the planner
loads them; then each template a customer could receive is rendered against
synthetic customers (see :func:`rapport.engine.campaigns.samples.sample_context`) in
the default locale, every configured locale and every locale folder present, the way
the daemon would render it. The customers are a small set that covers every tier,
lifecycle stage, RFM segment and holiday tone the campaign can reach, and the
optional values absent (:func:`rapport.engine.campaigns.coverage.covering_traits`),
so a typo in a branch only one of them takes is found too. A problem is reported
once per file, line and message, naming the value that reached it when the typical
sample does not: ``... (with customer.tier = rouge)``. Each part of a message is
rendered on its own, so a broken subject does not hide a broken body. A mourning day
with an offer is refused when the campaign file loads
(:func:`rapport.engine.campaigns.model.load_campaign`), at the line of ``tones`` or
``names``.

Beyond "does it render", e-mail bodies must show the preference link and an SMS
must carry the STOP opt-out hint: the consent promises in the spec depend on it. An
SMS must also fit the campaign's ``sms_max_segments``, since every segment is billed.

Findings come in two severities. *Problems* fail validation. *Warnings* are shown
but let the campaigns go live: a configured locale a campaign has no templates for
(its customers get the default locale's, see ``locales.missing_templates`` to make
that a problem), a typographic character such as ``’`` that alone turns an SMS
from GSM-7 into UCS-2, more than halving what one segment holds, and a right-to-left
subject or SMS that starts with a Latin word (:mod:`rapport.engine.campaigns.direction`).

The configuration the messages depend on is checked too (:func:`check_configuration`):
a ``web.base_url`` that is not HTTPS makes every link in them plain HTTP,
``List-Unsubscribe`` included (RFC 8058 requires HTTPS): a warning, and a problem with
``production: true``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path

from babel.core import get_global

from rapport.engine.campaigns.coverage import covering_traits, culprit
from rapport.engine.campaigns.dangling import dangling_lines, template_line
from rapport.engine.campaigns.direction import left_to_right_start
from rapport.engine.campaigns.folders import missing_template_folders
from rapport.engine.campaigns.footer import footer_warnings
from rapport.engine.campaigns.model import Campaign, load_campaigns
from rapport.engine.campaigns.offer_keys import unread_offer_keys
from rapport.engine.campaigns.samples import TYPICAL, Traits, sample_context
from rapport.engine.campaigns.sms_cost import sms_cost
from rapport.engine.campaigns.template_names import misnamed_templates
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem
from rapport.engine.core.i18n import with_script
from rapport.engine.core.production import unfit_for_production
from rapport.engine.core.text import names_stop
from rapport.engine.core.yamlsource import YamlSyntaxError, load_yaml
from rapport.engine.customers.fields import FieldInvalid
from rapport.engine.customers.fields import locale as locale_field
from rapport.engine.rendering.errors import TemplateMissing, TemplateProblemError
from rapport.engine.rendering.locales import language
from rapport.engine.rendering.plain import PlainContext, check_plain
from rapport.engine.rendering.renderer import (
    CHANNEL_PARTS,
    EMAIL_HTML,
    EMAIL_SUBJECT,
    EMAIL_TEXT,
    SMS_TEXT,
    ChannelKind,
    Renderer,
    is_channel_kind,
)

__all__ = [
    "ValidationReport",
    "channels_by_kind",
    "check_campaigns",
    "check_configuration",
    "template_kinds",
    "template_locales",
    "validate_campaigns",
]

#: The keyword every SMS provider and our inbound handler honour; see the spec's consent model.
OPT_OUT_KEYWORD = "STOP"


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """What validation found: ``problems`` fail it, ``warnings`` are only shown."""

    problems: list[Problem]
    warnings: list[Problem]


@dataclass(slots=True)
class _Findings:
    problems: list[Problem] = field(default_factory=list)
    warnings: list[Problem] = field(default_factory=list)
    #: (file, line, message) of every template problem reported: each is reported once.
    seen: set[tuple[str, int | None, str]] = field(default_factory=set)


#: One synthetic customer: what makes it differ from the typical sample, its context.
_Sample = tuple[Traits, PlainContext]


@dataclass(slots=True)
class _Samples:
    """A campaign's synthetic customers per locale, built on first use."""

    campaign: Campaign
    settings: Settings
    traits: list[Traits]
    by_locale: dict[str, list[_Sample]] = field(default_factory=dict)

    def of(self, locale: str) -> list[_Sample]:
        made = self.by_locale.get(locale)
        if made is None:
            made = self.by_locale[locale] = [(t, self.context(locale, t)) for t in self.traits]
        return made

    def context(self, locale: str, traits: Traits) -> PlainContext:
        context = sample_context(locale, self.campaign, settings=self.settings, traits=traits)
        check_plain(context)  # once here rather than at each of its renders
        return PlainContext(context)


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
        if missing := missing_template_folders(campaign, settings):
            found.problems.extend(missing)
            continue  # each of its files would be reported missing, at no campaign's line
        kinds = template_kinds(campaign, settings)
        found.problems.extend(offer_problems(campaign, settings, renderer))
        samples = _Samples(campaign, settings, covering_traits(campaign, settings))
        for kind in kinds:
            for template_set in campaign.template_sets():
                _check_template_set(renderer, samples, template_set, kind, found)
        gaps = _missing_locales(renderer, campaign, kinds, settings)
        if settings.locales.missing_templates == "fail":
            found.problems.extend(gaps)
        else:
            found.warnings.extend(gaps)
    return ValidationReport(_sorted(found.problems), _sorted(found.warnings))


def check_configuration(
    settings: Settings, source: str = "config.yaml", *, read: bool = False
) -> ValidationReport:
    """What in the configuration (read from ``source``) would spoil every message (a
    ``web.base_url`` not HTTPS, a short secret, the shipped example sender:
    :mod:`rapport.engine.core.production`) is a warning, a problem with
    ``production: true``. With ``read``, each names the line of its key in ``source``
    (the file the settings were loaded from)."""
    whys = unfit_for_production(settings)
    line = _lines_of(source) if read else lambda why: None
    if settings.production:
        return ValidationReport(
            [Problem(source, line(why), f"{why} (production: true)") for why in whys], []
        )
    return ValidationReport([], [Problem(source, line(why), why) for why in whys])


def _lines_of(source: str) -> Callable[[str], int | None]:
    """The line of the key a sentence of :func:`check_configuration` names first
    (``web.base_url ...``) where ``source`` writes it; None for a default or a variable."""
    try:
        lines = load_yaml(Path(source)).lines
    except YamlSyntaxError:  # read already when the settings loaded; absent: defaults
        lines = {}
    return lambda why: lines.get(tuple(why.split(" ", 1)[0].split(".")))


def validate_campaigns(settings: Settings, renderer: Renderer | None = None) -> list[Problem]:
    """The problems that fail validation, sorted by file and line (no warnings)."""
    return check_campaigns(settings, renderer).problems


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file, p.line or 0, p.field or "", p.message))


def offer_problems(campaign: Campaign, settings: Settings, renderer: Renderer) -> list[Problem]:
    """Offer keys no template of the campaign reads (:mod:`.offer_keys`): checked here
    and by planning, so a misspelt key is refused even where nobody ran validation."""
    return unread_offer_keys(campaign, settings, renderer, template_kinds(campaign, settings))


def template_kinds(campaign: Campaign, settings: Settings) -> list[ChannelKind]:
    """The template kinds a campaign's channels need, from each channel's configured kind."""
    return list(channels_by_kind(campaign, settings))


def channels_by_kind(campaign: Campaign, settings: Settings) -> dict[ChannelKind, str]:
    """Each template kind the campaign's channels need, with the first channel of it."""
    found: dict[ChannelKind, str] = {}
    for name in campaign.channels:
        config = settings.channels.get(name)
        kind = config.kind if config is not None and config.kind else name
        if is_channel_kind(kind):
            found.setdefault(kind, name)
    return found


def template_locales(renderer: Renderer, template_set: str, settings: Settings) -> list[str]:
    """Default first, then the configured locales, then any other folder that exists."""
    folder = renderer.templates_dir / template_set
    present = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return list(dict.fromkeys([settings.locales.default, *settings.locales.supported, *present]))


def _check_template_set(
    renderer: Renderer,
    samples: _Samples,
    template_set: str,
    kind: ChannelKind,
    found: _Findings,
) -> None:
    settings = samples.settings
    default = settings.locales.default
    for locale in template_locales(renderer, template_set, settings):
        found.problems.extend(_incomplete_folder(renderer, template_set, kind, locale))
        folder = renderer.templates_dir / template_set / locale
        for misnamed in misnamed_templates(folder, renderer.folder_of(template_set, locale)):
            if misnamed not in found.problems:  # once, not once per channel kind
                found.problems.append(misnamed)
        if (stray := _stray_folder(renderer, template_set, locale)) is not None:
            if stray not in found.problems:  # once, not once per channel kind
                found.problems.append(stray)
            continue
        try:
            used = renderer.locale_for(template_set, kind, locale)
        except TemplateMissing as exc:
            # Every other locale falls back to the default, so report the gap once, there.
            if locale == default:
                found.problems.append(exc.problem)
            continue
        for part in renderer.parts_present(template_set, kind, used):
            _check_part(renderer, samples, _Part(template_set, part, used, locale), found)


@dataclass(frozen=True, slots=True)
class _Part:
    """One template file, rendered as for customers of ``locale``."""

    template_set: str
    part: str
    used: str
    locale: str


def _check_part(renderer: Renderer, samples: _Samples, part: _Part, found: _Findings) -> None:
    """Render one part for every synthetic customer; report each problem once."""
    texts: list[tuple[Traits, str]] = []
    typical: str | None = None
    for traits, context in samples.of(part.locale):
        output, problems = _render(renderer, part, context)
        if traits == TYPICAL:
            typical, typical_context = output, context
        elif output is not None and typical is not None:
            _dangling(renderer, samples, part, (traits, output, typical), found)
        overran = output is None and bool(problems) and _BUDGET in problems[0].message
        for problem in problems:
            key = (problem.file, problem.line, problem.message)
            if key in found.seen:
                continue
            found.seen.add(key)
            if traits != TYPICAL and not overran:
                reached = culprit(traits, partial(_meets, renderer, samples, part, key))
                problem = replace(problem, message=f"{problem.message} (with {reached})")
            found.problems.append(problem)
        if overran:
            break  # past its time or memory once: each further customer would cost as much
        if output is not None and part.part == SMS_TEXT:
            texts.append((traits, output))
    where = (part.template_set, part.used)
    problems, warnings = sms_cost(renderer, samples.campaign, samples.settings, where, texts)
    found.problems += problems
    found.warnings += warnings
    if typical is not None:
        _direction(renderer, part, typical, found)
        file = renderer.file_of(part.template_set, part.part, part.used)
        for warning in footer_warnings(file, part.part, typical, typical_context):
            if (warning.file, None, warning.message) not in found.seen:
                found.seen.add((warning.file, None, warning.message))
                found.warnings.append(warning)


def _dangling(
    renderer: Renderer,
    samples: _Samples,
    part: _Part,
    rendered: tuple[Traits, str, str],
    found: _Findings,
) -> None:
    """Warn where a customer's empty value leaves a dangling comma ("Happy birthday, !")."""
    traits, output, typical = rendered
    shape = {"markup": part.part == EMAIL_HTML, "whole": part.part in (EMAIL_SUBJECT, SMS_TEXT)}
    lines = dangling_lines(output, typical=typical, **shape)
    if not lines:
        return
    file = renderer.file_of(part.template_set, part.part, part.used)
    source = renderer.source_of(part.template_set, part.part, part.used)

    def leaves(line: str, alone: Traits) -> bool:
        text, _ = _render(renderer, part, samples.context(part.locale, alone))
        found = dangling_lines(text, typical=typical, **shape) if text is not None else []
        return any(d.text == line for d in found)

    for line in lines:
        reached = culprit(traits, partial(leaves, line.text))
        message = (
            f"with {reached} this reads {line.text[:80]!r}: a dangling separator; put the"
            " value and its comma inside {% if ... %} (see docs/localization.md)"
        )
        problem = Problem(file, template_line(source, line), message)
        key = (problem.file, problem.line, problem.message)
        if key not in found.seen:
            found.seen.add(key)
            found.warnings.append(problem)


def _direction(renderer: Renderer, part: _Part, typical: str, found: _Findings) -> None:
    """Warn where a right-to-left subject or SMS starts with a Latin word."""
    source = renderer.source_of(part.template_set, part.part, part.used)
    file = renderer.file_of(part.template_set, part.part, part.used)
    problem = left_to_right_start(part.part, part.used, typical, file, source)
    if problem is not None and (problem.file, problem.line, problem.message) not in found.seen:
        found.seen.add((problem.file, problem.line, problem.message))
        found.warnings.append(problem)


#: What a refusal by the template budget names (rendering/budget.py and guards.py).
_BUDGET = "(template_limits."


def _render(
    renderer: Renderer, part: _Part, context: PlainContext
) -> tuple[str | None, list[Problem]]:
    """The part rendered for one customer and its problems (or no output and the error)."""
    try:
        output = renderer.render_part(
            part.template_set, part.part, part.used, context, customer_locale=part.locale
        )
    except TemplateProblemError as exc:
        return None, [exc.problem]
    return output, _promises(renderer, part.template_set, part.part, part.used, output, context)


def _meets(
    renderer: Renderer,
    samples: _Samples,
    part: _Part,
    key: tuple[str, int | None, str],
    traits: Traits,
) -> bool:
    """Whether a customer with ``traits`` meets the problem ``key`` (file, line, message)."""
    _, problems = _render(renderer, part, samples.context(part.locale, traits))
    return any((p.file, p.line, p.message) == key for p in problems)


def writing(locale: str) -> tuple[str, str]:
    """A locale's language and script, the script CLDR's likely one when none is
    written: a zh_TW customer (Traditional) served from zh/ (Simplified) lacks their
    own templates as surely as a Persian one served English."""
    tag = with_script(locale.replace("-", "_"))
    parts = tag.split("_")
    script = next((p for p in parts[1:] if len(p) == 4 and p.isalpha()), None)
    if script is None:
        likely = str(get_global("likely_subtags").get(parts[0].lower(), "")).split("_")
        script = likely[1] if len(likely) == 3 else ""
    return language(locale), script.title()


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
                if writing(used) != writing(locale):
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


def _stray_folder(renderer: Renderer, template_set: str, folder: str) -> Problem | None:
    """A folder whose name no customer's locale leads to (``fa-IR``, ``EN``, ``zz``):
    a message comes from the folder named as the locale, its language or the default
    (see :func:`~rapport.engine.rendering.locales.locale_chain`), so it is never used."""
    if not (renderer.templates_dir / template_set / folder).is_dir():
        return None
    try:
        named = locale_field(folder)
    except FieldInvalid:
        named = None
    if named == folder:
        return None
    fix = f"write {named!r}" if named else "not a locale: name it as one, such as 'en' or 'fa_IR'"
    return Problem(
        renderer.folder_of(template_set, folder),
        None,
        f"no customer's locale leads to this folder, so its templates are never used ({fix})",
    )


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
    if part == SMS_TEXT and not names_stop(output):
        return [
            Problem(
                file,
                None,
                f"the SMS must carry an opt-out hint naming {OPT_OUT_KEYWORD}"
                " (e.g. 'Reply STOP to opt out')",
            )
        ]
    return []
