"""A message greets and names the holiday in the language it is written in.

No shipped campaign has an Arabic folder, so a customer in Saudi Arabia reads the
English templates; the salutation and the holiday's name came in the customer's
language all the same, and the holiday offer read "Happy عطلة عيد الأضحى, Laila!" and
"مرحبًا Laila,": English sentences with Arabic words inside, the greeting line opening
with a right-to-left mark in a left-to-right e-mail (found by the native-reader
tester). They follow the folder's language, as formats do (docs/localization.md: a
customer who falls back to en/ gets English words).
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

from factories import make_settings, plan_day
from sqlalchemy import select

from rapport.engine.core.db import make_engine
from rapport.engine.core.models import OUTBOX
from rapport.engine.customers.importer import import_file

#: Eid al-Adha 1447 in Saudi Arabia (the day before is Arafah, an observance).
EID_AL_ADHA = date(2026, 5, 27)
ARABIC = re.compile(r"[\u0600-\u06ff]")


def store_with_a_saudi_customer(url: str, tmp_path: Path) -> None:
    settings = make_settings(database={"url": url})
    files = {
        "customers": "id,first_name,last_name,email,phone,locale,timezone,country\n"
        "sa-1,Laila,Hassan,laila@example.com,+966501234567,ar_SA,Asia/Riyadh,SA\n",
        "orders": "id,customer_id,sku,quantity,amount,currency,ordered_at\n"
        "o-1,sa-1,earl-grey-100g,1,300.00,USD,2026-04-11T09:00:00Z\n",
        "consent": "customer_id,channel,topic,status,source,captured_at,wording\n"
        "sa-1,email,offers,granted,import,2026-01-01T00:00:00Z,v1\n"
        "sa-1,sms,offers,granted,import,2026-01-01T00:00:00Z,v1\n",
    }
    engine = make_engine(url)
    try:
        for kind, text in files.items():
            path = tmp_path / f"{kind}.csv"
            path.write_text(text, encoding="utf-8")
            assert import_file(engine, settings, kind, path).rejected == 0
        plan_at = datetime.combine(EID_AL_ADHA, time(0), tzinfo=UTC) - timedelta(hours=14)
        plan_day(engine, settings, EID_AL_ADHA, plan_at)
    finally:
        engine.dispose()


def test_an_arabic_reader_of_english_templates_is_greeted_in_english_with_the_english_name(
    sqlite_template: Path, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'rapport.db'}"
    (tmp_path / "rapport.db").write_bytes(sqlite_template.read_bytes())
    store_with_a_saudi_customer(url, tmp_path)
    engine = make_engine(url)
    try:
        with engine.connect() as connection:
            rows = connection.execute(
                select(OUTBOX.c.subject, OUTBOX.c.body_text).where(
                    OUTBOX.c.campaign == "holiday-offer"
                )
            ).all()
    finally:
        engine.dispose()
    assert rows, "the holiday offer was not planned"
    for row in rows:
        greeting = (row.subject or "") + row.body_text
        assert "Eid al-Adha" in greeting
        assert not ARABIC.search(greeting), greeting
