"""`rapport db upgrade` carries a store written by an older Rapport, its data included.

Before revision 0003 the outbox allowed a second message for one occasion on another
channel (a consent change between planning ticks planned the birthday by SMS after
it had gone by e-mail). 0003 adds the constraint of one message per customer,
campaign and occasion; on a store holding such a pair it failed, and `rapport db
upgrade` ended with 'unexpected error in db upgrade: IntegrityError: UNIQUE
constraint failed' (exit 3), leaving the store at 0002 for good. Both messages were
sent and are history the reports count: the upgrade keeps every row and gives each
later one of a pair an occasion of its own.
"""

from __future__ import annotations

from sqlalchemy import text

from rapport.engine.core.db import current_revision, head_revision, make_engine, upgrade


def test_an_occasion_messaged_twice_before_0003_is_kept_and_the_upgrade_reaches_head(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        upgrade(engine, "0002")
        with engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO customer (id, first_name, last_name, email, phone, locale, "
                    "timezone, country, created_at) VALUES ('C1', 'Ada', 'Byron', "
                    "'ada@example.com', '+447400000001', 'en', 'UTC', 'GB', "
                    "'2026-11-20 00:00:00')"
                )
            )
            for channel in ("email", "sms"):
                connection.execute(
                    text(
                        "INSERT INTO outbox_message (idempotency_key, customer_id, campaign, "
                        "occasion, channel, topic, locale, status, body_text, send_at, "
                        "attempts, created_at) VALUES (:key, 'C1', 'birthday', "
                        "'birthday:2026', :channel, 'birthday', 'en', 'sent', 'Happy', "
                        "'2026-11-22 10:00:00', 1, '2026-11-22 09:00:00')"
                    ),
                    {"key": f"C1:birthday:birthday:2026:{channel}", "channel": channel},
                )

        upgrade(engine)

        assert current_revision(engine) == head_revision()
        with engine.connect() as connection:
            rows = connection.execute(
                text("SELECT id, channel, occasion, status FROM outbox_message ORDER BY id")
            ).all()
        (first_id, *_), (second_id, *_) = rows
        assert [tuple(r)[1:] for r in rows] == [
            ("email", "birthday:2026", "sent"),
            ("sms", f"birthday:2026#{second_id}", "sent"),
        ]
        assert first_id < second_id
    finally:
        engine.dispose()
