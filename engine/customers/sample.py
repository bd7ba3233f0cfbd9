"""A realistic, seeded sample store: customers in English, Persian and Chinese locales.

Used by ``rapport demo`` and by tests. The sample is written as ordinary import
files (CSV for customers and orders, JSON Lines for consent) so the demo goes through
the same import path an operator uses. It is planted around a given day: some
customers have their birthday then, some are due to reorder, and the holiday of the
day (if any) falls in some customers' countries.
"""

from __future__ import annotations

import csv
import json
import random
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from rapport.engine.core.timeutil import local_moment


@dataclass(frozen=True)
class Market:
    locale: str
    country: str
    timezones: tuple[str, ...]
    currency: str
    first_names: tuple[str, ...]
    last_names: tuple[str, ...]
    phone_prefix: str
    price_factor: Decimal


MARKETS = (
    Market(
        "en_US",
        "US",
        ("America/New_York", "America/Chicago", "America/Los_Angeles"),
        "USD",
        ("Olivia", "Liam", "Emma", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Mia", "Lucas"),
        ("Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis"),
        "+1202555",
        Decimal(1),
    ),
    Market(
        "en_GB",
        "GB",
        ("Europe/London",),
        "GBP",
        ("Amelia", "Oliver", "Isla", "George", "Freya", "Harry", "Poppy", "Jack"),
        ("Taylor", "Evans", "Thomas", "Roberts", "Walker", "Wright", "Hughes"),
        "+447400",
        Decimal("0.8"),
    ),
    Market(
        "fa_IR",
        "IR",
        ("Asia/Tehran",),
        "IRR",
        ("سارا", "علی", "مریم", "رضا", "زهرا", "حسین", "فاطمه", "محمد", "نگار", "امیر"),
        ("احمدی", "محمدی", "حسینی", "رضایی", "کریمی", "موسوی", "جعفری", "صادقی"),
        "+98912",
        Decimal(42000),
    ),
    Market(
        "zh_CN",
        "CN",
        ("Asia/Shanghai",),
        "CNY",
        ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "杰", "婷"),
        ("王", "李", "张", "刘", "陈", "杨", "黄", "赵"),
        "+86138",
        Decimal(7),
    ),
)

#: SKU -> base price in USD
CATALOG = {
    "SERUM-30ML": Decimal("48.00"),
    "CLEANSER-150ML": Decimal("22.00"),
    "COFFEE-1KG": Decimal("31.50"),
    "MOISTURIZER-50ML": Decimal("39.00"),
    "GIFT-BOX": Decimal("85.00"),
    "TEA-SAMPLER": Decimal("18.00"),
}
TOPICS = ("birthday", "offers", "reorder")


@dataclass(frozen=True)
class SampleFiles:
    customers: Path
    orders: Path
    consent: Path
    counts: dict[str, int]


def _phone(market: Market, rng: random.Random) -> str:
    remaining = {"+1202555": 4, "+447400": 6, "+98912": 7, "+86138": 8}[market.phone_prefix]
    if market.phone_prefix == "+1202555":
        return f"+1202555{rng.randint(100, 199):04d}"  # 555-01xx: reserved for fiction
    return market.phone_prefix + f"{rng.randint(0, 10**remaining - 1):0{remaining}d}"


def _local_noon_utc(day: date, zone: str) -> datetime:
    return local_moment(day, time(12), zone)


