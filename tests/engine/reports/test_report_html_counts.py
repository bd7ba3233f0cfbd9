"""Counts inside the HTML report's sentences read as the page's language writes them.

docs/reports.md: counts are shown "with the language's separators and digits". The
note under the title (the attribution window in days) and the line under the feedback
tables (how many comments) are sentences holding a count: Persian digits on a Persian
page, and the noun in the form the number takes (English "1 comment", "7 days").
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

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
