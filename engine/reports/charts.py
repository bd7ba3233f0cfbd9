"""The HTML report's charts: inline SVG, no script.

Each chart is a ``<figure data-chart="NAME" class="chart">`` holding one ``<svg>``
whose data marks (bars, cells, interval lines, dots) carry a class (``bar``, ``cell``,
``interval``, ``estimate``); tests find them by those names. A chart with nothing
to draw is not drawn: its figure (``data-empty="true"``) holds a sentence instead of
an empty frame. Every label is drawn inside the SVG's own box, and each SVG shrinks
with its card (``max-width: 100%``) but the cohort heat map, which keeps legible
cells and scrolls sideways inside its card (``div.chart-scroll``) when the period
has many months.

Dates and rates are the page language's (:class:`Words`): a Persian page's axis
ticks, row labels and tooltips are Solar Hijri dates in Persian digits. The data
marks keep the ISO Gregorian day or month they stand for in ``data-day``,
``data-cohort`` and ``data-month``, for machines.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from datetime import date, timedelta
from html import escape
from typing import Any

from rapport.engine.reports.labels import Words

PALETTE = ("#7a1f3d", "#1f5f7a", "#3d7a1f", "#b36b00", "#5b3d99", "#7a7a1f")


def esc(value: Any) -> str:
    return escape(str(value), quote=True)


def _svg(width: float, height: float, body: list[str], label: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" role="img" aria-label="{esc(label)}">'
        + "".join(body)
        + "</svg>"
    )


def _figure(name: str, caption: str, svg: str) -> str:
    return (
        f'<figure class="chart" data-chart="{name}" id="chart-{name}">{svg}'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def _empty(name: str, caption: str, words: Words) -> str:
    return (
        f'<figure class="chart" data-chart="{name}" id="chart-{name}" data-empty="true">'
        f'<p class="note">{esc(words.label("no_data"))}</p>'
        f"<figcaption>{esc(caption)}</figcaption></figure>"
    )


def cohort_heatmap(cohorts: list[dict[str, Any]], words: Words) -> str:
    """One row per cohort (its month and size), one cell per later month with the share
    of the cohort ordering in it, as a percentage and a shade."""
    caption = words.text(
        "Cohort retention: share of each first-order month ordering in later months"
    )
    if not cohorts:
        return _empty("cohorts", caption, words)
    width, height, top = 40, 24, 22
    names = {c["cohort"]: words.month(c["cohort"]) for c in cohorts}
    sizes = [words.number(c["size"]) for c in cohorts]
    # The labels' column fits the longest month name and size (a Persian month is the
    # Solar Hijri days it spans), at about 6.5 px a character of 11 px text.
    label = max(len(words.label("cohort")), *map(len, names.values()))
    size = max(len(words.label("customers")), *map(len, sizes))
    left = max(130, round(4 + 6.5 * (label + size) + 24))
    columns = max(len(c["months"]) for c in cohorts)
    body = [
        f'<text x="4" y="14">{esc(words.label("cohort"))}</text>',
        f'<text x="{left - 8}" y="14" text-anchor="end">{esc(words.label("customers"))}</text>',
    ]
    body += [
        f'<text x="{left + i * width + width / 2}" y="14" text-anchor="middle">'
        f"+{words.number(i)}</text>"
        for i in range(columns)
    ]
    for row, cohort in enumerate(cohorts):
        y = top + row * height
        middle = y + height / 2 + 4
        body.append(f'<text x="4" y="{middle}">{esc(names[cohort["cohort"]])}</text>')
        body.append(
            f'<text class="size" x="{left - 8}" y="{middle}" text-anchor="end">'
            f"{esc(sizes[row])}</text>"
        )
        for col, month in enumerate(cohort["months"]):
            rate = month["rate"]
            shade = rate or 0
            x = left + col * width
            shown = words.percent(rate, decimals=0)
            body.append(
                f'<rect class="cell" data-cohort="{esc(cohort["cohort"])}" '
                f'data-month="{esc(month["month"])}" x="{x}" y="{y}" width="{width - 2}" '
                f'height="{height - 2}" fill="#7a1f3d" fill-opacity="{0.08 + 0.92 * shade:.3f}">'
                "<title>"
                + esc(
                    words.labelled(
                        f"{names[cohort['cohort']]} → {words.month(month['month'])}",
                        f"{words.number(month['customers'])}/{sizes[row]} ({words.percent(rate)})",
                    )
                )
                + "</title></rect>"
            )
            colour = "#fff" if shade > 0.5 else "#222"
            body.append(
                f'<text x="{x + width / 2 - 1}" y="{middle - 1}" text-anchor="middle" '
                f'style="fill:{colour};font-size:10px">{esc(shown)}</text>'
            )
    svg = _svg(left + columns * width + 6, top + len(cohorts) * height + 6, body, caption)
    return (
        '<figure class="chart" data-chart="cohorts" id="chart-cohorts">'
        f'<div class="chart-scroll">{svg}</div><figcaption>{esc(caption)}</figcaption></figure>'
    )


def bars(
    name: str, caption: str, values: dict[str, int], words: Words, colour: str = PALETTE[0]
) -> str:
    """Horizontal bars, one per id, labelled in words, in the order given."""
    if not values or not any(values.values()):
        return _empty(name, caption, words)
    top = max(values.values()) or 1
    row, left, span = 22, 170, 360
    body = []
    for index, (key, value) in enumerate(values.items()):
        y = index * row + 4
        width = span * value / top
        label, shown = words.label(key), words.number(value)
        body.append(f'<text x="4" y="{y + 13}">{esc(label)}</text>')
        body.append(
            f'<rect class="bar" x="{left}" y="{y}" width="{width:.1f}" height="{row - 6}" '
            f'fill="{colour}"><title>{esc(words.labelled(label, shown))}</title></rect>'
        )
        body.append(f'<text x="{left + width + 4:.1f}" y="{y + 13}">{esc(shown)}</text>')
    return _figure(name, caption, _svg(left + span + 70, len(values) * row + 8, body, caption))


def funnels(campaigns: list[dict[str, Any]], words: Words) -> str:
    caption = words.text("Funnel per campaign: planned, sent, converted, unsubscribed")
    shown = [c for c in campaigns if c["planned"]]
    if not shown:
        return _empty("funnel", caption, words)
    steps = ("planned", "sent", "converted", "unsubscribed")
    block, row, left, span = 4 * 18 + 26, 18, 170, 360
    body = []
    for index, campaign in enumerate(shown):
        y0 = index * block + 4
        body.append(_name_label(campaign["campaign"], 4, y0 + 12, left + span + 62, bold=True))
        top = campaign["planned"] or 1
        for step_index, step in enumerate(steps):
            y = y0 + 18 + step_index * row
            width = span * campaign[step] / top
            count = words.number(campaign[step])
            name = esc(words.text(step))
            body.append(f'<text x="14" y="{y + 12}">{name}</text>')
            body.append(
                f'<rect class="bar" x="{left}" y="{y}" width="{width:.1f}" height="{row - 4}" '
                f'fill="{PALETTE[step_index]}"><title>{words.labelled(name, count)}</title></rect>'
            )
            body.append(f'<text x="{left + width + 4:.1f}" y="{y + 12}">{count}</text>')
    height = len(shown) * block + 8
    return _figure("funnel", caption, _svg(left + span + 70, height, body, caption))


def uplift_chart(campaigns: list[dict[str, Any]], words: Words) -> str:
    caption = words.text("Conversion uplift over the holdout, with its 95 % interval (Newcombe)")
    measured = [c for c in campaigns if c.get("uplift")]
    if not measured:
        return _empty("uplift", caption, words)
    lows = [c["uplift"]["lower"] for c in measured] + [0.0]
    highs = [c["uplift"]["upper"] for c in measured] + [0.0]
    low, high = min(lows), max(highs)
    pad = (high - low) * 0.1 or 0.05
    low, high = low - pad, high + pad
    # Each campaign's id on a line of its own above its interval, as the funnel has
    # it: an id may be 100 characters long, no column beside the marks holds that.
    left, span, row = 20, 530, 40

    def x(value: float) -> float:
        return left + span * (value - low) / (high - low)

    body = []
    for index, campaign in enumerate(measured):
        found = campaign["uplift"]
        y = index * row + 30
        body.append(_name_label(campaign["campaign"], 4, y - 12, left + span + 12))
        body.append(  # zero, between this row's name and the next one's
            f'<line x1="{x(0):.1f}" y1="{y - 8}" x2="{x(0):.1f}" y2="{y + 8}" '
            'stroke="#999" stroke-dasharray="3 3"/>'
        )
        body.append(
            f'<line class="interval" x1="{x(found["lower"]):.1f}" y1="{y}" '
            f'x2="{x(found["upper"]):.1f}" y2="{y}" stroke="#1f5f7a" stroke-width="3"/>'
        )
        body.append(
            f'<circle class="estimate" cx="{x(found["difference"]):.1f}" cy="{y}" r="5" '
            f'fill="#7a1f3d"><title>{esc(words.percent(found["difference"]))} '
            f"[{esc(words.percent(found['lower']))}, {esc(words.percent(found['upper']))}]"
            "</title></circle>"
        )
    height = len(measured) * row + 8
    return _figure("uplift", caption, _svg(left + span + 20, height, body, caption))


#: The room a character of a name takes at 11 px, to be safe whatever the font: more
#: than an em (``m`` is 10.7 px, bold 11.5, in DejaVu Sans; a CJK character is 11).
_WIDEST = 12.0


def _name_label(name: str, x: float, y: float, room: float, bold: bool = False) -> str:
    """A campaign's name as a line of text at (``x``, ``y``) that stays within ``room``
    pixels: a name with more characters than fit at :data:`_WIDEST` each is cut with an
    ellipsis, and the whole name is its tooltip (the tables show it whole)."""
    weight = ' font-weight="bold"' if bold else ""
    fits = int(room // _WIDEST)
    if len(name) <= fits:
        return f'<text x="{x}" y="{y}"{weight}>{esc(name)}</text>'
    return (
        f"<g><title>{esc(name)}</title>"
        f'<text x="{x}" y="{y}"{weight}>{esc(name[: fits - 1])}…</text></g>'
    )


def _width(text: str) -> float:
    """About how wide ``text`` is drawn at 11 px: a CJK character is a full em, a bidi
    mark nothing."""
    return sum(
        11.0 if "\u2e80" <= char <= "\uffef" else 6.5
        for char in text
        if unicodedata.category(char) != "Cf"
    )


def _nice(top: int) -> int:
    """The smallest 1, 2 or 5 × 10^k at least ``top``: the y axis's last tick."""
    step = 1
    while True:
        for factor in (1, 2, 5):
            if factor * step >= top:
                return factor * step
        step *= 10


