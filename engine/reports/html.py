"""The report as one self-contained HTML page: inline CSS and inline SVG charts.

No script, no external style sheet, font or image, so the page works offline, from
a file or from the admin route, and cannot leak to a third party. Each chart is a
``<figure data-chart="...">`` holding one ``<svg>``; tests find them by that name.
"""

from __future__ import annotations

from collections import defaultdict
from html import escape
from typing import Any

PALETTE = ("#7a1f3d", "#1f5f7a", "#3d7a1f", "#b36b00", "#5b3d99", "#7a7a1f")
STYLE = """
body { font-family: system-ui, sans-serif; margin: 0; background: #f6f4f1; color: #222; }
main { max-width: 70rem; margin: 1.5rem auto; padding: 0 1rem; }
section { background: #fff; border-radius: 10px; padding: 1rem 1.5rem; margin-block: 1rem;
          box-shadow: 0 1px 4px rgba(0,0,0,.08); }
h1 { font-size: 1.5rem; } h2 { font-size: 1.15rem; margin-block-start: 0; }
table { border-collapse: collapse; margin-block: .5rem; font-size: .9rem; }
th, td { padding: .3rem .6rem; border-block-end: 1px solid #eee; text-align: start; }
td.n { text-align: end; font-variant-numeric: tabular-nums; }
figure { margin: .5rem 0; } figcaption { color: #555; font-size: .85rem; }
svg text { font-size: 11px; fill: #333; }
.note { color: #666; font-size: .85rem; }
"""


def _e(value: Any) -> str:
    return escape(str(value), quote=True)


def _pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f} %"


def _svg(width: int, height: int, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="{_e(label)}">'
        + "".join(body)
        + "</svg>"
    )


def _figure(name: str, caption: str, svg: str) -> str:
    return (
        f'<figure data-chart="{name}" id="chart-{name}">{svg}'
        f"<figcaption>{_e(caption)}</figcaption></figure>"
    )


def _empty(name: str, caption: str) -> str:
    body = ['<text x="10" y="25">no data in this period</text>']
    return _figure(name, caption, _svg(300, 40, body, caption))


def cohort_heatmap(cohorts: list[dict[str, Any]]) -> str:
    caption = "Cohort retention: share of each first-order month ordering in later months"
    if not cohorts:
        return _empty("cohorts", caption)
    cell, left, top = 44, 70, 20
    columns = max(len(c["months"]) for c in cohorts)
    body = [
        f'<text x="{left + i * cell + cell / 2}" y="14" text-anchor="middle">+{i}</text>'
        for i in range(columns)
    ]
    for row, cohort in enumerate(cohorts):
        y = top + row * cell
        body.append(f'<text x="4" y="{y + cell / 2 + 4}">{_e(cohort["cohort"])}</text>')
        for col, month in enumerate(cohort["months"]):
            rate = month["rate"] or 0
            x = left + col * cell
            body.append(
                f'<rect class="cell" x="{x}" y="{y}" width="{cell - 2}" height="{cell - 2}" '
                f'fill="#7a1f3d" fill-opacity="{0.08 + 0.92 * rate:.3f}">'
                f"<title>{_e(cohort['cohort'])} → {_e(month['month'])}: "
                f"{month['customers']}/{cohort['size']} ({_pct(rate)})</title></rect>"
            )
            colour = "#fff" if rate > 0.5 else "#222"
            body.append(
                f'<text x="{x + cell / 2 - 1}" y="{y + cell / 2 + 4}" text-anchor="middle" '
                f'style="fill:{colour}">{round(rate * 100)}</text>'
            )
    width = left + columns * cell + 10
    height = top + len(cohorts) * cell + 10
    return _figure("cohorts", caption, _svg(width, height, body, caption))


