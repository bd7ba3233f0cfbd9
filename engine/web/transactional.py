"""Messages a customer asked for: double opt-in confirmations, their preference link.

They go through the same outbox as marketing (so they are sent once, retried, and
survive a crash) but are marked ``transactional``: the dispatcher sends them without
marketing consent, which the person is in the middle of giving, and still honours
the suppression list. E-mails are ``mail/<template>_{subject.txt,body.txt,body.html}``,
texts ``mail/<template>.txt``; both are rendered in the customer's language. A text
is sent at once, whatever the hour: the customer asked for it a moment ago, as for
the replies to STOP and HELP.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from rapport.engine.core.models import MessageStatus
from rapport.engine.delivery import outbox
from rapport.engine.rendering.sms_encoding import count_sms
from rapport.engine.web.pages import Pages

TRANSACTIONAL_TOPIC = "transactional"


def enqueue_email(
    connection: Connection,
    pages: Pages,
    *,
    customer_id: str,
    template: str,
    occasion: str,
    locale: str,
    now: datetime,
    **context: object,
) -> bool:
    """Render ``mail/<template>_{subject.txt,body.txt,body.html}`` and queue it once.

    ``occasion`` makes the idempotency key: the same request (say, confirming the
    same pending grants) never produces two e-mails. Returns whether it was new.
    """
    subject = pages.render(f"{template}_subject.txt", locale, **context).strip()
    text = pages.render(f"{template}_body.txt", locale, **context)
    html = pages.render(f"{template}_body.html", locale, **context)
    row = outbox.outbox_row(
        customer_id=customer_id,
        campaign=f"_{template}",
        occasion=occasion,
        channel="email",
        topic=TRANSACTIONAL_TOPIC,
        locale=locale,
        transactional=True,
        status=MessageStatus.QUEUED,
        subject=" ".join(subject.split()),
        body_text=text,
        body_html=html,
        send_at=now,
        created_at=now,
    )
    return outbox.enqueue(connection, [row]) == 1


def enqueue_sms(
    connection: Connection,
    pages: Pages,
    *,
    customer_id: str,
    template: str,
    occasion: str,
    locale: str,
    now: datetime,
    channel: str = "sms",
    expires_at: datetime | None = None,
    **context: object,
) -> bool:
    """Render ``mail/<template>.txt`` as one paragraph of text and queue it once.

    ``occasion`` makes the idempotency key, as for :func:`enqueue_email`; a text not
    sent by ``expires_at`` is dropped (a confirmation request past its window would
    ask for a reply that no longer counts). Returns whether it was new.
    """
    text = " ".join(pages.render(f"{template}.txt", locale, **context).split())
    row = outbox.outbox_row(
        customer_id=customer_id,
        campaign=f"_{template}",
        occasion=occasion,
        channel=channel,
        topic=TRANSACTIONAL_TOPIC,
        locale=locale,
        transactional=True,
        status=MessageStatus.QUEUED,
        body_text=text,
        segments=count_sms(text).segments,
        send_at=now,
        created_at=now,
        expires_at=expires_at,
    )
    return outbox.enqueue(connection, [row]) == 1