def sends_chart(days: list[dict[str, Any]], period: dict[str, str], words: Words) -> str:
    """Stacked bars of messages sent per UTC day by channel, one slot per day of the
    period (a single bar for a one-day period), with labelled axes and a legend."""
    caption = words.text("Messages sent per day, by channel")
    if not days:
        return _empty("sends", caption, words)
    first, last = date.fromisoformat(period["from"]), date.fromisoformat(period["to"])
    dates = [(first + timedelta(days=i)).isoformat() for i in range((last - first).days + 1)]
    counts: dict[str, dict[str, int]] = defaultdict(dict)
    for entry in days:
        counts[entry["day"]][entry["channel"]] = entry["sent"]
    channels = sorted({entry["channel"] for entry in days})
    colours = {c: PALETTE[i % len(PALETTE)] for i, c in enumerate(channels)}
    top = _nice(max(sum(found.values()) for found in counts.values()))
    left, plot_top, plot_w, plot_h = 64, 30, 640, 170
    base = plot_top + plot_h
    slot = plot_w / len(dates)
    bar = min(slot * 0.8, 48.0) if slot >= 4 else slot
    body = [
        f'<line x1="{left}" y1="{base}" x2="{left + plot_w}" y2="{base}" stroke="#999"/>',
        f'<line x1="{left}" y1="{plot_top}" x2="{left}" y2="{base}" stroke="#999"/>',
        f'<text x="14" y="{plot_top + plot_h / 2}" text-anchor="middle" '
        f'transform="rotate(-90 14 {plot_top + plot_h / 2})">'
        f"{esc(words.label('messages_sent'))}</text>",
        f'<text x="{left + plot_w / 2}" y="{base + 34}" text-anchor="middle">'
        f"{esc(words.label('day'))}</text>",
    ]
    for tick in (0, top // 2, top) if top > 1 else (0, 1):
        y = base - plot_h * tick / top
        body.append(
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{words.number(tick)}</text>'
        )
        if tick:
            body.append(
                f'<line x1="{left}" y1="{y:.1f}" x2="{left + plot_w}" y2="{y:.1f}" stroke="#eee"/>'
            )
    # The day axis: as many ticks as its labels leave room for (at most 6), each label
    # kept inside the plot's width.
    label = max(_width(words.day(dates[0])), _width(words.day(dates[-1])))
    ticks = max(2, min(6, int(plot_w // (label * 1.6))))
    every = max(1, -(-len(dates) // ticks))
    half = label / 2 + 2
    for index in range(0, len(dates), every):
        centre = left + slot * (index + 0.5)
        x = min(max(centre, left + half), left + plot_w - half)
        body.append(
            f'<text class="tick" x="{x:.1f}" y="{base + 16}" text-anchor="middle">'
            f"{esc(words.day(dates[index]))}</text>"
        )
    for index, day in enumerate(dates):
        found = counts.get(day, {})
        shown = words.day(day) if found else ""
        x = left + slot * index + (slot - bar) / 2
        y = float(base)
        for channel in channels:
            sent = found.get(channel, 0)
            if not sent:
                continue
            height = plot_h * sent / top
            y -= height
            body.append(
                f'<rect class="bar" data-channel="{esc(channel)}" data-day="{day}" '
                f'x="{x:.2f}" y="{y:.2f}" width="{bar:.2f}" height="{height:.2f}" '
                f'fill="{colours[channel]}"><title>'
                f"{esc(words.labelled(f'{shown} {words.label(channel)}', words.number(sent)))}"
                "</title></rect>"
            )
        if found and slot >= 28:
            body.append(
                f'<text class="value" x="{x + bar / 2:.1f}" y="{max(y - 4, plot_top - 2):.1f}" '
                f'text-anchor="middle">{words.number(sum(found.values()))}</text>'
            )
    x = float(left + 8)
    for channel in channels:
        body.append(f'<rect x="{x:.0f}" y="4" width="10" height="10" fill="{colours[channel]}"/>')
        body.append(f'<text x="{x + 14:.0f}" y="13">{esc(words.label(channel))}</text>')
        x += 30 + 7 * len(words.label(channel))
    return _figure("sends", caption, _svg(left + plot_w + 16, base + 44, body, caption))