def _bars(name: str, caption: str, values: dict[str, float], colour: str = PALETTE[0]) -> str:
    if not values:
        return _empty(name, caption)
    top = max(values.values()) or 1
    row, left, span = 22, 150, 360
    body = []
    for index, (label, value) in enumerate(values.items()):
        y = index * row + 4
        width = span * value / top
        body.append(f'<text x="4" y="{y + 13}">{_e(label)}</text>')
        body.append(
            f'<rect class="bar" x="{left}" y="{y}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{colour}"><title>{_e(label)}: {_e(value)}</title></rect>'
        )
        body.append(f'<text x="{left + width + 4:.1f}" y="{y + 13}">{_e(value)}</text>')
    return _figure(name, caption, _svg(left + span + 60, len(values) * row + 8, body, caption))


def funnels(campaigns: list[dict[str, Any]]) -> str:
    caption = "Funnel per campaign: planned, sent, converted, unsubscribed"
    if not campaigns:
        return _empty("funnel", caption)
    steps = ("planned", "sent", "converted", "unsubscribed")
    block, row, left, span = 4 * 18 + 26, 18, 150, 360
    body = []
    for index, campaign in enumerate(campaigns):
        y0 = index * block + 4
        body.append(
            f'<text x="4" y="{y0 + 12}" font-weight="bold">{_e(campaign["campaign"])}</text>'
        )
        top = campaign["planned"] or 1
        for step_index, step in enumerate(steps):
            y = y0 + 18 + step_index * row
            width = span * campaign[step] / top
            body.append(f'<text x="14" y="{y + 12}">{step}</text>')
            body.append(
                f'<rect class="bar" x="{left}" y="{y}" width="{width:.1f}" height="{row - 4}" '
                f'fill="{PALETTE[step_index]}"><title>{step}: {campaign[step]}</title></rect>'
            )
            body.append(f'<text x="{left + width + 4:.1f}" y="{y + 12}">{campaign[step]}</text>')
    height = len(campaigns) * block + 8
    return _figure("funnel", caption, _svg(left + span + 60, height, body, caption))


def uplift_chart(campaigns: list[dict[str, Any]]) -> str:
    caption = "Conversion uplift over the holdout, with its 95 % interval (Newcombe)"
    measured = [c for c in campaigns if c.get("uplift")]
    if not measured:
        return _empty("uplift", caption)
    lows = [c["uplift"]["lower"] for c in measured] + [0.0]
    highs = [c["uplift"]["upper"] for c in measured] + [0.0]
    low, high = min(lows), max(highs)
    pad = (high - low) * 0.1 or 0.05
    low, high = low - pad, high + pad
    left, span, row = 150, 380, 30

    def x(value: float) -> float:
        return left + span * (value - low) / (high - low)

    body = [
        f'<line x1="{x(0):.1f}" y1="0" x2="{x(0):.1f}" y2="{len(measured) * row + 10}" '
        'stroke="#999" stroke-dasharray="3 3"/>',
    ]
    for index, campaign in enumerate(measured):
        found = campaign["uplift"]
        y = index * row + 18
        body.append(f'<text x="4" y="{y + 4}">{_e(campaign["campaign"])}</text>')
        body.append(
            f'<line class="interval" x1="{x(found["lower"]):.1f}" y1="{y}" '
            f'x2="{x(found["upper"]):.1f}" y2="{y}" stroke="#1f5f7a" stroke-width="3"/>'
        )
        body.append(
            f'<circle class="estimate" cx="{x(found["difference"]):.1f}" cy="{y}" r="5" '
            f'fill="#7a1f3d"><title>{_pct(found["difference"])} '
            f"[{_pct(found['lower'])}, {_pct(found['upper'])}]</title></circle>"
        )
    height = len(measured) * row + 14
    return _figure("uplift", caption, _svg(left + span + 20, height, body, caption))


