"""The message an adapter receives: a claimed row, its recipient as the check read them.

Everything a provider sees is decided here, from plain data: the address and name read
right before the send, the one-click unsubscribe headers of a marketing e-mail, the
Message-ID derived from the idempotency key (so a copy sent after a crash can be
dropped downstream), and the opt-out hint of a customer's first marketing SMS.
"""

from __future__ import annotations

from rapport.channels.base import OutgoingMessage
from rapport.channels.mime import message_id_for
from rapport.consent.links import unsubscribe_headers
from rapport.consent.tokens import Signer
from rapport.engine.core.config import Settings
from rapport.engine.core.i18n import gettext, ui_language
from rapport.engine.core.i18n import gettext_noop as _
from rapport.engine.core.sender import from_header
from rapport.engine.core.text import names_stop
from rapport.engine.delivery.claims import Claimed
from rapport.engine.delivery.fence import Verdict
from rapport.engine.rendering.locales import full_name

OPT_OUT_HINT = _("Reply STOP to opt out")


def build_outgoing(
    message: Claimed,
    verdict: Verdict,
    kind: str,
    settings: Settings,
    signer: Signer,
    texted: set[str],
) -> OutgoingMessage:
    """``texted``: customers sent a marketing SMS earlier in this pass (their outcomes
    may not be written yet); a customer texted now is added. Raises ValueError for a
    header value the builder refuses."""
    row, address = verdict.recipient, verdict.address
    assert row is not None and address is not None, "only a message that may go is built"
    headers: dict[str, str] = {}
    if kind == "email" and not message.transactional:
        headers.update(unsubscribe_headers(message.customer_id, message.channel, settings, signer))
    text = message.body_text
    if kind == "sms" and not message.transactional:
        first = not verdict.texted_before and message.customer_id not in texted
        texted.add(message.customer_id)
        text = with_opt_out_hint(text, message.locale) if first else text
    return OutgoingMessage(
        idempotency_key=message.idempotency_key,
        kind=kind,
        to=address,
        to_name=full_name(row.first_name, row.last_name, row.locale) or None,
        text=text,
        subject=message.subject,
        html=message.body_html,
        sender=from_header(settings.sender, message.locale),
        message_id=message_id_for(message.idempotency_key, settings.sender.message_id_domain),
        headers=headers,
        locale=message.locale,
        customer_id=message.customer_id,
        campaign=message.campaign,
    )


def with_opt_out_hint(text: str, locale: str) -> str:
    """The first marketing SMS to a customer always says how to stop them.

    Templates normally carry the hint; this is the safety net for one that does not.
    """
    if names_stop(text):  # the word, in capitals: "Stop by our shop" is no hint
        return text
    return f"{text.rstrip()}\n{gettext(ui_language(locale), OPT_OUT_HINT)}"
