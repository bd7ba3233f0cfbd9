"""``rapport campaigns validate``: every campaign file and template, checked in one pass.

A marketer should be able to fix everything in one edit-and-validate cycle, so
nothing here stops at the first problem. Campaign files are loaded as the planner
loads them; then each template a customer could receive is rendered against sample
customers (see :func:`rapport.engine.rendering.sample_context`) in the default
locale, every configured locale and every locale folder present, the way the daemon
would render it. Each part of a message is rendered on its own, so a broken subject
does not hide a broken body.

Beyond "does it render", e-mail bodies must show the preference link and an SMS
must carry the STOP opt-out hint: the consent promises in the spec depend on it.
"""

from __future__ import annotations

from rapport.engine.campaigns import Campaign, load_campaigns
from rapport.engine.config import Settings
from rapport.engine.errors import Problem
from rapport.engine.rendering import (
    CHANNEL_PARTS,
    EMAIL_HTML,
    EMAIL_TEXT,
    SMS_TEXT,
    ChannelKind,
    Renderer,
    TemplateMissing,
    TemplateProblemError,
    sample_context,
)

__all__ = ["validate_campaigns"]

#: The keyword every SMS provider and our inbound handler honour; see the spec's consent model.
OPT_OUT_KEYWORD = "STOP"


def validate_campaigns(settings: Settings, renderer: Renderer | None = None) -> list[Problem]:
    """Every problem with the campaign files and their templates, sorted by file and line.

    The same template file can be reached from several locales through fallback, so
    identical problems are reported once.
    """
    campaigns, problems = load_campaigns(settings)
    renderer = renderer or Renderer.from_settings(settings)
    for campaign in campaigns:
        for kind in _template_kinds(campaign, settings):
            problems.extend(_check_channel(renderer, campaign, kind, settings))
    unique = dict.fromkeys(problems)
    return sorted(unique, key=lambda p: (p.file, p.line or 0, p.field or "", p.message))


def _template_kinds(campaign: Campaign, settings: Settings) -> list[ChannelKind]:
    """The template kinds a campaign's channels need, from each channel's configured kind."""
    kinds: list[ChannelKind] = []
    for name in campaign.channels:
        config = settings.channels.get(name)
        kind = config.kind if config is not None and config.kind else name
        if kind in CHANNEL_PARTS and kind not in kinds:
            kinds.append(kind)  # type: ignore[arg-type]
    return kinds


def _locales(renderer: Renderer, template_set: str, settings: Settings) -> list[str]:
    """Default first, then the configured locales, then any other folder that exists."""
    folder = renderer.templates_dir / template_set
    present = sorted(p.name for p in folder.iterdir() if p.is_dir()) if folder.is_dir() else []
    return list(dict.fromkeys([settings.locales.default, *settings.locales.supported, *present]))


def _check_channel(
    renderer: Renderer, campaign: Campaign, kind: ChannelKind, settings: Settings
) -> list[Problem]:
    problems: list[Problem] = []
    for template_set in campaign.template_sets():
        problems.extend(_check_template_set(renderer, campaign, template_set, kind, settings))
    return problems


def _check_template_set(
    renderer: Renderer,
    campaign: Campaign,
    template_set: str,
    kind: ChannelKind,
    settings: Settings,
) -> list[Problem]:
    default = settings.locales.default
    problems: list[Problem] = []
    for locale in _locales(renderer, template_set, settings):
        problems.extend(_incomplete_folder(renderer, template_set, kind, locale))
        try:
            used = renderer.locale_for(template_set, kind, locale)
        except TemplateMissing as exc:
            # Every other locale falls back to the default, so report the gap once, there.
            if locale == default:
                problems.append(exc.problem)
            continue
        context = sample_context(locale, campaign, settings=settings)
        for part in renderer.parts_present(template_set, kind, used):
            try:
                output = renderer.render_part(template_set, part, used, context)
            except TemplateProblemError as exc:
                problems.append(exc.problem)
                continue
            problems.extend(_promises(renderer, template_set, part, used, output, context))
    return problems


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
