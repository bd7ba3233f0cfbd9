"""docs/localization.md's money example, held to the code: its config, customers and
orders are imported into both databases, each customer's profile is read back as
planning reads it, and the table's expression (and, for members, the shipped birthday
e-mail) is rendered by the real renderer. Every cell of the table must be what comes out.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
import yaml
from factories import LINK_SIGNER, REPO, make_settings
from factories import context_campaign as campaign
from factories import context_decision as decision
from sqlalchemy import Engine

from rapport.engine.core.config import Settings, TierConfig
from rapport.engine.customers.importer import import_file
from rapport.engine.customers.lifecycle import tier_of
from rapport.engine.customers.profiles import load_profile
from rapport.engine.planning.context import message_context
from rapport.engine.rendering.renderer import Renderer
from rapport.engine.triggers import Occasion

PAGE = REPO / "docs" / "localization.md"
DAY = date(2026, 9, 1)
AS_OF = datetime(2026, 9, 1, 23, 59, tzinfo=UTC)
EXPRESSION = "{{ customer.lifetime_value | format_currency(customer.currency) }}"


def section() -> str:
    text = PAGE.read_text(encoding="utf-8")
    start = text.index("## Money in the customer's currency")
    end = text.index("\n## ", start + 1)
    return text[start:end]


def block(tag: str) -> str:
    found = re.search(rf"```\w+ {tag}\n(.*?)```", section(), re.S)
    assert found, f"no ```... {tag} block in the money section"
    return found.group(1)


def table() -> list[list[str]]:
    """The example's table: header then rows, cells stripped of spaces only."""
    lines = [line for line in section().splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in re.split(r"(?<!\\)\|", lines[0])[1:-1]]
    rows = [[cell.strip(" ") for cell in line.split("|")[1:-1]] for line in lines[2:]]
    return [header, *rows]


def example_settings() -> Settings:
    tiers = TierConfig.model_validate(yaml.safe_load(block("money-config"))["tiers"])
    return make_settings(tiers=tiers)


def test_the_table_renders_the_expression_it_names() -> None:
    header = table()[0]
    assert header[2] == "`" + EXPRESSION.replace("|", "\\|") + "`"
    assert header[1] == "`customer.currency`"


@pytest.fixture
def imported(engine: Engine, tmp_path: Path) -> tuple[Engine, Settings]:
    settings = example_settings()
    for kind in ("customers", "orders"):
        path = tmp_path / f"{kind}.csv"
        path.write_text(block(f"money-{kind}"), encoding="utf-8")
        report = import_file(engine, settings, kind, path, clock=lambda: AS_OF)
        assert report.rejected == 0, report.problems
    return engine, settings


def test_the_pages_money_example_is_what_customers_read(
    imported: tuple[Engine, Settings], make: Callable[..., Renderer]
) -> None:
    engine, settings = imported
    expression = make({f"money/{lang}/sms.txt": EXPRESSION for lang in ("en", "fa", "zh")})
    shipped = Renderer.from_settings(settings)
    rows = table()[1:]
    assert [row[0] for row in rows] == ["m-fa", "m-zh", "m-us", "m-gb"]
    for customer_id, currency, shown, spend, tier in rows:
        with engine.connect() as connection:
            profile = load_profile(connection, settings, customer_id, AS_OF)
        assert profile is not None
        spend_12m = profile.history.spend_12m_on(DAY)
        made = replace(
            decision(Occasion("birthday", "birthday:2026", DAY, years=30)),
            customer_id=customer_id,
            tier=tier_of(spend_12m, settings.tiers),
        )
        context = message_context(profile, made, campaign(), settings, LINK_SIGNER, today=DAY)
        assert (context["customer"]["currency"], f"{spend_12m:.2f}", made.tier) == (
            currency,
            spend,
            tier,
        ), customer_id
        rendered = expression.render("money", "sms", profile.locale, context).text
        assert rendered == shown, customer_id
        birthday = shipped.render("birthday", "email", profile.locale, context)
        if tier in ("vib", "rouge"):  # the shipped birthday e-mail thanks members for it
            assert shown in birthday.text, customer_id
            assert birthday.html is not None and shown in birthday.html, customer_id


def test_the_filter_table_shows_the_examples_amounts() -> None:
    """The row of the filters table that formats ``customer.lifetime_value`` gives the
    Persian and Chinese customers' amounts of the example."""
    text = PAGE.read_text(encoding="utf-8")
    row = next(
        line
        for line in text.splitlines()
        if line.startswith("| `customer.lifetime_value \\| format_currency(customer.currency)`")
    )
    cells = [cell.strip(" ") for cell in re.split(r"(?<!\\)\|", row)[1:-1]]
    by_id = {r[0]: r[2] for r in table()[1:]}
    assert cells[2:] == [by_id["m-fa"], by_id["m-zh"]]
