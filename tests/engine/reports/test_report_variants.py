"""A/B results per variant in the report (issue 18, point 2), on SQLite and PostgreSQL.

The messages are outbox rows built by the engine's own ``outbox_row`` and ``enqueue``
(as the planner writes them, variant included), then marked sent; orders follow some
of them inside or outside the attribution window. The expected figures are counted
here from the data set's own description, and every difference from the control is
checked against Wilson's closed-form limits (the quadratic's roots, another algebra
than the engine's) combined as Newcombe's method 10.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from statistics import NormalDist

import pytest
from factories import insert_customer, run_rapport
from report_reference import reference_report
from sqlalchemy import Engine, insert, update

from rapport.engine.core.config import Settings
from rapport.engine.core.models import ORDERS, OUTBOX, MessageStatus
from rapport.engine.delivery.outbox import enqueue, outbox_row
from rapport.engine.reports.html import to_html
from rapport.engine.reports.text import compute, to_json, to_text

START, END = date(2026, 3, 1), date(2026, 3, 31)
CAMPAIGN = """\
name: Subject test
trigger:
  type: feedback
  days_after_order: 7
topic: offers
channels: [email]
variants:
  - {name: warm, weight: 2, templates: feedback}
  - {name: short, weight: 1, templates: feedback-short}
  - {name: bold, weight: 1, templates: feedback}
