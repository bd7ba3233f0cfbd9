"""Counts inside the HTML report's sentences read as the page's language writes them.

docs/reports.md: counts are shown "with the language's separators and digits". The
note under the title (the attribution window in days) and the line under the feedback
tables (how many comments) are sentences holding a count: Persian digits on a Persian
page, and the noun in the form the number takes (English "1 comment", "7 days").
"""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import Engine

from rapport.engine.core.config import Settings
from rapport.engine.reports.html import to_html
from rapport.engine.reports.labels import Words
from rapport.engine.reports.text import compute

DAY = date(2026, 11, 26)


def test_the_persian_page_writes_the_window_and_the_comment_count_in_persian_digits(
    engine: Engine, tmp_path: Path
) -> None:
    report = compute(engine, Settings(campaigns_dir=tmp_path), DAY, DAY, window_days=7)
    page = to_html(report, locale="fa")
    assert "بازهٔ انتساب: ۷ روز" in page
    assert "۰ نظر؛" in page
    assert "7 روز" not in page and "0 نظر" not in page


def test_a_count_of_one_takes_the_singular_in_english() -> None:
    words = Words("en")
    assert words.text("{count} comments; export them with", count=1).startswith("1 comment;")
    assert words.text("{count} comments; export them with", count=2).startswith("2 comments;")
    window = "Definitions: docs/reports.md. Attribution window: {days} days. Amounts in {currency}."
    assert "window: 1 day." in words.text(window, days=1, currency="USD")
    assert "window: 1,000 days." in words.text(window, days=1000, currency="USD")


def test_chinese_counts_keep_western_digits() -> None:
    assert (
        Words("zh")
        .text("{count} comments; export them with", count=1234)
        .startswith("1,234 条评论")
    )


def _chart_titles(page: str) -> list[str]:
    return re.findall(r"<title>([^<]*)</title>", page)[1:]  # after the page's own title


def test_chart_tooltips_name_channels_in_words_with_the_language_s_colon_and_digits() -> None:
    report = _report_with_sends()
    chinese = _chart_titles(to_html(report, locale="zh"))
    assert "2026年11月26日 电子邮件：1,234" in chinese
    assert "潜在客户：3" in chinese
    assert not [title for title in chinese if "email" in title or ": " in title]
    persian = _chart_titles(to_html(report, locale="fa"))
    assert "\u2068۵ آذر ۱۴۰۵\u2069 ایمیل: ۱٬۲۳۴" in persian
    month = "\u2068۱۰ آبان تا ۹ آذر ۱۴۰۵\u2069"
    assert f"{month} → {month}: ۲/۳ (۶۶٫۷٪)" in persian


def _report_with_sends() -> dict[str, Any]:
    nothing = {"answers": 0, "promoters": 0, "passives": 0, "detractors": 0, "nps": None}
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
            "textbook": {
                "customers_at_start": 0,
                "customers_at_end": 0,
                "new_customers": 0,
                "lost_customers": 0,
                "retention_rate": None,
                "churn_rate": None,
            },
            "clv_inputs": {
                "annual_churn": None,
                "annual_churn_lost_customers": 0,
                "annual_churn_customers_at_start": 0,
            },
        },
        "cohorts": [
            {
                "cohort": "2026-11",
                "size": 3,
                "months": [{"month": "2026-11", "customers": 2, "rate": 2 / 3}],
            }
        ],
        "distribution": {"stages": {"prospect": 3}, "tiers": {}, "segments": {}},
        "campaigns": [],
        "sends_per_day": [{"day": "2026-11-26", "channel": "email", "sent": 1234}],
        "consent": [],
        "feedback": {
            "overall": nothing,
            "by_campaign": {},
            "by_stage": {},
            "by_tier": {},
            "comments": [],
        },
    }
