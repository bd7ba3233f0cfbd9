"""``rapport report`` in three shapes: terminal tables, JSON and one HTML page.

The figures come from :func:`rapport.engine.reports.figures.build_report`; this
module only formats them (the definitions are in docs/reports.md).

Text goes to a terminal, and some of it was typed by customers (feedback comments) or
imported (ids): every cell passes through :func:`printable`, so an escape sequence in
a comment cannot move the cursor, recolour, retitle or clear the operator's terminal,
and a bidi control cannot reorder what is shown around it.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any, Literal

from sqlalchemy import Engine

from rapport.engine.core.config import Settings
from rapport.engine.core.text import counted, json_for_terminal, printable
from rapport.engine.reports.figures import Period, build_report
from rapport.engine.reports.html import to_html

Format = Literal["text", "json", "html"]


def to_json(report: dict[str, Any]) -> str:
    """The figures as JSON, readable (non-ASCII kept) and still safe on a terminal:
    DEL, C1 and bidi controls, which JSON leaves raw, are written as ``\\u`` escapes
    (outside strings JSON holds only ASCII, so this is the same document)."""
    return json_for_terminal(json.dumps(report, ensure_ascii=False, indent=2))


def _cell(value: Any) -> str:
    return printable(str(value)).replace("\t", "\\t").replace("\n", "\\n")


def compute(
    engine: Engine,
    settings: Settings,
    start: date,
    end: date,
    *,
    window_days: int = 7,
    active_days: int = 365,
) -> dict[str, Any]:
    with engine.connect() as connection:
        return build_report(
            connection,
            settings,
            Period(start, end),
            window_days=window_days,
            active_days=active_days,
        )


def render_report(
    engine: Engine,
    settings: Settings,
    start: date,
    end: date,
    fmt: Format = "text",
    *,
    window_days: int = 7,
    comments: bool = False,
) -> str:
    report = compute(engine, settings, start, end, window_days=window_days)
    if fmt == "json":
        return to_json(report) + "\n"
    if fmt == "html":
        return to_html(report, settings.sender.brand, settings.locales.default)
    return to_text(report, comments=comments)


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def _money(value: float | None) -> str:
    """An amount as the JSON has it (base currency, cents), or a dash when there is none."""
    return "-" if value is None else f"{value:.2f}"


def _interval(found: dict[str, Any]) -> str:
    return f"{_pct(found['difference'])} [{_pct(found['lower'])}, {_pct(found['upper'])}]"


def _versus(variant: dict[str, Any]) -> str:
    """A variant's difference from the control, as the A/B table shows it."""
    if variant["control"]:
        return "control"
    return "-" if variant["vs_control"] is None else _interval(variant["vs_control"])


def _table(title: str, headers: list[str], rows: list[list[Any]]) -> str:
    """Columns padded to their widest cell. A row may be shorter than the header (a
    newer cohort has fewer later months): its missing cells are blank."""
    # A tab or newline in a cell would shift columns or forge a row: shown escaped.
    cells = [[_cell(value) for value in row] for row in [headers, *rows]]
    cells = [row + [""] * (len(headers) - len(row)) for row in cells]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [title]
    for index, row in enumerate(cells):
        lines.append("  ".join(value.ljust(widths[i]) for i, value in enumerate(row)).rstrip())
        if index == 0:
            lines.append("  ".join("-" * w for w in widths))
    if not rows:
        lines.append("(none)")
    return "\n".join(lines)


