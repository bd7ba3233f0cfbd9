"""A campaign's messages in every locale, for the marketer's preview page.

``/admin/campaigns/{name}`` and ``rapport preview CAMPAIGN --html FILE`` show the same
thing: for each locale the campaign has templates for (the default first, then the
configured locales, then any other folder, as ``campaigns validate`` takes them), the
e-mail (subject, HTML and plain text) and the SMS with its encoding and segment
count (:func:`rapport.engine.rendering.sms_encoding.count_sms`), rendered by the
sandboxed :class:`~rapport.engine.rendering.renderer.Renderer`.

The customer is either the synthetic one ``campaigns validate`` renders for each
language (:func:`rapport.engine.campaigns.samples.sample_context`), or a real customer,
whose context is the one the planner would build (:mod:`rapport.engine.planning.preview`),
with their locale set to each previewed locale in turn. A template that does not
render is a problem shown in its place (FILE:LINE: message), never an exception.
This module gathers plain data; the page itself is built by
:mod:`rapport.engine.web.campaign_pages`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import Engine

from rapport.consent.tokens import Signer
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import sample_context
from rapport.engine.campaigns.upcoming import trigger_rule
from rapport.engine.campaigns.validate import channels_by_kind, template_locales
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError
from rapport.engine.core.i18n import text_direction
from rapport.engine.planning.planner import variant_for
from rapport.engine.planning.preview import CustomerPreview, prepare_preview, preview_context
from rapport.engine.rendering.locales import language
from rapport.engine.rendering.renderer import ChannelKind, Renderer
from rapport.engine.rendering.sms_encoding import Encoding, count_sms

__all__ = [
    "MAX_LOCALES",
    "CampaignPreview",
    "EmailPreview",
    "LocalePreview",
    "SmsPreview",
    "preview_campaign",
    "sample_or_customer_context",
]

#: The most locales one page renders (each is a full render of every channel).
MAX_LOCALES = 12


@dataclass(frozen=True, slots=True)
class EmailPreview:
    subject: str
    text: str
    html: str | None


@dataclass(frozen=True, slots=True)
class SmsPreview:
    text: str
    encoding: Encoding
    units: int
    segments: int


@dataclass(frozen=True, slots=True)
class LocalePreview:
    """One locale's messages. ``used`` is the template folder rendered (another one
    when the locale falls back); ``problems`` are the renders that failed, as
    FILE:LINE: message."""

    locale: str
    lang: str
    direction: str
    used: dict[str, str] = field(default_factory=dict)
    email: EmailPreview | None = None
    sms: SmsPreview | None = None
    problems: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class CampaignPreview:
    campaign_id: str
    name: str
    topic: str
    channels: list[str]
    rule: str
    template_set: str
    #: ``None`` for the synthetic customers, else the real customer's id and locale.
    customer_id: str | None
    customer_locale: str | None
    day: date
    note: str | None
    locales: list[LocalePreview]


def preview_campaign(
    campaign: Campaign,
    settings: Settings,
    renderer: Renderer,
    day: date,
    *,
    engine: Engine | None = None,
    signer: Signer | None = None,
    customer_id: str | None = None,
) -> CampaignPreview:
    """Render ``campaign`` in each of its locales, for a sample or a real customer.

    A real customer (``customer_id``, with ``engine`` and ``signer``) that does not
    exist raises :class:`~rapport.engine.core.errors.NotFound`.
    """
    prepared: CustomerPreview | None = None
    if customer_id is not None:
        assert engine is not None and signer is not None, "a real customer needs both"
        prepared = prepare_preview(engine, settings, campaign, customer_id, day)
    kinds = channels_by_kind(campaign, settings)
    template_set = variant_for(campaign, customer_id or "sample")[1]
    locales = template_locales(renderer, template_set, settings)[:MAX_LOCALES]
    shown = [
        _render_locale(campaign, settings, renderer, template_set, kinds, locale, prepared, signer)
        for locale in locales
    ]
    return CampaignPreview(
        campaign_id=campaign.id,
        name=campaign.name,
        topic=campaign.topic,
        channels=list(campaign.channels),
        rule=trigger_rule(campaign),
        template_set=template_set,
        customer_id=customer_id,
        customer_locale=prepared.profile.locale if prepared else None,
        day=day,
        note=prepared.note if prepared else None,
        locales=shown,
    )


def sample_or_customer_context(
    campaign: Campaign,
    settings: Settings,
    channel: str,
    locale: str,
    prepared: CustomerPreview | None = None,
    signer: Signer | None = None,
) -> Mapping[str, Any]:
    """The context a preview renders in ``locale``: the synthetic customer of that
    language, or the prepared real customer's as the planner would build it."""
    if prepared is None:
        return sample_context(locale, campaign, settings=settings)
    assert signer is not None, "a real customer's links are signed"
    return preview_context(prepared, settings, signer, channel, locale)[2]


def _render_locale(
    campaign: Campaign,
    settings: Settings,
    renderer: Renderer,
    template_set: str,
    kinds: dict[ChannelKind, str],
    locale: str,
    prepared: CustomerPreview | None,
    signer: Signer | None,
) -> LocalePreview:
    used: dict[str, str] = {}
    email: EmailPreview | None = None
    sms: SmsPreview | None = None
    problems: list[str] = []
    for kind, channel in kinds.items():
        try:
            context = sample_or_customer_context(
                campaign, settings, channel, locale, prepared, signer
            )
            rendered = renderer.render(template_set, kind, locale, context)
        except CampaignError as exc:
            problems.extend(str(problem) for problem in exc.problems)
            continue
        used[kind] = rendered.locale
        if kind == "email":
            email = EmailPreview(rendered.subject or "", rendered.text, rendered.html)
        else:
            counted = count_sms(rendered.text)
            sms = SmsPreview(rendered.text, counted.encoding, counted.units, counted.segments)
    lang = locale.replace("_", "-")
    return LocalePreview(locale, lang, text_direction(language(locale)), used, email, sms, problems)