def generate(directory: Path, day: date, customers: int = 360, seed: int = 7) -> SampleFiles:
    """Write customers.csv, orders.csv and consent.jsonl planted around ``day``."""
    rng = random.Random(seed)
    directory.mkdir(parents=True, exist_ok=True)
    paths = SampleFiles(
        directory / "customers.csv", directory / "orders.csv", directory / "consent.jsonl", {}
    )
    counts = {"customers": 0, "orders": 0, "consent": 0}
    start = day - timedelta(days=730)
    with (
        paths.customers.open("w", newline="", encoding="utf-8") as cf,
        paths.orders.open("w", newline="", encoding="utf-8") as of,
        paths.consent.open("w", encoding="utf-8") as jf,
    ):
        cw = csv.writer(cf)
        cw.writerow(
            [
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
            ]
        )
        ow = csv.writer(of)
        ow.writerow(["id", "customer_id", "sku", "quantity", "amount", "currency", "ordered_at"])
        order_serial = 0
        for n in range(customers):
            market = MARKETS[n % len(MARKETS)]
            zone = rng.choice(market.timezones)
            cid = f"C{n + 1:05d}"
            first, last = rng.choice(market.first_names), rng.choice(market.last_names)
            year = rng.randint(1960, 2004)
            if n % 11 == 0:  # planted: a birthday on the demo day
                birthday = date(year, day.month, min(day.day, 28 if day.month == 2 else day.day))
            else:
                birthday = date(year, 1, 1) + timedelta(days=rng.randint(0, 364))
            created = start - timedelta(days=rng.randint(0, 400))
            email = f"customer{n + 1}@example.com" if rng.random() < 0.92 else ""
            phone = _phone(market, rng) if rng.random() < 0.7 else ""
            cw.writerow(
                [
                    cid,
                    first,
                    last,
                    email,
                    phone,
                    market.locale,
                    zone,
                    market.country,
                    birthday.isoformat() if rng.random() < 0.9 or n % 11 == 0 else "",
                    datetime.combine(created, time(10), tzinfo=UTC).isoformat(),
                ]
            )
            counts["customers"] += 1

            # Orders over two years; about one customer in six never ordered.
            order_days: list[tuple[date, str]] = []
            if rng.random() > 0.16:
                for _ in range(rng.choice([1, 1, 2, 3, 4, 5, 6, 8, 10])):
                    order_days.append(
                        (day - timedelta(days=rng.randint(40, 720)), rng.choice(list(CATALOG)))
                    )
                if n % 7 == 3:  # planted: due to reorder their serum on the demo day
                    order_days.append((day - timedelta(days=30), "SERUM-30ML"))
                elif n % 7 == 5:  # planted: coffee runs out 21 days after purchase
                    order_days.append((day - timedelta(days=21), "COFFEE-1KG"))
            for ordered_day, sku in sorted(order_days):
                order_serial += 1
                quantity = rng.choice([1, 1, 1, 2, 3])
                amount = (CATALOG[sku] * quantity * market.price_factor).quantize(Decimal("0.01"))
                moment = _local_noon_utc(ordered_day, zone) + timedelta(
                    minutes=rng.randint(-180, 180)
                )
                ow.writerow(
                    [
                        f"O{order_serial:06d}",
                        cid,
                        sku,
                        quantity,
                        amount,
                        market.currency,
                        moment.isoformat(),
                    ]
                )
                counts["orders"] += 1

            # Consent: most said yes to e-mail, fewer to SMS; some changed their mind.
            captured = datetime.combine(created, time(10), tzinfo=UTC)
            for channel, chance in (("email", 0.75), ("sms", 0.45)):
                if (channel == "email" and not email) or (channel == "sms" and not phone):
                    continue
                for topic in TOPICS:
                    if rng.random() >= chance:
                        continue
                    record: dict[str, str | None] = {
                        "customer_id": cid,
                        "channel": channel,
                        "topic": topic,
                        "status": "granted",
                        "source": "signup_form",
                        "captured_at": captured.isoformat(),
                        "wording": "signup-2024-v3",
                    }
                    jf.write(json.dumps(record, ensure_ascii=False) + "\n")
                    counts["consent"] += 1
                    if rng.random() < 0.1:
                        later = captured + timedelta(days=rng.randint(30, 500))
                        record = {
                            **record,
                            "status": "withdrawn",
                            "source": "preference_center",  # as the web page records it
                            "captured_at": later.isoformat(),
                            "wording": None,
                        }
                        jf.write(json.dumps(record, ensure_ascii=False) + "\n")
                        counts["consent"] += 1
    return SampleFiles(paths.customers, paths.orders, paths.consent, counts)