def to_text(report: dict[str, Any], *, comments: bool = False) -> str:
    c = report["customers"]
    t = c["textbook"]
    cur = report["base_currency"]
    blocks = [
        f"Report {report['period']['from']} to {report['period']['to']} "
        f"(attribution window {counted(report['attribution_window_days'], 'day')}, "
        f"amounts in {cur})",
        _table(
            "Customers",
            ["figure", "value"],
            [
                [
                    "retention rate",
                    f"{_pct(c['retention_rate'])} "
                    f"({c['retained_customers']}/{c['base_customers']})",
                ],
                ["churn rate", _pct(c["churn_rate"])],
                [
                    "textbook retention (E-N)/S",
                    f"{_pct(t['retention_rate'])} "
                    f"(({t['customers_at_end']}-{t['new_customers']})/{t['customers_at_start']})",
                ],
                [
                    "textbook churn lost/S",
                    f"{_pct(t['churn_rate'])} ({t['lost_customers']}/{t['customers_at_start']})",
                ],
                [
                    "repeat purchase rate",
                    f"{_pct(c['repeat_purchase_rate'])} "
                    f"({c['repeat_customers']}/{c['ordering_customers']})",
                ],
                ["orders", c["orders"]],
                ["revenue", _money(c["revenue"])],
                ["historical CLV", _money(c["clv_historical"])],
                ["predictive CLV", _money(c["clv_predictive"])],
                [
                    "annual churn (for CLV)",
                    f"{_pct(c['clv_inputs']['annual_churn'])} "
                    f"({c['clv_inputs']['annual_churn_lost_customers']}"
                    f"/{c['clv_inputs']['annual_churn_customers_at_start']})",
                ],
            ],
        ),
        _table(
            "Cohort retention (first-order month, share ordering in each later month)",
            [
                "cohort",
                "size",
                *[
                    f"+{i}"
                    for i in range(max((len(r["months"]) for r in report["cohorts"]), default=0))
                ],
            ],
            [
                [r["cohort"], r["size"], *[_pct(m["rate"]) for m in r["months"]]]
                for r in report["cohorts"]
            ],
        ),
    ]
    for key, title in (("stages", "Stages"), ("tiers", "Tiers"), ("segments", "RFM segments")):
        found = report["distribution"][key]
        blocks.append(_table(title, [key[:-1], "customers"], [[k, v] for k, v in found.items()]))
    blocks.append(
        _table(
            "Campaigns",
            [
                "campaign",
                "planned",
                "suppressed",
                "sent",
                "failed",
                "expired",
                "queued",
                "unsub",
                "converted",
                "revenue",
                "held out",
                "uplift [95% CI]",
            ],
            [
                [
                    r["campaign"],
                    r["planned"],
                    r["suppressed"],
                    r["sent"],
                    r["failed"],
                    r["expired"],
                    r["queued"],
                    r["unsubscribed"],
                    r["converted"],
                    _money(r["revenue"]),
                    r["held_out"],
                    "-"
                    if not r["uplift"]
                    else f"{_pct(r['uplift']['difference'])} "
                    f"[{_pct(r['uplift']['lower'])}, {_pct(r['uplift']['upper'])}]",
                ]
                for r in report["campaigns"]
            ],
        )
    )
    blocks.append(
        _table(
            "A/B variants (difference from the control variant, 95% Newcombe interval)",
            ["campaign", "variant", "sent", "converted", "rate", "vs control [95% CI]"],
            [
                [
                    r["campaign"],
                    v["variant"],
                    v["sent"],
                    v["converted"],
                    _pct(v["conversion_rate"]),
                    _versus(v),
                ]
                for r in report["campaigns"]
                for v in r["variants"]
            ],
        )
    )
    reasons = [
        [r["campaign"], reason, count]
        for r in report["campaigns"]
        for reason, count in r["suppressed_by_reason"].items()
    ]
    blocks.append(_table("Suppressed by reason", ["campaign", "reason", "messages"], reasons))
    blocks.append(
        _table(
            "Consent health",
            ["month", "channel", "topic", "opt-ins", "opt-outs", "opt-out share"],
            [
                [
                    r["month"],
                    r["channel"],
                    r["topic"],
                    r["opt_ins"],
                    r["opt_outs"],
                    _pct(r["opt_out_share"]),
                ]
                for r in report["consent"]
            ],
        )
    )
    fb = report["feedback"]
    groups = [["all", "", fb["overall"]]] + [
        [kind, name, value]
        for kind in ("campaign", "stage", "tier")
        for name, value in fb[f"by_{kind}"].items()
    ]
    blocks.append(
        _table(
            "Feedback (NPS = % promoters 9-10 minus % detractors 0-6)",
            ["by", "group", "answers", "NPS"],
            [
                [k, n, v["answers"], "-" if v["nps"] is None else f"{v['nps']:.1f}"]
                for k, n, v in groups
            ],
        )
    )
    if comments:
        blocks.append(
            _table(
                "Comments",
                ["answered", "customer", "campaign", "score", "comment"],
                [
                    [
                        x["answered_at"][:10],
                        x["customer_id"],
                        x["campaign"],
                        x["score"],
                        " ".join(x["comment"].split()),
                    ]
                    for x in fb["comments"]
                ],
            )
        )
    return "\n\n".join(blocks) + "\n"
