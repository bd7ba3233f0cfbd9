"""The report as one self-contained HTML page: inline CSS and inline SVG charts.

No script, no external style sheet, font or image, so the page works offline, from
a file or from the admin route, and cannot leak to a third party. The charts are
drawn by :mod:`rapport.engine.reports.charts`; this module lays out the page and its
tables.

The page is in one language (``to_html(..., locale=)``, the configured default
locale): stage, segment and tier ids are shown as words; counts, rates and money
(in the base currency) in the language's separators, signs and digits through Babel;
dates in its CLDR formats and calendar (Solar Hijri in Persian)
(:class:`rapport.engine.reports.labels.Words`). What a machine reads keeps ISO
Gregorian dates: the title's ``data-from`` and ``data-to``, a month cell's
``<time datetime>``, the charts' ``data-day`` and ``data-month``. A missing figure is a dash, an NPS
without answers says so: no cell prints ``None``. Tables and the cohort heat map
scroll sideways inside their card rather than overflow it.
"""

from __future__ import annotations

from typing import Any

from rapport.engine.core.config import STAGES
from rapport.engine.reports.charts import (
    PALETTE,
    bars,
    cohort_heatmap,
    esc,
    funnels,
    sends_chart,
    uplift_chart,
)
from rapport.engine.reports.labels import Words

STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f4f1; color: #222; }
main { max-width: 70rem; margin: 1.5rem auto; padding: 0 1rem; }
section { background: #fff; border-radius: 10px; padding: 1rem 1.5rem; margin-block: 1rem;
          box-shadow: 0 1px 4px rgba(0,0,0,.08); }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-block-start: 0; }
