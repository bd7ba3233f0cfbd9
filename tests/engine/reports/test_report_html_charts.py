"""The HTML report on the demo data, opened in Chromium for one day, three months and
two years: every chart is drawn with data marks and fits its card, labels are words,
money is Babel's, and nothing prints ``None``.

Each period's page is written by ``rapport report --html`` and photographed into the
test's ``tmp_path`` (``report-<period>.png``), which is where to look when a check fails.
"""

from __future__ import annotations

import re
from datetime import timedelta
from html import unescape
from itertools import pairwise
from pathlib import Path
from typing import Any

import pytest
from demo_store import DEMO_DAY, demo_store
from factories import REPO, run_rapport

from rapport.engine.core.config import STAGES, load_settings
from rapport.engine.core.db import make_engine
from rapport.engine.reports.html import to_html
from rapport.engine.reports.labels import WORDS, Words
from rapport.engine.reports.phrases import PHRASES
from rapport.engine.reports.text import render_report

DAY = DEMO_DAY
PERIODS = {
    "1 day": (DAY, DAY),
    "3 months": (DAY - timedelta(days=91), DAY),
    "2 years": (DAY - timedelta(days=730), DAY),
}
#: The charts the demo data fills in each period: one day has sends, but no first order
#: (no cohort) and no holdout (no uplift).
EVERY = {"cohorts", "stages", "tiers", "segments", "funnel", "uplift", "sends"}
DRAWN = {
    "1 day": EVERY - {"cohorts", "uplift"},
    "3 months": EVERY,
    "2 years": EVERY,
    "3 months, fa": EVERY,
}
SEGMENTS = (
    "champions",
    "loyal",
    "new",
    "potential_loyalist",
    "cant_lose",
    "at_risk",
    "hibernating",
    "lost",
)

#: Per chart figure: its data marks with a nonzero size, whether it is drawn, and
#: how its box and its SVG's sit in the card (the <section>) around it.
MEASURE = """() => [...document.querySelectorAll('figure[data-chart]')].map(figure => {
  const card = figure.closest('section');
  const svg = figure.querySelector('svg');
  const marks = [...figure.querySelectorAll('svg rect.bar, svg rect.cell, svg line.interval,'
    + ' svg circle.estimate')].filter(m => { const b = m.getBBox();
      return m.tagName === 'line' ? b.width > 0 || b.height > 0 : b.width > 0 && b.height > 0; });
  const box = r => ({left: r.left, right: r.right});
  const scroller = figure.querySelector('.chart-scroll');
  const svgBox = svg ? svg.getBoundingClientRect() : null;
  // Any text of the SVG outside the SVG's own box is cut off.
  const outside = svg ? [...svg.querySelectorAll('text')].filter(t => {
    const b = t.getBoundingClientRect();
    return b.left < svgBox.left - 0.5 || b.top < svgBox.top - 0.5
      || b.right > svgBox.right + 0.5 || b.bottom > svgBox.bottom + 0.5;
  }).map(t => t.textContent) : [];
  return {
    name: figure.dataset.chart, empty: figure.dataset.empty === 'true', marks: marks.length,
    figure: box(figure.getBoundingClientRect()),
    card: box(card.getBoundingClientRect()),
    visible: scroller ? box(scroller.getBoundingClientRect()) : (svgBox && box(svgBox)),
    cardOverflows: card.scrollWidth > card.clientWidth,
    scrolls: scroller ? getComputedStyle(scroller).overflowX : null,
    outside,
  };
})"""


