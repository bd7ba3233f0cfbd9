"""A seeded bulk data set, written straight into the tables (executemany / COPY).

The importer validates every row and is the right path for operators, but far too
slow to load a million customers before each benchmark. This writes the same tables
directly, in chunks, so memory stays flat whatever the size:

- locales en, fa, zh, de, ja, with time zones from Honolulu to Sydney, so part of
  every tick falls outside the send window or the SMS quiet hours;
- consent: about 60 % granted on e-mail and 30 % on SMS (topics offers, birthday,
  reorder), about 8 % of those withdrawn again;
- orders for about half the customers, plus planted serum orders that fall due for a
  reorder reminder on the trickle day;
- about 5 % of customers already at their daily cap: a message sent to them earlier
  on the broadcast day.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Engine

#: (locale, country, time zones, phone prefix, first names, last names)
MARKETS = (
    (
        "en_US",
        "US",
        ("America/New_York", "America/Chicago", "America/Los_Angeles", "Pacific/Honolulu"),
        "+1202555",
        ("Olivia", "Liam", "Emma", "Noah", "Ava"),
        ("Smith", "Johnson", "Brown", "Garcia"),
    ),
    (
        "fa_IR",
        "IR",
        ("Asia/Tehran",),
        "+98912",
        ("سارا", "علی", "مریم", "رضا"),
        ("احمدی", "محمدی", "حسینی"),
    ),
    ("zh_CN", "CN", ("Asia/Shanghai",), "+86138", ("伟", "芳", "娜", "敏"), ("王", "李", "张")),
    (
        "de_DE",
        "DE",
        ("Europe/Berlin",),
        "+49151",
        ("Anna", "Lukas", "Mia", "Felix"),
        ("Müller", "Schmidt", "Weber"),
    ),
    (
        "ja_JP",
        "JP",
        ("Asia/Tokyo", "Australia/Sydney"),
        "+8190",
        ("陽翔", "結衣", "蓮", "葵"),
        ("佐藤", "鈴木", "高橋"),
    ),
)
SKUS = (("SERUM-30ML", "48.00"), ("CLEANSER-150ML", "22.00"), ("TEA-SAMPLER", "18.00"))
TOPICS = ("offers", "birthday", "reorder")
CHUNK = 20_000


@dataclass
class DataSet:
    customers: int
    counts: dict[str, int] = field(default_factory=dict)


def _noon(day: date) -> datetime:
    return datetime.combine(day, time(12))


def customer_rows(
    start: int, stop: int, day: date, seed: int
) -> Iterator[tuple[str, list[tuple[Any, ...]]]]:
    """Rows for customers ``start`` .. ``stop - 1`` as (table, rows) pairs, naive UTC."""
    rng = random.Random(seed * 1_000_003 + start)
    customers, orders, events, states, outbox = [], [], [], [], []
    created = datetime(2024, 1, 10, 10, 0)
    trickle_day = day + timedelta(days=1)
    capped_at = datetime.combine(day, time(11))
    for n in range(start, stop):
        locale, country, zones, prefix, firsts, lasts = MARKETS[n % len(MARKETS)]
        cid = f"B{n:07d}"
        zone = zones[rng.randrange(len(zones))]
        email = f"c{n}@example.com" if rng.random() < 0.95 else None
        phone = f"{prefix}{n % 10_000_000:07d}" if rng.random() < 0.8 else None
        birthday = date(rng.randint(1960, 2004), 1, 1) + timedelta(days=rng.randrange(365))
        customers.append(
            (
                cid,
                firsts[n % len(firsts)],
                lasts[n % len(lasts)],
                email,
                phone,
                locale,
                zone,
                country,
                birthday,
                created,
                None,
            )
        )
        if rng.random() < 0.5:
            for k in range(rng.randint(1, 3)):
                sku, price = SKUS[rng.randrange(len(SKUS))]
                ordered = _noon(day - timedelta(days=rng.randint(60, 700)))
                orders.append((f"O{n:07d}-{k}", cid, sku, 1, price, "USD", ordered))
        if n % 33 == 7:  # planted: a serum due for a reorder reminder on the trickle day
            ordered = _noon(trickle_day - timedelta(days=30))
            orders.append((f"O{n:07d}-r", cid, "SERUM-30ML", 1, "48.00", "USD", ordered))
        for channel, chance, address in (("email", 0.6, email), ("sms", 0.3, phone)):
            if address is None or rng.random() >= chance:
                continue
            status = "withdrawn" if rng.random() < 0.08 else "granted"
            for topic in TOPICS:
                event_id = len(events) + 1  # offset added by the loader
                events.append(
                    (event_id, cid, channel, topic, status, "bench", None, locale, created)
                )
                states.append((cid, channel, topic, status, created, event_id))
        if n % 20 == 0:  # already at the daily cap on the broadcast day
            outbox.append(
                (
                    f"{cid}:earlier:recurring:{day.isoformat()}:email",
                    cid,
                    "earlier",
                    f"recurring:{day.isoformat()}",
                    "email",
                    "offers",
                    locale,
                    "sent",
                    "Earlier",
                    "An earlier message",
                    capped_at,
                    0,
                    capped_at,
                )
            )
    yield "customer", customers
    yield "orders", orders
    yield "consent_event", events
    yield "consent_state", states
    yield "outbox_message", outbox


COLUMNS = {
    "customer": (
        "id",
        "first_name",
        "last_name",
        "email",
        "phone",
        "locale",
        "timezone",
        "country",
        "birthday",
        "created_at",
        "erased_at",
    ),
    "orders": ("id", "customer_id", "sku", "quantity", "amount", "currency", "ordered_at"),
    "consent_event": (
        "id",
        "customer_id",
        "channel",
        "topic",
        "status",
        "source",
        "wording",
        "locale",
        "captured_at",
        "recorded_at",
    ),
    "consent_state": ("customer_id", "channel", "topic", "status", "captured_at", "event_id"),
    "outbox_message": (
        "idempotency_key",
        "customer_id",
        "campaign",
        "occasion",
        "channel",
        "topic",
        "locale",
        "status",
        "subject",
        "body_text",
        "send_at",
        "attempts",
        "created_at",
        "transactional",
    ),
}


def _sqlite_value(value: Any) -> Any:
    # The text SQLAlchemy's SQLite DateTime and Date types write and read back.
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, date):
        return value.isoformat()
    return value


def _shape(table: str, row: tuple[Any, ...], event_offset: int) -> tuple[Any, ...]:
    if table == "consent_event":
        eid, cid, channel, topic, status, source, wording, locale, at = row
        return (eid + event_offset, cid, channel, topic, status, source, wording, locale, at, at)
    if table == "consent_state":
        return (*row[:5], row[5] + event_offset)
    if table == "outbox_message":
        return (*row, False)
    return row


def generate(
    engine: Engine,
    customers: int,
    day: date,
    *,
    seed: int = 8,
    progress: Callable[[int], None] | None = None,
) -> DataSet:
    """Write ``customers`` seeded customers (and their orders, consent, caps) in chunks."""
    result = DataSet(customers, {table: 0 for table in COLUMNS})
    sqlite = engine.dialect.name == "sqlite"
    raw = engine.raw_connection()
    try:
        cursor = raw.cursor()
        event_offset = 0
        for start in range(0, customers, CHUNK):
            stop = min(customers, start + CHUNK)
            chunk_events = 0
            for table, rows in customer_rows(start, stop, day, seed):
                cols = COLUMNS[table]
                shaped = [_shape(table, row, event_offset) for row in rows]
                if table == "consent_event":
                    chunk_events = len(rows)
                if not shaped:
                    continue
                if sqlite:
                    marks = ", ".join("?" * len(cols))
                    cursor.executemany(
                        f"INSERT INTO {table} ({', '.join(cols)}) VALUES ({marks})",
                        [tuple(_sqlite_value(v) for v in row) for row in shaped],
                    )
                else:
                    with cursor.copy(f"COPY {table} ({', '.join(cols)}) FROM STDIN") as copy:
                        for row in shaped:
                            copy.write_row(row)
                result.counts[table] += len(shaped)
            event_offset += chunk_events
            raw.commit()
            if progress is not None:
                progress(stop)
        if not sqlite:
            cursor.execute(
                "SELECT setval(pg_get_serial_sequence('consent_event', 'id'), %s)",
                (max(event_offset, 1),),
            )
            cursor.execute("ANALYZE")
        else:
            cursor.execute("ANALYZE")
        raw.commit()
    finally:
        raw.close()
    return result
