"""Double opt-in: a pending grant counts only once the customer confirms it.

A grant made on the web for a channel in
:data:`~rapport.consent.preferences.DOUBLE_OPT_IN` is recorded ``pending`` (with the
wording the page showed); planning and dispatch treat pending as "no". The customer
confirms from the address itself:

* e-mail: the signed link in the confirmation e-mail (source ``double_opt_in``);
* SMS: a reply YES (or a configured local word such as بله or 确认) from the number,
  within the validity window counted from when the pending grant was made
  (``web.confirm_link_days``, 7 days by default: as long as an e-mail confirmation
  link works). Recorded with source ``sms_reply`` and wording
  ``<version of the confirmation text> keyword:<WORD>``.

A pending grant older than the window is left pending (it never counts); the customer
can switch the topic off and on again to get a new confirmation text.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import Connection

from rapport.consent.state import CurrentConsent, current_states
from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.models import ConsentStatus
from rapport.engine.core.timeutil import as_utc

#: The source of a grant confirmed by replying YES to the confirmation text.
SMS_REPLY_SOURCE = "sms_reply"
#: The version of the confirmation text (``engine/web/mail/sms_confirm.txt`` and its
#: translations). Change it whenever that text changes in any language:
#: ``tests/engine/web/test_sms_opt_in.py`` pins what each version says.
#: v2: the brand after the text in Persian and Arabic, the SMS signature first in Chinese.
SMS_CONFIRM_WORDING = "sms-confirm-v2"


def sms_reply_wording(word: str) -> str:
    """What a YES reply records: the text the customer answered and the word they sent."""
    return f"{SMS_CONFIRM_WORDING} keyword:{word}"


def pending_grants(
    connection: Connection,
    customer_id: str,
    channels: Collection[str],
    *,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[CurrentConsent]:
    """The customer's topics now ``pending`` on any of ``channels``, made at or after
    ``since`` and at or before ``until`` when given."""
    return [
        state
        for state in current_states(connection, customer_id)
        if state.channel in channels
        and state.status == ConsentStatus.PENDING
        and (since is None or as_utc(state.captured_at) >= as_utc(since))
        and (until is None or as_utc(state.captured_at) <= as_utc(until))
    ]


def confirm_pending(
    connection: Connection,
    customer_id: str,
    channels: Collection[str],
    *,
    source: str,
    wording: str,
    now: datetime,
    since: datetime | None = None,
    captured_at: datetime | None = None,
    locale: str | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
) -> list[CurrentConsent]:
    """Grant what :func:`pending_grants` finds, in the caller's transaction; returns it.

    ``captured_at`` is when the customer confirmed, when that is earlier than ``now``
    (a reply the provider delivered late): only what was pending by then is confirmed.
    A second confirmation finds nothing pending and records nothing.
    """
    captured_at = captured_at or now
    found = pending_grants(connection, customer_id, channels, since=since, until=captured_at)
    record_consent(
        connection,
        [
            ConsentChange(
                customer_id,
                state.channel,
                state.topic,
                ConsentStatus.GRANTED.value,
                source,
                captured_at,
                wording=wording,
                ip=ip,
                user_agent=user_agent,
                locale=locale,
            )
            for state in found
        ],
        recorded_at=now,
    )
    return found
