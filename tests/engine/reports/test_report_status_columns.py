"""The campaigns table of the text and HTML report shows every status ``planned`` splits
into, so its columns add up: planned = suppressed + sent + failed + expired + queued
(docs/reports.md, Campaign figures), each column equal to a straight SQL count of its
status. The tables showed planned, suppressed, sent and failed only: a campaign with
expired or still-queued messages showed a planned figure its columns did not make."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

from factories import scalar
from sqlalchemy import Engine, func, insert, select

from rapport.engine.core.config import Settings
from rapport.engine.core.models import CUSTOMER, OUTBOX
from rapport.engine.reports.html import to_html
from rapport.engine.reports.text import compute, to_text

DAY = date(2026, 11, 26)
#: Messages of the campaign by status: every status a marketing message can have.
STATUSES = {
    "sent": 5,
    "failed": 4,
    "expired": 3,
    "suppressed": 2,
    "queued": 6,
    "held_out": 1,
}
SPLIT = ("suppressed", "sent", "failed", "expired", "queued")


def _store(engine: Engine) -> None:
    moment = datetime(2026, 11, 26, 9, tzinfo=UTC)
    rows = []
    for status, count in STATUSES.items():
        for i in range(count):
            key = f"{status}-{i}"
            rows.append(
                {
                    "idempotency_key": key,
                    "customer_id": "C1",
                    "campaign": "birthday",
                    "occasion": key,
                    "channel": "email",
                    "topic": "birthday",
                    "locale": "en",
                    "status": status,
                    "send_at": moment,
                    "created_at": moment - timedelta(days=1),
                    "sent_at": moment if status == "sent" else None,
                    "last_error": "consent not granted at send time"
                    if status == "suppressed"
                    else None,
                }
            )
    with engine.begin() as connection:
        connection.execute(
            insert(CUSTOMER).values(
                id="C1", locale="en", timezone="UTC", created_at=moment - timedelta(days=400)
            )
        )
        connection.execute(insert(OUTBOX), rows)


def _sql_counts(engine: Engine) -> dict[str, int]:
    def count(*where: object) -> int:
        return int(
            scalar(engine, select(func.count()).where(OUTBOX.c.campaign == "birthday", *where))
        )

    found = {status: count(OUTBOX.c.status == status) for status in SPLIT}
    found["planned"] = count(OUTBOX.c.status != "held_out")
    return found


def test_the_text_campaigns_table_shows_every_status_planned_splits_into(engine: Engine) -> None:
    _store(engine)
    expected = _sql_counts(engine)
    text = to_text(compute(engine, Settings(), DAY, DAY))
    block = text.split("\n\nCampaigns\n", 1)[1].split("\n\n", 1)[0]
    header, _rule, row = block.splitlines()[:3]
    columns = dict(zip(header.split(), row.split(), strict=False))
    shown = {name: int(columns[name]) for name in ("planned", *SPLIT)}
    assert shown == expected
    assert shown["planned"] == sum(shown[name] for name in SPLIT)


def test_the_html_campaigns_table_shows_every_status_planned_splits_into(engine: Engine) -> None:
    _store(engine)
    expected = _sql_counts(engine)
    page = to_html(compute(engine, Settings(), DAY, DAY))
    section = page.split('<section id="campaigns">', 1)[1]
    table = section.split("<table>", 1)[1].split("</table>", 1)[0]
    header = [unescape(h) for h in re.findall(r"<th>(.*?)</th>", table)]
    cells = [unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", table)]
    columns = dict(zip(header, cells, strict=True))
    shown = {name: int(columns[name]) for name in ("planned", *SPLIT)}
    assert shown == expected
    assert shown["planned"] == sum(shown[name] for name in SPLIT)
