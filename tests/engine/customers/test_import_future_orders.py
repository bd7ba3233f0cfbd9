"""An order dated more than a day after the import's clock is refused with its row
(issue 16, point 10: an order in 2999 would count in every report forever)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import Engine, select

from rapport.engine.core.models import ORDERS
from rapport.engine.core.timeutil import isoformat_z
from tests.engine.customers.conftest import (
    FORMATS,
    NOW,
    SARA,
    first_line,
    run,
    write,
)

ORDER_COLUMNS = ["id", "customer_id", "sku", "quantity", "amount", "currency", "ordered_at"]


def order(order_id: str, ordered_at: str) -> dict[str, str]:
    return {
        "id": order_id,
        "customer_id": SARA["id"],
        "sku": "TEA",
        "quantity": "1",
        "amount": "12.50",
        "currency": "USD",
        "ordered_at": ordered_at,
    }


@pytest.mark.parametrize("fmt", FORMATS)
def test_orders_more_than_a_day_ahead_are_refused_with_row_field_and_reason(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    customers = write(tmp_path / f"customers.{fmt}", list(SARA), [SARA])
    assert run(engine, "customers", customers).rejected == 0
    rows = [
        order("o-past", "2025-05-31T09:00:00Z"),
        order("o-ahead-23h", isoformat_z(NOW + timedelta(hours=23))),  # a zone ahead: kept
        order("o-ahead-exactly-a-day", isoformat_z(NOW + timedelta(days=1))),
        order("o-ahead-25h", isoformat_z(NOW + timedelta(hours=25))),
        order("o-2999", "2999-05-31T09:00:00Z"),
    ]
    report = run(engine, "orders", write(tmp_path / f"orders.{fmt}", ORDER_COLUMNS, rows))

    assert (report.accepted, report.rejected) == (3, 2)
    first = first_line(fmt)
    assert [(p.line, p.field) for p in report.problems] == [
        (first + 3, "ordered_at"),
        (first + 4, "ordered_at"),
    ]
    assert all(
        p.message == "is more than a day in the future (after 2025-06-02T12:00:00Z)"
        for p in report.problems
    )
    with engine.connect() as connection:
        stored = set(connection.execute(select(ORDERS.c.id)).scalars())
    assert stored == {"o-past", "o-ahead-23h", "o-ahead-exactly-a-day"}


def test_the_limit_moves_with_the_injected_clock(engine: Engine, tmp_path: Path) -> None:
    """An order a week after NOW is refused at NOW and imported a week later."""
    run(engine, "customers", write(tmp_path / "customers.csv", list(SARA), [SARA]))
    path = write(
        tmp_path / "orders.csv",
        ORDER_COLUMNS,
        [order("o-next-week", isoformat_z(NOW + timedelta(days=7)))],
    )
    assert run(engine, "orders", path).rejected == 1
    assert run(engine, "orders", path, clock=lambda: NOW + timedelta(days=7)).inserted == 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_an_ordered_at_overflowing_utc_is_one_row_s_problem_and_the_rest_is_kept(
    engine: Engine, tmp_path: Path, fmt: str
) -> None:
    """Year 1 at +14:00 is before year 1 in UTC: a problem of its row (it stopped the
    whole import with an OverflowError, exit 3), as a date before 1900 is."""
    run(engine, "customers", write(tmp_path / f"customers.{fmt}", list(SARA), [SARA]))
    rows = [
        order("o-year-1", "0001-01-01T00:00:00+14:00"),
        order("o-1899", "1899-12-31T23:59:59Z"),
        order("o-9999", "9999-12-31T23:00:00-12:00"),
        order("o-past", "2025-05-31T09:00:00Z"),
    ]
    report = run(engine, "orders", write(tmp_path / f"orders.{fmt}", ORDER_COLUMNS, rows))
    assert (report.accepted, report.rejected) == (1, 3)
    assert [p.message for p in report.problems] == [
        "is out of range (before 1900-01-01)",
        "is out of range (before 1900-01-01)",
        "is out of range (after the year 9999 in UTC)",
    ]


def test_a_customer_s_created_at_may_be_at_most_a_day_ahead(engine: Engine, tmp_path: Path) -> None:
    late = {**SARA, "created_at": isoformat_z(NOW + timedelta(hours=25))}
    report = run(engine, "customers", write(tmp_path / "customers.csv", list(late), [late]))
    assert [(p.field, p.message) for p in report.problems] == [
        ("created_at", "is more than a day in the future (after 2025-06-02T12:00:00Z)")
    ]