table { border-collapse: collapse; margin-block: .5rem; font-size: .9rem; }
th, td { padding: .3rem .6rem; border-block-end: 1px solid #eee; text-align: start; }
td.n { text-align: end; font-variant-numeric: tabular-nums; direction: ltr; }
figure { margin: .5rem 0; } figcaption { color: #555; font-size: .85rem; }
svg text { font-size: 11px; fill: #333; }
.note { color: #666; font-size: .85rem; }
figure.chart > svg { max-width: 100%; height: auto; }
figure.chart svg { direction: ltr; } /* SVG x runs left to right, also on an RTL page */
.chart-scroll, .table-scroll { overflow-x: auto; max-width: 100%; }
"""


#: The campaigns table's counts, in its columns' order (the header names them alike).
_CAMPAIGN_COUNTS = (
    "planned",
    "suppressed",
    "sent",
    "failed",
    "expired",
    "queued",
    "unsubscribed",
    "converted",
)


def _table(headers: list[str], rows: list[list[Any]], words: Words, numeric_from: int = 1) -> str:
    """A table whose column names are in ``words``'s language; without rows, one row
    says there is no data rather than leaving a bare header. A cell given as
    ``Moment(iso, shown)`` is a ``<time>`` with its ISO date for machines."""
    head = "".join(f"<th>{esc(words.text(h))}</th>" for h in headers)
    lines = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_cell(v)}</td>' if i >= numeric_from else f"<td>{_cell(v)}</td>"
            for i, v in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    if not rows:
        lines.append(
            f'<tr><td class="note" colspan="{len(headers)}">{esc(words.label("no_data"))}</td></tr>'
        )
    body = "".join(lines)
    return (
        f'<div class="table-scroll"><table><thead><tr>{head}</tr></thead>'
        f"<tbody>{body}</tbody></table></div>"
    )


class Moment(tuple[str, str]):
    """A table cell that is a date: (its ISO form, the words a person reads)."""


def _cell(value: Any) -> str:
    if isinstance(value, Moment):
        return f'<time datetime="{esc(value[0])}">{esc(value[1])}</time>'
    return esc(value)


def _textbook(figures: dict[str, Any], kind: str, words: Words) -> str:
    """A textbook rate with the counts it comes from, in the page's digits."""
    n = words.number
    if kind == "retention":
        counts = (
            f"({n(figures['customers_at_end'])} − {n(figures['new_customers'])}) ÷ "
            f"{n(figures['customers_at_start'])}"
        )
    else:
        counts = f"{n(figures['lost_customers'])} ÷ {n(figures['customers_at_start'])}"
    return f"{words.percent(figures[f'{kind}_rate'])} ({counts})"


def variants_table(campaigns: list[dict[str, Any]], words: Words | None = None) -> str:
    """The A/B results: per variant, sent, converted, rate and the difference from the
    control variant with its 95 % interval (``data-table="variants"``)."""
    words = words or Words()
    rows = []
    for campaign in campaigns:
        for variant in campaign["variants"]:
            found = variant["vs_control"]
            if variant["control"]:
                versus = words.text("control")
            elif found is None:
                versus = "–"
            else:
                versus = _interval(found, words)
            rows.append(
                [
                    campaign["campaign"],
                    variant["variant"],
                    words.number(variant["sent"]),
                    words.number(variant["converted"]),
                    words.percent(variant["conversion_rate"]),
                    versus,
                ]
            )
    if not rows:
        empty = words.text("No A/B test sent messages in this period.")
        return f'<p class="note" id="variants">{esc(empty)}</p>'
    headers = ["campaign", "variant", "sent", "converted", "conversion", "vs control [95 % CI]"]
    table = _table(headers, rows, words, numeric_from=2)
    note = words.text(
        "Difference from the control variant (listed first in the campaign file), "
        "with a 95 % Newcombe hybrid score interval."
    )
    return (
        f'<div id="variants" data-table="variants"><h3>{esc(words.text("A/B variants"))}</h3>'
        f'{table}<p class="note">{esc(note)}</p></div>'
    )


def _interval(found: dict[str, Any], words: Words) -> str:
    """A difference with its 95 % interval: ``5.2% [-1.0%, 11.9%]``."""
    shown = [words.percent(found[key]) for key in ("difference", "lower", "upper")]
    return f"{shown[0]} [{shown[1]}, {shown[2]}]"


def _section(name: str, heading: str, words: Words) -> str:
    return f'<section id="{name}"><h2>{esc(words.text(heading))}</h2>'


def _nps_rows(groups: dict[str, dict[str, Any]], words: Words, ids: bool = True) -> list[list[Any]]:
    """One row per group (``ids``: its name is a stage or tier id, shown as a word); an
    NPS without answers says so rather than ``None``."""
    return [
        [
            words.label(name) if ids else name,
            words.number(g["answers"]),
            words.number(g["promoters"]),
            words.number(g["passives"]),
            words.number(g["detractors"]),
            words.label("no_answers") if g["nps"] is None else words.decimal(g["nps"]),
        ]
        for name, g in groups.items()
    ]


def by_value(counts: dict[str, int], order: tuple[str, ...] = ()) -> dict[str, int]:
    """``counts`` in ``order`` when given (ids it does not name last), else largest first."""
    if order:
        rank = {key: index for index, key in enumerate(order)}
        return dict(sorted(counts.items(), key=lambda kv: (rank.get(kv[0], len(rank)), kv[0])))
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def to_html(report: dict[str, Any], brand: str = "Rapport", locale: str = "en") -> str:
    """The page in ``locale``'s words and number formats (English when it has none)."""
    words = Words(locale)
    period = report["period"]
    customers = report["customers"]
    textbook, clv = customers["textbook"], customers["clv_inputs"]
    distribution = report["distribution"]
    campaigns = report["campaigns"]
    feedback = report["feedback"]
    currency = report["base_currency"]
    summary_rows: list[list[Any]] = [
        ["retention rate", words.percent(customers["retention_rate"])],
        ["churn rate", words.percent(customers["churn_rate"])],
        ["textbook retention (E − N) ÷ S", _textbook(textbook, "retention", words)],
        ["textbook churn, lost ÷ S", _textbook(textbook, "churn", words)],
        ["repeat purchase rate", words.percent(customers["repeat_purchase_rate"])],
        ["customers ordering", words.number(customers["ordering_customers"])],
        ["orders", words.number(customers["orders"])],
        ["revenue", words.money(customers["revenue"], currency)],
        ["historical CLV", words.money(customers["clv_historical"], currency)],
        ["predictive CLV", words.money(customers["clv_predictive"], currency)],
        [
            "annual churn used by the predictive CLV",
            f"{words.percent(clv['annual_churn'])} "
            f"({words.number(clv['annual_churn_lost_customers'])} ÷ "
            f"{words.number(clv['annual_churn_customers_at_start'])})",
        ],
    ]
    summary = _table(
        ["figure", "value"], [[words.text(name), value] for name, value in summary_rows], words
    )
    campaign_rows = [
        [
            c["campaign"],
            *[words.number(c[key]) for key in _CAMPAIGN_COUNTS],
            words.money(c["revenue"], currency),
            words.number(c["held_out"]),
            "–" if not c["uplift"] else _interval(c["uplift"], words),
        ]
        for c in campaigns
    ]
    consent_rows = [
        [
            Moment((r["month"], words.month(r["month"]))),
            words.label(r["channel"]),
            r["topic"],
            words.number(r["opt_ins"]),
            words.number(r["opt_outs"]),
            words.percent(r["opt_out_share"]),
        ]
        for r in report["consent"]
    ]
    stages = by_value(distribution["stages"], STAGES)
    # Segments by size, the never-ordered ("none") last: they have no RFM pattern.
    segments = by_value(distribution["segments"])
    if "none" in segments:
        segments["none"] = segments.pop("none")
    title = words.text(
        "{brand} report, {start} to {end}",
        brand=brand,
        start=words.day(period["from"]),
        end=words.day(period["to"]),
    )
    note = words.text(
        "Definitions: docs/reports.md. Attribution window: {days} days. Amounts in {currency}.",
        days=report["attribution_window_days"],
        currency=currency,
    )
    overall = {words.text("all answers"): feedback["overall"]}
    comments = words.text("{count} comments; export them with", count=len(feedback["comments"]))
    nps_headers = ["group", "answers", "promoters", "passives", "detractors", "NPS"]
    parts = [
        "<!DOCTYPE html>",
        f'<html lang="{esc(words.language)}" dir="{"rtl" if words.rtl else "ltr"}">'
        '<head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="robots" content="noindex">',
        f"<title>{esc(title)}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        f'<h1 data-from="{esc(period["from"])}" data-to="{esc(period["to"])}">{esc(title)}</h1>',
        f'<p class="note">{esc(note)}</p>',
        _section("customers", "Customers", words),
        summary,
        cohort_heatmap(report["cohorts"], words),
        "</section>",
        _section("distribution", "Stages, tiers and RFM segments", words),
        bars("stages", words.text("Customers by lifecycle stage"), stages, words),
        bars(
            "tiers",
            words.text("Customers by tier"),
            by_value(distribution["tiers"]),
            words,
            PALETTE[1],
        ),
        bars("segments", words.text("Customers by RFM segment"), segments, words, PALETTE[2]),
        "</section>",
        _section("campaigns", "Campaigns", words),
        _table(
            ["campaign", *_CAMPAIGN_COUNTS, "revenue", "held out", "uplift [95 % CI]"],
            campaign_rows,
            words,
        ),
        variants_table(campaigns, words),
        funnels(campaigns, words),
        uplift_chart(campaigns, words),
        sends_chart(report["sends_per_day"], period, words),
        "</section>",
        _section("consent", "Consent health", words),
        _table(
            ["month", "channel", "topic", "opt-ins", "opt-outs", "opt-out share"],
            consent_rows,
            words,
            numeric_from=3,
        ),
        "</section>",
        _section("feedback", "Feedback (NPS)", words),
        _table(nps_headers, _nps_rows(overall, words, False), words),
        _table(
            ["campaign", *nps_headers[1:]], _nps_rows(feedback["by_campaign"], words, False), words
        ),
        _table(["stage", *nps_headers[1:]], _nps_rows(feedback["by_stage"], words), words),
        _table(["tier", *nps_headers[1:]], _nps_rows(feedback["by_tier"], words), words),
        f'<p class="note">{esc(comments)}'
        " <code>rapport report --comments</code> / <code>--json</code>.</p>",
        "</section>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
