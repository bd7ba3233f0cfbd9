"""Textbook retention and churn next to the report's own (issue 18, point 8).

Seven customers whose order dates make every case of the definitions, counted by hand:
over 1 March to 31 May 2026, with a customer being one while they ordered in the last
365 days,

- A ordered 1 June 2025 and again 1 April 2026: at the start, at the end;
- B ordered 1 May 2025 only: at the start, lapsed by the end (lost);
- C ordered 1 August 2025 only: at the start and still at the end, without ordering;
- D first ordered 10 April 2026: new;
- R ordered 1 January 2024, then 1 May 2026: returning (neither at the start nor new);
- F ordered 1 June 2024 only: a customer of neither moment;
- G ordered 1 January and 1 December 2025: at the start, at the end.

S = {A, B, C, G} = 4, E = {A, C, D, R, G} = 5, N = {D} = 1, lost = {B} = 1, so the
textbook retention is (5 - 1) / 4 = 100 % and the churn 1 / 4 = 25 %, while the
report's own retention (ordering again within the period) is {A} / 4 = 25 %.
The predictive CLV's annual churn, over the 365 days to 1 June 2026: customers a year
before {B, F, G}, of whom B and F did not order in the last year: 2 / 3.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import pytest
from factories import insert_customer
from report_reference import reference_report
from sqlalchemy import Engine, insert

from rapport.engine.core.config import Settings
from rapport.engine.core.models import ORDERS
from rapport.engine.reports.html import to_html
from rapport.engine.reports.text import compute, to_text

START, END = date(2026, 3, 1), date(2026, 5, 31)
ORDER_DAYS = {
    "A": ["2025-06-01", "2026-04-01"],
    "B": ["2025-05-01"],
    "C": ["2025-08-01"],
    "D": ["2026-04-10"],
    "R": ["2024-01-01", "2026-05-01"],
    "F": ["2024-06-01"],
    "G": ["2025-01-01", "2025-12-01"],
}


@pytest.fixture
def shop(engine: Engine) -> Engine:
    orders = []
    for customer, days in ORDER_DAYS.items():
        insert_customer(engine, customer, locale="en", timezone="UTC")
        for day in days:
            orders.append(
                {
                    "id": f"{customer}-{day}",
                    "customer_id": customer,
                    "sku": "S",
                    "amount": 50,
                    "currency": "USD",
                    "ordered_at": datetime.fromisoformat(day).replace(hour=12, tzinfo=UTC),
                }
            )
    with engine.begin() as connection:
        connection.execute(insert(ORDERS), orders)
    return engine


def test_textbook_retention_and_churn_next_to_the_reports_own(shop: Engine) -> None:
    customers = compute(shop, Settings(), START, END)["customers"]
    assert customers["textbook"] == {
        "customers_at_start": 4,
        "customers_at_end": 5,
        "new_customers": 1,
        "lost_customers": 1,
        "returning_customers": 1,
        "retention_rate": 1.0,
        "churn_rate": 0.25,
    }
    assert (customers["base_customers"], customers["retained_customers"]) == (4, 1)
    assert (customers["retention_rate"], customers["churn_rate"]) == (0.25, 0.75)


def test_predictive_clv_uses_the_textbook_churn_of_the_year_to_the_periods_end(
    shop: Engine,
) -> None:
    inputs = compute(shop, Settings(), START, END)["customers"]["clv_inputs"]
    assert inputs["annual_churn"] == round(2 / 3, 6)
    assert (inputs["annual_churn_lost_customers"], inputs["annual_churn_customers_at_start"]) == (
        2,
        3,
    )
    assert inputs["lifespan_years"] == 1.5
    # The same churn the report shows as textbook churn for that year.
    year = compute(shop, Settings(), date(2025, 6, 1), END)["customers"]["textbook"]
    assert year["churn_rate"] == inputs["annual_churn"]
    assert (year["lost_customers"], year["customers_at_start"]) == (2, 3)
    # Orders of the last year: A twice, C, D, R and G once: 6 orders by 5 customers.
    assert inputs["average_order_value"] == 50
    assert inputs["orders_per_customer_year"] == round(6 / 5, 6)
    customers = compute(shop, Settings(), START, END)["customers"]
    assert customers["clv_predictive"] == pytest.approx(50 * 6 / 5 * 1.5)


def test_textbook_figures_in_text_and_html(shop: Engine) -> None:
    report = compute(shop, Settings(), START, END)
    text = to_text(report)
    assert re.search(r"textbook retention \(E-N\)/S\s+100\.0% \(\(5-1\)/4\)", text)
    assert re.search(r"textbook churn lost/S\s+25\.0% \(1/4\)", text)
    assert re.search(r"annual churn \(for CLV\)\s+66\.7% \(2/3\)", text)
    page = to_html(report)
    assert '<td>textbook retention (E − N) ÷ S</td><td class="n">100.0% ((5 − 1) ÷ 4)</td>' in (
        page
    )
    assert '<td>textbook churn, lost ÷ S</td><td class="n">25.0% (1 ÷ 4)</td>' in page
    assert "66.7% (2 ÷ 3)" in page


def test_no_customers_at_the_start_gives_no_rate(engine: Engine) -> None:
    textbook = compute(engine, Settings(), START, END)["customers"]["textbook"]
    assert textbook["retention_rate"] is None and textbook["churn_rate"] is None
    text = to_text(compute(engine, Settings(), START, END))
    assert re.search(r"textbook churn lost/S\s+- \(0/0\)", text)


def test_every_figure_equals_the_plain_computation(shop: Engine) -> None:
    assert compute(shop, Settings(), START, END) == reference_report(shop, Settings(), START, END)