def sends_chart(days: list[dict[str, Any]]) -> str:
    caption = "Messages sent per day, by channel"
    if not days:
        return _empty("sends", caption)
    dates = sorted({d["day"] for d in days})
    series: dict[str, dict[str, int]] = defaultdict(dict)
    for entry in days:
        series[entry["channel"]][entry["day"]] = entry["sent"]
    top = max(d["sent"] for d in days) or 1
    left, width, height, bottom = 40, 560, 180, 20
    step = width / max(1, len(dates) - 1)
    body = [
        f'<line x1="{left}" y1="{height}" x2="{left + width}" y2="{height}" stroke="#999"/>',
        f'<text x="4" y="14">{top}</text>',
        f'<text x="{left}" y="{height + 15}">{_e(dates[0])}</text>',
        f'<text x="{left + width}" y="{height + 15}" text-anchor="end">{_e(dates[-1])}</text>',
    ]
    for index, (channel, counts) in enumerate(sorted(series.items())):
        colour = PALETTE[index % len(PALETTE)]
        points = " ".join(
            f"{left + i * step:.1f},{height - (height - 10) * counts.get(day, 0) / top:.1f}"
            for i, day in enumerate(dates)
        )
        body.append(
            f'<polyline class="series" data-channel="{_e(channel)}" points="{points}" '
            f'fill="none" stroke="{colour}" stroke-width="2"/>'
        )
        body.append(
            f'<text x="{left + width - 80}" y="{14 + 14 * index}" style="fill:{colour}">'
            f"{_e(channel)}</text>"
        )
    return _figure("sends", caption, _svg(left + width + 20, height + bottom + 6, body, caption))