"""


@dataclass(frozen=True)
class Arm:
    """``sent`` messages of one variant; the first ``converted`` are followed by an
    order 2 days later, the next ``late`` by one 9 days later (outside the window),
    the next ``before`` by one the day before (never a conversion)."""

    variant: str
    sent: int
    converted: int
    late: int = 0
    before: int = 0


#: Listed in the campaign file as warm, short, bold: warm is the control even though
#: "bold" sorts first; "legacy" is no longer in the file and comes last.
ARMS = [
    Arm("bold", 25, 12, late=3),
    Arm("short", 30, 6, before=4),
    Arm("warm", 40, 10, late=2, before=1),
    Arm("legacy", 9, 9),
]


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 3, day, hour, tzinfo=UTC)


@pytest.fixture
def ab_test(engine: Engine, tmp_path: Path) -> tuple[Engine, Settings]:
    campaigns = tmp_path / "campaigns"
    campaigns.mkdir()
    (campaigns / "abtest.yaml").write_text(CAMPAIGN, encoding="utf-8")
    settings = Settings(campaigns_dir=campaigns)
    rows, sent, orders = [], [], []
    number = 0

    def message(campaign: str, variant: str | None, status: MessageStatus, day: int) -> str:
        nonlocal number
        number += 1
        customer = f"C{number:03d}"
        insert_customer(engine, customer, locale="en", timezone="UTC")
        rows.append(
            outbox_row(
                customer_id=customer,
                campaign=campaign,
                occasion=f"o{number}",
                channel="email",
                topic="offers",
                locale="en",
                status=status,
                send_at=at(day),
                created_at=at(1, 0),
                subject="s" if status != MessageStatus.HELD_OUT else None,
                body_text="b",
                variant=variant,
            )
        )
        return customer

    def order(customer: str, moment: datetime) -> None:
        orders.append(
            {
                "id": f"O{len(orders)}",
                "customer_id": customer,
                "sku": "S",
                "amount": 20,
                "currency": "USD",
                "ordered_at": moment,
            }
        )

    for arm in ARMS:
        for index in range(arm.sent):
            day = 2 + index % 20
            customer = message("abtest", arm.variant, MessageStatus.QUEUED, day)
            sent.append((customer, at(day, 11)))
            if index < arm.converted:
                order(customer, at(day, 11) + timedelta(days=2))
            elif index < arm.converted + arm.late:
                order(customer, at(day, 11) + timedelta(days=9))
            elif index < arm.converted + arm.late + arm.before:
                order(customer, at(day, 11) - timedelta(days=1))
    # Not part of any arm: the holdout (it carries a variant too), a message still
    # queued, one without a variant, and a campaign without variants.
    for _ in range(6):
        order(message("abtest", "short", MessageStatus.HELD_OUT, 5), at(6))
    message("abtest", "warm", MessageStatus.QUEUED, 20)
    no_variant = message("abtest", None, MessageStatus.QUEUED, 4)
    sent.append((no_variant, at(4, 11)))
    plain = message("newsletter", None, MessageStatus.QUEUED, 4)
    sent.append((plain, at(4, 11)))
    with engine.begin() as connection:
        assert enqueue(connection, rows) == len(rows)
        for customer, moment in sent:
            connection.execute(
                update(OUTBOX)
                .where(OUTBOX.c.customer_id == customer)
                .values(status=MessageStatus.SENT, sent_at=moment)
            )
        connection.execute(insert(ORDERS), orders)
    return engine, settings


Z = NormalDist().inv_cdf(0.975)


def wilson_closed_form(x: int, n: int) -> tuple[float, float]:
    """The roots of (n + z^2) pi^2 - (2x + z^2) pi + x^2 / n = 0."""
    a, b, c = n + Z * Z, -(2 * x + Z * Z), x * x / n
    root = math.sqrt(b * b - 4 * a * c)
    return (-b - root) / (2 * a), (-b + root) / (2 * a)


def expected_difference(x1: int, n1: int, x2: int, n2: int) -> tuple[float, float, float]:
    p1, p2 = x1 / n1, x2 / n2
    (l1, u1), (l2, u2) = wilson_closed_form(x1, n1), wilson_closed_form(x2, n2)
    d = p1 - p2
    return d, d - math.hypot(p1 - l1, u2 - p2), d + math.hypot(u1 - p1, p2 - l2)


def test_each_variant_against_the_control(ab_test: tuple[Engine, Settings]) -> None:
    engine, settings = ab_test
    report = compute(engine, settings, START, END)
    campaigns = {c["campaign"]: c for c in report["campaigns"]}
    found = campaigns["abtest"]["variants"]
    assert [v["variant"] for v in found] == ["warm", "short", "bold", "legacy"]
    assert [v["control"] for v in found] == [True, False, False, False]
    arms = {arm.variant: arm for arm in ARMS}
    control = arms["warm"]
    for row in found:
        arm = arms[row["variant"]]
        assert (row["sent"], row["converted"]) == (arm.sent, arm.converted)
        assert row["conversion_rate"] == round(arm.converted / arm.sent, 6)
        if row["control"]:
            assert row["vs_control"] is None
            continue
        d, lower, upper = expected_difference(
            arm.converted, arm.sent, control.converted, control.sent
        )
        assert row["vs_control"] == {
            "difference": pytest.approx(d, abs=1e-6),
            "lower": pytest.approx(lower, abs=1e-6),
            "upper": pytest.approx(upper, abs=1e-6),
            "method": "newcombe-wilson-95",
        }
    # The arms are the campaign's sent messages with a variant; its funnel counts all.
    assert campaigns["abtest"]["sent"] == sum(a.sent for a in ARMS) + 1
    assert campaigns["abtest"]["held_out"] == 6
    assert campaigns["newsletter"]["variants"] == []


def test_variant_rows_in_json_text_and_html(ab_test: tuple[Engine, Settings]) -> None:
    engine, settings = ab_test
    report = compute(engine, settings, START, END)
    parsed = json.loads(to_json(report))
    rows = next(c for c in parsed["campaigns"] if c["campaign"] == "abtest")["variants"]
    for row in rows:
        assert list(row) == [
            "variant",
            "control",
            "sent",
            "converted",
            "conversion_rate",
            "vs_control",
        ]
    assert list(rows[1]["vs_control"]) == ["difference", "lower", "upper", "method"]

    text = to_text(report)
    assert "A/B variants (difference from the control variant, 95% Newcombe interval)" in text
    lines = [line.split() for line in text.splitlines() if line.startswith("abtest ")]
    by_variant = {line[1]: line for line in lines if line[1] in {"warm", "short", "bold", "legacy"}}
    assert by_variant["warm"][2:] == ["40", "10", "25.0%", "control"]
    short = rows[1]["vs_control"]
    assert by_variant["short"][2:] == [
        "30",
        "6",
        "20.0%",
        f"{short['difference'] * 100:.1f}%",
        f"[{short['lower'] * 100:.1f}%,",
        f"{short['upper'] * 100:.1f}%]",
    ]

    page = to_html(report)
    table = re.search(r'<div id="variants" data-table="variants">.*?</div>', page, re.S)
    assert table is not None
    body = table.group()
    assert body.count("<tr>") == 1 + 4  # the header and one row per variant
    assert "None" not in body
    assert "<td></td>" not in body and '<td class="n"></td>' not in body
    assert "<td>warm</td>" in body and ">control</td>" in body
    assert f"{short['difference'] * 100:.1f}% [{short['lower'] * 100:.1f}%" in body


def test_a_period_without_ab_test_says_so(engine: Engine, tmp_path: Path) -> None:
    settings = Settings(campaigns_dir=tmp_path)
    report = compute(engine, settings, START, END)
    assert all(c["variants"] == [] for c in report["campaigns"])
    assert "No A/B test sent messages in this period." in to_html(report)
    block = next(b for b in to_text(report).split("\n\n") if b.startswith("A/B variants"))
    assert block.splitlines()[-1] == "(none)"


def test_the_report_command_prints_and_writes_the_variants(
    ab_test: tuple[Engine, Settings], tmp_path: Path
) -> None:
    engine, settings = ab_test
    url = engine.url.render_as_string(hide_password=False)
    (tmp_path / "config.yaml").write_text(
        f"database: {{url: '{url}'}}\ncampaigns_dir: {settings.campaigns_dir}\n",
        encoding="utf-8",
    )
    period = ["--from", START.isoformat(), "--to", END.isoformat()]
    result = run_rapport("report", "--json", *period, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    printed = {c["campaign"]: c for c in json.loads(result.stdout)["campaigns"]}
    expected = {c["campaign"]: c for c in compute(engine, settings, START, END)["campaigns"]}
    assert printed["abtest"]["variants"] == expected["abtest"]["variants"]
    assert printed["abtest"]["variants"][0]["variant"] == "warm"
    text = run_rapport("report", *period, cwd=tmp_path).stdout
    assert re.search(r"^abtest\s+warm\s+40\s+10\s+25\.0%\s+control$", text, re.M)
    page = tmp_path / "report.html"
    assert run_rapport("report", "--html", str(page), *period, cwd=tmp_path).returncode == 0
    assert 'data-table="variants"' in page.read_text(encoding="utf-8")


def test_every_figure_equals_the_plain_computation(ab_test: tuple[Engine, Settings]) -> None:
    engine, settings = ab_test
    assert compute(engine, settings, START, END) == reference_report(engine, settings, START, END)
