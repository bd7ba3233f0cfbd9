"""Offer keys no template reads: a misspelt key is refused, not passed on unseen.

``offer`` passes any key Rapport does not know to the templates (``gift``,
``free_shipping``), so a typo in a known one loads: ``discount_precent: 20`` gave the
templates an ``offer.discount_precent`` nobody prints and no ``offer.discount_percent``,
and every message of the campaign silently went out without its discount (the shipped
templates test ``offer.discount_percent is defined``). Validation therefore asks the
campaign's templates (every template set, channel kind and locale folder, partials
included) whether any reads each extra key, and refuses one none reads at its line,
naming the known key it is closest to. The question errs towards yes
(:meth:`rapport.engine.rendering.renderer.Renderer.reads`): a template that loops over
``offer`` or picks a key at run time reads every key.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable

from rapport.engine.campaigns.model import Campaign, Offer, campaign_files
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem
from rapport.engine.core.yamlsource import YamlSyntaxError, load_yaml
from rapport.engine.rendering.renderer import ChannelKind, Renderer

__all__ = ["unread_offer_keys"]

#: The keys Rapport itself knows (see docs/campaigns.md, "Offers and coupon codes").
KNOWN_KEYS = tuple(Offer.model_fields)


def unread_offer_keys(
    campaign: Campaign,
    settings: Settings,
    renderer: Renderer,
    kinds: Iterable[ChannelKind],
) -> list[Problem]:
    """A problem for each key of ``campaign.offer`` that Rapport does not know and that
    no template the campaign can send reads."""
    extra = list(campaign.offer.model_extra or {})
    if not extra:
        return []
    kinds = list(kinds)
    unread = [key for key in extra if not _read(campaign, settings, renderer, kinds, key)]
    if not unread:
        return []
    lines = _lines(campaign, settings)
    sets = ", ".join(repr(s) for s in campaign.template_sets())
    problems = []
    for key in unread:
        hint = _hint(key)
        message = f"no template of {sets} reads offer.{key}, so no customer would see it{hint}"
        line = lines.get(key)
        problems.append(Problem(campaign.source, line, message, f"offer.{key}"))
    return problems


def _read(
    campaign: Campaign,
    settings: Settings,
    renderer: Renderer,
    kinds: list[ChannelKind],
    key: str,
) -> bool:
    name = f"offer.{key}"
    for template_set in campaign.template_sets():
        folder = renderer.templates_dir / template_set
        present = [p.name for p in folder.iterdir() if p.is_dir()] if folder.is_dir() else []
        locales = dict.fromkeys([settings.locales.default, *settings.locales.supported, *present])
        for kind in kinds:
            if any(renderer.reads(template_set, kind, locale, name) for locale in locales):
                return True
    return False


def _hint(key: str) -> str:
    close = difflib.get_close_matches(key, KNOWN_KEYS, n=1, cutoff=0.7)
    if close:
        return f"; did you mean {close[0]!r}?"
    return f"; use it in a template (offer.{key}) or remove it"


def _lines(campaign: Campaign, settings: Settings) -> dict[str, int]:
    """The line of each key under ``offer`` in the campaign's file (empty if unreadable)."""
    for path in campaign_files(settings.campaigns_path):
        if path.stem != campaign.id:
            continue
        try:
            doc = load_yaml(path, campaign.source)
        except YamlSyntaxError:
            return {}
        offer = doc.data.get("offer") if isinstance(doc.data, dict) else None
        if isinstance(offer, dict):
            return {str(k): doc.line_of(("offer", k)) for k in offer}
    return {}