def _table(headers: list[str], rows: list[list[Any]], numeric_from: int = 1) -> str:
    head = "".join(f"<th>{_e(h)}</th>" for h in headers)
    lines = []
    for row in rows:
        cells = "".join(
            f'<td class="n">{_e(v)}</td>' if i >= numeric_from else f"<td>{_e(v)}</td>"
            for i, v in enumerate(row)
        )
        lines.append(f"<tr>{cells}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(lines)}</tbody></table>"


def _textbook(figures: dict[str, Any], kind: str) -> str:
    """A textbook rate with the counts it comes from."""
    if kind == "retention":
        counts = (
            f"({figures['customers_at_end']} − {figures['new_customers']}) ÷ "
            f"{figures['customers_at_start']}"
        )
    else:
        counts = f"{figures['lost_customers']} ÷ {figures['customers_at_start']}"
    return f"{_pct(figures[f'{kind}_rate'])} ({counts})"


def variants_table(campaigns: list[dict[str, Any]]) -> str:
    """The A/B results: per variant, sent, converted, rate and the difference from the
    control variant with its 95 % interval (``data-table="variants"``)."""
    rows = []
    for campaign in campaigns:
        for variant in campaign["variants"]:
            found = variant["vs_control"]
            if variant["control"]:
                versus = "control"
            elif found is None:
                versus = "–"
            else:
                versus = (
                    f"{_pct(found['difference'])} [{_pct(found['lower'])}, {_pct(found['upper'])}]"
                )
            rows.append(
                [
                    campaign["campaign"],
                    variant["variant"],
                    variant["sent"],
                    variant["converted"],
                    _pct(variant["conversion_rate"]),
                    versus,
                ]
            )
    if not rows:
        return '<p class="note" id="variants">No A/B test sent messages in this period.</p>'
    headers = ["campaign", "variant", "sent", "converted", "conversion", "vs control [95 % CI]"]
    table = _table(headers, rows, numeric_from=2)
    return (
        '<div id="variants" data-table="variants"><h3>A/B variants</h3>'
        + table
        + '<p class="note">Difference from the control variant (listed first in the '
        "campaign file), with a 95 % Newcombe hybrid score interval.</p></div>"
    )


def _nps_rows(groups: dict[str, dict[str, Any]]) -> list[list[Any]]:
    return [
        [name, g["answers"], g["promoters"], g["passives"], g["detractors"], g["nps"]]
        for name, g in groups.items()
    ]


def to_html(report: dict[str, Any], brand: str = "Rapport") -> str:
    period = report["period"]
    customers = report["customers"]
    textbook, clv = customers["textbook"], customers["clv_inputs"]
    distribution = report["distribution"]
    campaigns = report["campaigns"]
    feedback = report["feedback"]
    currency = report["base_currency"]
    summary = _table(
        ["figure", "value"],
        [
            ["retention rate", _pct(customers["retention_rate"])],
            ["churn rate", _pct(customers["churn_rate"])],
            ["textbook retention (E − N) ÷ S", _textbook(textbook, "retention")],
            ["textbook churn, lost ÷ S", _textbook(textbook, "churn")],
            ["repeat purchase rate", _pct(customers["repeat_purchase_rate"])],
            ["customers ordering", customers["ordering_customers"]],
            ["orders", customers["orders"]],
            [f"revenue ({currency})", customers["revenue"]],
            [f"historical CLV ({currency})", customers["clv_historical"]],
            [f"predictive CLV ({currency})", customers["clv_predictive"]],
            [
                "annual churn used by the predictive CLV",
                f"{_pct(clv['annual_churn'])} ({clv['annual_churn_lost_customers']} ÷ "
                f"{clv['annual_churn_customers_at_start']})",
            ],
        ],
    )
    campaign_rows = [
        [
            c["campaign"],
            c["planned"],
            c["suppressed"],
            c["sent"],
            c["failed"],
            c["unsubscribed"],
            c["converted"],
            c["revenue"],
            c["held_out"],
            "–"
            if not c["uplift"]
            else f"{_pct(c['uplift']['difference'])} "
            f"[{_pct(c['uplift']['lower'])}, {_pct(c['uplift']['upper'])}]",
        ]
        for c in campaigns
    ]
    consent_rows = [
        [
            r["month"],
            r["channel"],
            r["topic"],
            r["opt_ins"],
            r["opt_outs"],
            _pct(r["opt_out_share"]),
        ]
        for r in report["consent"]
    ]
    nps_headers = ["group", "answers", "promoters", "passives", "detractors", "NPS"]
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        '<meta name="robots" content="noindex">',
        f"<title>{_e(brand)} report {_e(period['from'])} – {_e(period['to'])}</title>",
        f"<style>{STYLE}</style></head><body><main>",
        f"<h1>{_e(brand)} report, {_e(period['from'])} to {_e(period['to'])}</h1>",
        '<p class="note">Definitions: docs/reports.md. Attribution window: '
        f"{report['attribution_window_days']} days. Amounts in {_e(currency)}.</p>",
        '<section id="customers"><h2>Customers</h2>',
        summary,
        cohort_heatmap(report["cohorts"]),
        "</section>",
        '<section id="distribution"><h2>Stages, tiers and RFM segments</h2>',
        _bars("stages", "Customers by lifecycle stage", distribution["stages"]),
        _bars("tiers", "Customers by tier", distribution["tiers"], PALETTE[1]),
        _bars("segments", "Customers by RFM segment", distribution["segments"], PALETTE[2]),
        "</section>",
        '<section id="campaigns"><h2>Campaigns</h2>',
        _table(
            [
                "campaign",
                "planned",
                "suppressed",
                "sent",
                "failed",
                "unsubscribed",
                "converted",
                f"revenue ({currency})",
                "held out",
                "uplift [95 % CI]",
            ],
            campaign_rows,
        ),
        variants_table(campaigns),
        funnels(campaigns),
        uplift_chart(campaigns),
        sends_chart(report["sends_per_day"]),
        "</section>",
        '<section id="consent"><h2>Consent health</h2>',
        _table(
            ["month", "channel", "topic", "opt-ins", "opt-outs", "opt-out share"],
            consent_rows,
            numeric_from=3,
        ),
        "</section>",
        '<section id="feedback"><h2>Feedback (NPS)</h2>',
        _table(nps_headers, _nps_rows({"all answers": feedback["overall"]})),
        _table(["campaign", *nps_headers[1:]], _nps_rows(feedback["by_campaign"])),
        _table(["stage", *nps_headers[1:]], _nps_rows(feedback["by_stage"])),
        _table(["tier", *nps_headers[1:]], _nps_rows(feedback["by_tier"])),
        f'<p class="note">{len(feedback["comments"])} comments; '
        "export them with <code>rapport report --comments</code> or <code>--json</code>.</p>",
        "</section>",
        "</main></body></html>",
    ]
    return "\n".join(parts) + "\n"
