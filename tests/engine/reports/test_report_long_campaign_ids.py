"""A campaign id as long as a campaign file may name one (100 characters, ``ID_PATTERN``)
keeps the report's charts readable: in the funnel and uplift charts its label stays
inside the chart and off the data marks it labels (docs/reports.md: every drawn chart
"keeps its text inside its SVG"). Opened in Chromium, where the text is measured as
drawn."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from rapport.engine.campaigns.model import ID_PATTERN
from rapport.engine.reports.html import to_html

LONGEST = "winback-" + "w" * 92  # 100 characters, the longest campaign id a file may have
SHORT = "birthday"

#: Per chart: the texts outside the SVG's box, and the texts overlapping a data mark.
MEASURE = """name => {
  const svg = document.querySelector(`figure[data-chart="${name}"] svg`);
  const box = svg.getBoundingClientRect();
  const texts = [...svg.querySelectorAll('text')];
  const marks = [...svg.querySelectorAll('rect.bar, line.interval, circle.estimate')]
    .map(m => m.getBoundingClientRect());
  const meets = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
    && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
  return {
    outside: texts.filter(t => { const b = t.getBoundingClientRect();
      return b.left < box.left - 0.5 || b.right > box.right + 0.5; }).map(t => t.textContent),
    over: texts.filter(t => marks.some(m => meets(t.getBoundingClientRect(), m)))
      .map(t => t.textContent),
  };
}"""


def _campaign(name: str) -> dict[str, Any]:
    return {
        "campaign": name,
        "planned": 100,
        "queued": 0,
        "sent": 90,
        "delivered": 80,
        "failed": 5,
        "expired": 0,
        "suppressed": 5,
        "suppressed_by_reason": {"consent not granted at send time": 5},
        "held_out": 40,
        "unsubscribed": 2,
        "converted": 30,
        "revenue": 1234.5,
        "held_out_converted": 4,
        "conversion_rate": 0.333333,
        "uplift": {
            "messaged_rate": 0.333333,
            "holdout_rate": 0.1,
            "difference": 0.233333,
            "lower": -0.05,
            "upper": 0.4,
            "method": "newcombe-wilson-95",
        },
        "variants": [],
    }


def _report(*campaigns: str) -> dict[str, Any]:
    nothing = {"answers": 0, "promoters": 0, "passives": 0, "detractors": 0, "nps": None}
    textbook = {
        "customers_at_start": 0,
        "customers_at_end": 0,
        "new_customers": 0,
        "lost_customers": 0,
        "retention_rate": None,
        "churn_rate": None,
    }
    return {
        "period": {"from": "2026-11-26", "to": "2026-11-26"},
        "base_currency": "USD",
        "attribution_window_days": 7,
        "customers": {
            "retention_rate": None,
            "churn_rate": None,
            "repeat_purchase_rate": None,
            "ordering_customers": 0,
            "orders": 0,
            "revenue": 0.0,
            "clv_historical": None,
            "clv_predictive": None,
            "textbook": textbook,
            "clv_inputs": {
                "annual_churn": None,
                "annual_churn_lost_customers": 0,
                "annual_churn_customers_at_start": 0,
            },
        },
        "cohorts": [],
        "distribution": {"stages": {}, "tiers": {}, "segments": {}},
        "campaigns": [_campaign(name) for name in campaigns],
        "sends_per_day": [],
        "consent": [],
        "feedback": {
            "overall": nothing,
            "by_campaign": {},
            "by_stage": {},
            "by_tier": {},
            "comments": [],
        },
    }


def test_the_longest_campaign_id_is_one_a_campaign_file_may_have() -> None:
    assert ID_PATTERN.match(LONGEST) and len(LONGEST) == 100


@pytest.mark.parametrize("chart", ["funnel", "uplift"])
def test_a_long_campaign_id_stays_inside_its_chart_and_off_its_marks(
    browser: Any, tmp_path: Path, chart: str
) -> None:
    page_file = tmp_path / "report.html"
    page_file.write_text(to_html(_report(SHORT, LONGEST)), encoding="utf-8")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(page_file.as_uri())
        page.screenshot(path=str(tmp_path / f"{chart}.png"), full_page=True)
        found = page.evaluate(MEASURE, chart)
    finally:
        page.close()
    assert found == {"outside": [], "over": []}