@pytest.fixture(scope="module")
def pages(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """The demo store once, and ``rapport report --html`` for each period."""
    folder = tmp_path_factory.mktemp("demo-html")
    store = demo_store(tmp_path_factory, folder)
    (folder / "config.yaml").write_text(
        f"database: {{url: 'sqlite:///{store}'}}\n"
        f"campaigns_dir: {REPO / 'campaigns'}\ntemplates_dir: {REPO / 'templates'}\n",
        encoding="utf-8",
    )
    written = {}
    for name, (start, end) in PERIODS.items():
        page = folder / f"report-{name.replace(' ', '-')}.html"
        result = run_rapport(
            "report", "--html", str(page), "--from", str(start), "--to", str(end), cwd=folder
        )
        assert result.returncode == 0, result.stderr
        written[name] = page
    # The same three months in Persian (right to left, Persian digits), rendered as the
    # admin route renders it for a store whose default locale is fa.
    settings = load_settings(folder / "config.yaml", environ={})
    start, end = PERIODS["3 months"]
    persian = settings.model_copy(
        update={"locales": settings.locales.model_copy(update={"default": "fa"})}
    )
    page = folder / "report-3-months-fa.html"
    engine = make_engine(settings.database.url)
    try:
        page.write_text(render_report(engine, persian, start, end, "html"), encoding="utf-8")
    finally:
        engine.dispose()
    written["3 months, fa"] = page
    return written


def visible_text(html: str) -> str:
    """The page's text: no style sheet, no tags, entities left as they are."""
    html = re.sub(r"<style>.*?</style>", " ", html, flags=re.S)
    return re.sub(r"<[^>]+>", " ", html)


@pytest.mark.parametrize("name", list(DRAWN))
def test_every_chart_has_data_marks_and_fits_its_card(
    pages: dict[str, Path], browser: Any, tmp_path: Path, name: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(pages[name].as_uri())
        shot = tmp_path / f"report-{name.replace(' ', '-')}.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        charts = page.evaluate(MEASURE)
        sections_overflowing = page.evaluate(
            "() => [...document.querySelectorAll('section')]"
            ".filter(s => s.scrollWidth > s.clientWidth).map(s => s.id)"
        )
    finally:
        page.close()
    drawn = {c["name"]: c for c in charts if not c["empty"]}
    assert set(drawn) >= DRAWN[name], name
    for chart in charts:  # a chart with nothing to show is a sentence, not an empty frame
        assert chart["empty"] == (chart["visible"] is None), chart
    for chart in drawn.values():
        label = f"{name}: {chart['name']}"
        assert chart["marks"] > 0, label
        assert chart["figure"]["left"] >= chart["card"]["left"] - 0.5, label
        assert chart["figure"]["right"] <= chart["card"]["right"] + 0.5, label
        assert chart["visible"]["right"] <= chart["card"]["right"] + 0.5, label
        assert chart["outside"] == [], label
    assert sections_overflowing == []
    if "cohorts" in drawn:
        assert drawn["cohorts"]["scrolls"] == "auto"


def test_one_day_draws_one_bar_per_channel_with_labelled_axes(pages: dict[str, Path]) -> None:
    html = pages["1 day"].read_text(encoding="utf-8")
    sends = re.search(r'<figure class="chart" data-chart="sends".*?</figure>', html, re.S)
    assert sends is not None
    chart = sends.group()
    assert chart.count('class="bar"') >= 1
    assert DAY.isoformat() in chart and "messages sent" in chart and "day (UTC)" in chart
    assert '<text class="value"' in chart  # the day's total above its bar


def test_cohorts_show_percentages_and_sizes(pages: dict[str, Path]) -> None:
    html = pages["2 years"].read_text(encoding="utf-8")
    heatmap = re.search(r'<figure class="chart" data-chart="cohorts".*?</figure>', html, re.S)
    assert heatmap is not None
    chart = heatmap.group()
    cells = chart.count('class="cell"')
    assert cells > 100
    assert len(re.findall(r">\d{1,3}%</text>", chart)) == cells
    assert len(re.findall(r'<text class="size"[^>]*>[\d,]+</text>', chart)) > 20


@pytest.mark.parametrize("name", list(PERIODS))
def test_labels_are_words_money_is_formatted_and_nothing_prints_none(
    pages: dict[str, Path], name: str
) -> None:
    html = pages[name].read_text(encoding="utf-8")
    text = visible_text(html)
    assert not re.search(r"\b(None|nan|NaN|null|undefined)\b", text), name
    for raw in ("at_risk", "first_time", "potential_loyalist", "cant_lose"):
        assert raw not in text, (name, raw)
    segments = re.search(r'data-chart="segments".*?</figure>', html, re.S)
    assert segments is not None
    shown = [
        unescape(t)
        for t in re.findall(r"<text x=\"4\" y=\"[\d.]+\">([^<]+)</text>", segments.group())
    ]
    counts = [
        int(n.replace(",", ""))
        for n in re.findall(r'<text x="[\d.]+" y="[\d.]+">([\d,]+)</text>', segments.group())
    ]
    english = {WORDS["en"][s] for s in SEGMENTS}
    assert shown and set(shown) <= english | {"Never ordered"}
    ordered = [c for s, c in zip(shown, counts, strict=True) if s != "Never ordered"]
    assert ordered == sorted(ordered, reverse=True), (shown, counts)  # by size, not by name
    # Money: Babel's dollars with a thousands separator, in the summary and per campaign.
    assert re.search(r'<td>revenue</td><td class="n">\$[\d,]+\.\d\d</td>', html)
    if name == "2 years":
        assert re.search(r"\$\d{1,3}(,\d{3})+\.\d\d", html)


def test_the_persian_page_has_persian_words_digits_and_direction(pages: dict[str, Path]) -> None:
    html = pages["3 months, fa"].read_text(encoding="utf-8")
    assert '<html lang="fa" dir="rtl">' in html
    for key in ("at_risk", "first_time", "prospect", "email"):
        assert WORDS["fa"][key] in html, key
    revenue = PHRASES["fa"]["revenue"]
    assert re.search(f'<td>{revenue}</td><td class="n">\u200e?\\$\xa0[۰-۹٬٫]+</td>', html)
    text = visible_text(html)
    assert not re.search(r"\b(None|nan|null)\b", text)
    assert PHRASES["fa"]["Messages sent per day, by channel"] in text
    english = [phrase for phrase in PHRASES["fa"] if " " in phrase and "{" not in phrase]
    assert [phrase for phrase in english if phrase in unescape(text)] == []


#: Per SVG text holding a Persian month name: its characters, in the page's logical
#: order, with where each is drawn (the x of its right edge).
DRAWN_DATES = """() => [...document.querySelectorAll('figure[data-chart] svg text')]
  .filter(t => /[\u0620-\u064a\u067e-\u06d3]/.test(t.textContent) && /[۰-۹]/.test(t.textContent))
  .map(t => [...t.textContent].map((c, i) => {
    const r = document.createRange(); r.setStart(t.firstChild, i); r.setEnd(t.firstChild, i + 1);
    return [c, r.getBoundingClientRect().right];
  }))"""


def test_persian_dates_in_the_charts_read_from_right_to_left(
    pages: dict[str, Path], browser: Any
) -> None:
    """The charts' SVG runs left to right; a Solar Hijri date in it (an axis tick, a
    cohort's month) still starts on its right, with its day: ``۵ آذر ۱۴۰۵``."""
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(pages["3 months, fa"].as_uri())
        texts = page.evaluate(DRAWN_DATES)
    finally:
        page.close()
    assert len(texts) > 5
    for text in texts:
        shown = "".join(c for c, _ in text).strip("\u2068\u2069")
        day = len(shown.split(" ")[0]) + 1  # the isolate, then the day's digits
        assert shown.split(" ")[0].isdigit(), shown
        assert max(r for _, r in text[1:day]) >= max(r for _, r in text[day:]) - 0.5, shown


@pytest.mark.parametrize("name", list(DRAWN))
def test_the_day_axis_labels_do_not_overlap(
    pages: dict[str, Path], browser: Any, name: str
) -> None:
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(pages[name].as_uri())
        boxes = page.evaluate(
            "() => [...document.querySelectorAll('#chart-sends text.tick')].map(t => {"
            " const b = t.getBoundingClientRect(); return [b.left, b.right, t.textContent]; })"
        )
    finally:
        page.close()
    assert len(boxes) >= 1, name
    boxes.sort()
    for (_, right, text), (left, _, following) in pairwise(boxes):
        assert right + 4 <= left, (name, text, following)


def test_every_language_translates_the_same_phrases() -> None:
    assert {language: set(table) for language, table in PHRASES.items()} == {
        language: set(PHRASES["fa"]) for language in PHRASES
    }
    assert Words("zh").text("{count} comments; export them with", count=3).startswith("3 ")


def test_an_nps_without_answers_says_so_in_the_report_language() -> None:
    report = _empty_report()
    english = to_html(report)
    assert "no answers" in english and "None" not in visible_text(english)
    # An empty table (no consent events) says so instead of showing a bare header.
    assert '<td class="note" colspan="6">No data in this period.</td>' in english
    persian = to_html(report, locale="fa")
    assert WORDS["fa"]["no_answers"] in persian and 'dir="rtl"' in persian
    chinese = to_html(report, locale="zh_Hant")
    assert WORDS["zh_Hant"]["no_answers"] in chinese
    assert WORDS["zh_Hant"]["at_risk"] in chinese  # the stage chart's words too


def test_words_name_every_stage_and_segment_in_each_language() -> None:
    for table in WORDS.values():
        assert set(STAGES) | set(SEGMENTS) | {"none", "no_answers"} <= set(table)
    assert Words("en").label("rouge") == "Rouge"  # a tier without an entry: readable
    assert Words("en").money(1234567.5, "USD") == "$1,234,567.50"
    assert Words("en").money(None, "USD") == "–"
    assert Words("xx-unknown").label("at_risk") == "At risk"


def _empty_report() -> dict[str, Any]:
    """A report with nothing in it but one at-risk customer (no answers, no sends)."""
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
        "distribution": {"stages": {"at_risk": 1}, "tiers": {"insider": 1}, "segments": {}},
        "campaigns": [],
        "sends_per_day": [],
        "consent": [],
        "feedback": {
            "overall": nothing,
            "by_campaign": {"winback": nothing},
            "by_stage": {},
            "by_tier": {},
            "comments": [],
        },
    }


@pytest.mark.parametrize("name", list(PERIODS))
def test_the_text_report_prints_no_none_either(pages: dict[str, Path], name: str) -> None:
    start, end = PERIODS[name]
    folder = pages[name].parent
    result = run_rapport("report", "--from", str(start), "--to", str(end), cwd=folder)
    assert result.returncode == 0, result.stderr
    assert not re.search(r"\b(None|nan|null)\b", result.stdout), name
