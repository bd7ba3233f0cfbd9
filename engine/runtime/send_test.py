"""``rapport send-test``: one campaign message, marked as a test, to an address the
marketer gives, at once.

The message is rendered like the preview (a synthetic customer of the locale, or a
real customer's context with ``--customer``) and handed straight to the channel's
lane, the same adapters the dispatcher uses, but it never enters the outbox: no
message row, no attempt, no outcome, so it appears in no report, history, cap or
frequency count, and it cannot be retried or sent twice by a daemon. It is visibly a
test: the subject (or the text of an SMS) starts with :data:`TEST_MARK`, and an
e-mail carries the header ``X-Rapport-Test: 1``.

The address is checked as an import checks one (:mod:`rapport.engine.customers.fields`):
an e-mail address by syntax, a phone number in E.164 form; and it must not be on the
suppression list (a bounce, complaint, STOP or an erased customer's hashed address:
:func:`~rapport.engine.delivery.suppression.suppressed_addresses`), which no test
overrides. The address is never logged; the line logged says the campaign, channel and
outcome.

With ``--customer`` the message shows a real customer's data to someone else, so it
carries none of that customer's working links: every signed link (preferences,
unsubscribe, feedback) holds :data:`~rapport.consent.tokens.SAMPLE_TOKEN`, as the
sample customer's do, and coupon codes are derived from the sample key. The customer's
locale goes through the renderer's fallback chain as planning and preview take it
(``fa_IR`` -> ``fa``, ``zh_TW`` -> ``zh_Hant``); an explicit ``--locale`` may be regional
too, and must fall back to a locale the campaign is previewed in.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from rapport.channels.base import Outcome, OutgoingMessage
from rapport.channels.mime import message_id_for
from rapport.consent.tokens import StandInSigner
from rapport.engine.campaigns.model import Campaign
from rapport.engine.campaigns.samples import SAMPLE_COUPON_KEY, sample_context
from rapport.engine.campaigns.validate import template_locales
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import NotFound, RapportError, UserError
from rapport.engine.core.i18n import locale_candidates
from rapport.engine.core.sender import from_header
from rapport.engine.customers import fields
from rapport.engine.delivery.suppression import suppressed_addresses
from rapport.engine.planning.planner import variant_for
from rapport.engine.planning.preview import prepare_preview, preview_context
from rapport.engine.rendering.renderer import channel_kind, is_channel_kind
from rapport.engine.runtime import services

__all__ = [
    "TEST_HEADER",
    "TEST_MARK",
    "AddressSuppressed",
    "SendTestFailed",
    "SentTest",
    "send_test",
]

log = logging.getLogger("rapport.send_test")

#: What the subject of a test e-mail, or the text of a test SMS, starts with.
TEST_MARK = "[TEST]"
#: The header every test e-mail carries, for filters and for whoever reads the source.
TEST_HEADER = "X-Rapport-Test"


class AddressSuppressed(UserError):
    """The address is on the suppression list: no message goes to it, not even a test."""


class SendTestFailed(RapportError):
    """The provider refused the test message or could not be reached (exit 3)."""


@dataclass(frozen=True, slots=True)
class SentTest:
    """What was sent: the channel, the template locale used, the provider's id."""

    channel: str
    locale: str
    provider_id: str | None


def _channel(campaign: Campaign, settings: Settings, wanted: str | None) -> tuple[str, str]:
    """(channel name, message kind) of the test; UserError for one the campaign lacks."""
    name = wanted or campaign.channels[0]
    if name not in campaign.channels:
        raise UserError(
            f"--channel: campaign {campaign.id} does not use {name!r}; it uses "
            + ", ".join(campaign.channels)
        )
    config = settings.channels.get(name)
    if config is None:
        raise UserError(f"--channel: {name!r} is not configured under channels in config.yaml")
    kind = config.kind or name
    if not is_channel_kind(kind):
        raise UserError(f"--channel: {name!r} sends {kind!r} messages, which have no templates")
    return name, kind


def _address(kind: str, to: str, settings: Settings, name: str, campaign: Campaign) -> str:
    """``to``, normalised as an import would store it; UserError saying what is wrong
    and, when the campaign has a channel of the other kind, to pick it."""
    try:
        if kind == "email":
            return fields.sendable_email(
                to.strip(), "--to", utf8_mailboxes=fields.utf8_mailboxes(settings)
            )
        return fields.phone(to.strip(), "--to")
    except fields.FieldInvalid as exc:
        why = f"{exc} (channel {name!r} needs {_what(kind)}"
        other = "sms" if kind == "email" else "email"
        for each in campaign.channels:
            config = settings.channels.get(each)
            if config is not None and (config.kind or each) == other:
                given = "a phone number" if other == "sms" else "an e-mail address"
                why += f"; for {given} give --channel {each}"
                break
        raise UserError(why + ")") from None


