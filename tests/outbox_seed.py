"""Due messages for the process-level tests (crash safety, daemons): one way to make them."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, insert, select

from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.core.models import CUSTOMER, OUTBOX


@dataclass(frozen=True)
class Persona:
    """Who the seeded customers are and what their messages say."""

    prefix: str
    first_name: str
    last_name: str
    phone_prefix: str
    phone_digits: int  # after the prefix
    locale: str
    timezone: str
    subject: str
    text: str  # formatted with the message number as {n}


PERSIAN = Persona(
    "K",
    "سارا",
    "احمدی",
    "+98912",
    7,
    "fa_IR",
    "Asia/Tehran",
    "پیشنهاد ویژه",
    "پیام شماره {n} — لغو: STOP",
)
CHINESE = Persona(
    "P", "伟", "王", "+86138", 8, "zh_CN", "Asia/Shanghai", "双十一", "消息 {n} 回复STOP退订"
)


def seed_due_messages(
    url: str, messages: int, customers: int, persona: Persona, campaign: str
) -> None:
    """Migrate, add customers with e-mail and SMS consent, and queue ``messages`` due
    now, alternating e-mail and SMS."""
    engine = make_engine(url)
    upgrade(engine)
    now = datetime.now(UTC)
    people = [
        {
            "id": f"{persona.prefix}{n:04d}",
            "first_name": persona.first_name,
            "last_name": persona.last_name,
            "email": f"{persona.prefix.lower()}{n}@example.com",
            "phone": f"{persona.phone_prefix}{n:0{persona.phone_digits}d}",
            "locale": persona.locale,
            "timezone": persona.timezone,
            "created_at": now,
        }
        for n in range(customers)
    ]
    with engine.begin() as connection:
        connection.execute(insert(CUSTOMER), people)
        record_consent(
            connection,
            [
                ConsentChange(p["id"], channel, "offers", "granted", "test", now)
                for p in people
                for channel in ("email", "sms")
            ],
            recorded_at=now,
        )
        connection.execute(
            insert(OUTBOX),
            [
                {
                    "idempotency_key": f"{people[n % customers]['id']}:{campaign}:{n}:{channel}",
                    "customer_id": people[n % customers]["id"],
                    "campaign": campaign,
                    "occasion": str(n),
                    "channel": channel,
                    "topic": "offers",
                    "locale": persona.locale,
                    "subject": persona.subject if channel == "email" else None,
                    "body_text": persona.text.format(n=n),
                    "send_at": now,
                    "created_at": now,
                    "status": "queued",
                    "attempts": 0,
                }
                for n in range(messages)
                for channel in (("email",) if n % 2 == 0 else ("sms",))
            ],
        )
    engine.dispose()


def outbox_statuses(url: str) -> Counter[str]:
    engine = make_engine(url)
    with engine.connect() as connection:
        rows = connection.execute(select(OUTBOX.c.status, func.count()).group_by(OUTBOX.c.status))
        found = Counter({status: n for status, n in rows})
    engine.dispose()
    return found
