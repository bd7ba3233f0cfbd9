"""Messages a customer asked for: double opt-in confirmations, their preference link.

They go through the same outbox as marketing (so they are sent once, retried, and
survive a crash) but are marked ``transactional``: the dispatcher sends them without
marketing consent, which the person is in the middle of giving, and still honours
the suppression list.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection

from rapport.engine.core.models import MessageStatus
from rapport.engine.delivery import outbox
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