def _what(kind: str) -> str:
    return "an e-mail address" if kind == "email" else "a phone number in E.164 form"


def _refuse_suppressed(engine: Engine, kind: str, address: str) -> None:
    """AddressSuppressed when ``address`` is on the suppression list, plainly or as an
    erased customer's hash. The message says neither why nor whose it was."""
    with engine.connect() as connection:
        listed = suppressed_addresses(connection, [(kind, address)])
    if listed:
        raise AddressSuppressed(
            "--to: this address is on the suppression list (a bounce, complaint, STOP or "
            "erasure); no message goes to it, not even a test"
        )


def _chosen_locale(wanted: str, known: list[str]) -> str:
    """``wanted`` (``--locale``) when it, or a locale it falls back to (``fa_IR`` -> fa,
    ``zh_TW`` -> zh_Hant), is one of ``known``; NotFound otherwise."""
    lowered = {name.lower() for name in known}
    if any(candidate.lower() in lowered for candidate in locale_candidates(wanted)):
        return wanted
    raise NotFound(f"--locale: {wanted!r} is not one of {', '.join(known)}")


async def send_test(
    settings: Settings,
    campaign: Campaign,
    to: str,
    day: date,
    *,
    channel: str | None = None,
    locale: str | None = None,
    customer_id: str | None = None,
    engine: Engine,
) -> SentTest:
    """Render ``campaign`` and send it, marked as a test, to ``to`` through ``channel``.

    ``locale``: the language to render (default: the customer's, else the default
    locale); it must be, or fall back to, one the campaign is previewed in.
    ``customer_id``: render with that customer's data, as the planner would, but with
    stand-in links and coupon codes; without it, the synthetic customer of the locale.
    ``engine`` is the database whose suppression list is checked first.
    """
    name, kind = _channel(campaign, settings, channel)
    address = _address(kind, to, settings, name, campaign)
    _refuse_suppressed(engine, kind, address)
    renderer = services.renderer(settings)
    template_set = variant_for(campaign, customer_id or "sample")[1]
    if locale is not None:
        locale = _chosen_locale(locale, template_locales(renderer, template_set, settings))
    if customer_id is None:
        locale = locale or settings.locales.default
        context: Mapping[str, Any] = sample_context(locale, campaign, settings=settings)
    else:
        prepared = prepare_preview(engine, settings, campaign, customer_id, day)
        reading = renderer.reading_locale(
            template_set, channel_kind(kind), locale or prepared.profile.locale
        )
        profile, _, context = preview_context(
            prepared,
            settings,
            StandInSigner(),
            name,
            locale,
            coupon_key=SAMPLE_COUPON_KEY,
            reading_locale=reading,
        )
        locale = profile.locale
    rendered = renderer.render(template_set, channel_kind(kind), locale, context)
    key = f"test:{campaign.id}:{uuid.uuid4().hex}"
    marked = f"{TEST_MARK} "
    message = OutgoingMessage(
        idempotency_key=key,
        kind=kind,
        to=address,
        text=rendered.text if kind == "email" else marked + rendered.text,
        subject=marked + (rendered.subject or "") if kind == "email" else None,
        html=rendered.html,
        sender=from_header(settings.sender, rendered.locale),
        message_id=message_id_for(key, settings.sender.message_id_domain),
        headers={TEST_HEADER: "1"} if kind == "email" else {},
        locale=rendered.locale,
        customer_id=customer_id or "test",
        campaign=campaign.id,
    )
    lanes = services.lanes(settings)
    try:
        result = await lanes[name].send(message)
    finally:
        for lane in lanes.values():
            await lane.aclose()
    log.info(
        "test message through %s: %s",
        name,
        result.outcome.value,
        extra={"campaign": campaign.id, "channel": name},
    )
    if result.outcome is not Outcome.ACCEPTED:
        raise SendTestFailed(
            f"{name} did not accept the test message ({result.outcome.value}): "
            f"{result.reason or 'no reason given'}"
        )
    return SentTest(name, rendered.locale, result.provider_id)
