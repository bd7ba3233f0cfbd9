"""The marketer's preview pages, as self-contained HTML: the list of campaigns and one
campaign's messages in every locale.

The web app serves them behind the admin token (:mod:`rapport.engine.web.admin`) and
``rapport preview CAMPAIGN --html FILE`` writes the campaign page to a file; both
call :func:`campaign_page` here, so the file is the page.

Rendered messages are untrusted (marketer-written templates, customer data), so:

- every text is HTML-escaped, attribute values included (quotes too);
- an e-mail's HTML is shown in ``<iframe sandbox srcdoc="...">``: the empty ``sandbox``
  gives the frame an opaque origin and no scripts, forms, pop-ups or top navigation,
  so a ``<script>`` or an ``onerror=`` in a template runs nowhere;
- the page's policy (:data:`PREVIEW_POLICY`, sent as a header and repeated in a
  ``<meta>`` for the file) allows no script at all, inline styles (e-mails are made
  of them, and a ``srcdoc`` frame inherits the page's policy), and images over HTTPS
  or as ``data:`` only.

Each locale's messages sit in an element with its own ``lang`` and ``dir``
(``dir="rtl"`` for Persian and Arabic), so right-to-left text is laid out right to
left, and the SMS shows its encoding (GSM-7 or UCS-2), length in units and segment
count, computed by :mod:`rapport.engine.rendering.sms_encoding`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from urllib.parse import quote, urlencode

from rapport.engine.campaigns.upcoming import Upcoming
from rapport.engine.planning.campaign_preview import CampaignPreview, LocalePreview
from rapport.engine.reports.html import STYLE as REPORT_STYLE

__all__ = ["PREVIEW_POLICY", "CampaignRow", "campaign_page", "campaigns_page", "problem_page"]

#: No script anywhere; inline styles (e-mails need them, and the sandboxed frames
#: inherit this policy); images over HTTPS or inline; frames only from ``srcdoc``.
PREVIEW_POLICY = (
    "default-src 'none'; script-src 'none'; style-src 'unsafe-inline'; img-src https: data:; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: The same, for a ``<meta>`` element (where ``frame-ancestors`` is ignored).
_META_POLICY = PREVIEW_POLICY.replace(" frame-ancestors 'none';", "")

#: The report's look (engine/reports/html.py), and what these pages add to it.
_STYLE = (
    REPORT_STYLE
    + """
table { width: 100%; } th, td { vertical-align: top; }
h3 { font-size: 1rem; margin-block: 1rem .4rem; }
td ul { margin: 0; padding-inline-start: 1rem; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; }
dt { color: #666; } dd { margin: 0; }
iframe { width: 100%; height: 36rem; border: 1px solid #ddd; border-radius: 6px;
         background: #fff; }
pre { white-space: pre-wrap; background: #fbf8f4; padding: .6rem .8rem; border-radius: 6px;
      font-family: inherit; margin: 0; }
.subject { font-weight: bold; margin: 0 0 .5rem 0; }
.problems { color: #a0102a; } .muted { color: #666; font-size: .85rem; }
.sms-meta { font-size: .85rem; color: #444; margin-block: .3rem; }
form { display: flex; gap: .5rem; align-items: center; flex-wrap: wrap; }
"""
)


@dataclass(frozen=True, slots=True)
class CampaignRow:
    """One line of the list of campaigns."""

    campaign_id: str
    name: str
    topic: str
    channels: Sequence[str]
    locales: Sequence[str]
    paused: bool
    upcoming: Upcoming
    #: Days (UTC) with planned messages waiting in the outbox, and how many.
    planned: Sequence[tuple[str, int]] = ()


def _esc(value: object) -> str:
    return escape(str(value), quote=True)


def _document(title: str, body: list[str]) -> str:
    return "\n".join(
        [
            "<!DOCTYPE html>",
            '<html lang="en" dir="ltr"><head><meta charset="utf-8">',
            '<meta name="viewport" content="width=device-width, initial-scale=1">',
            '<meta name="robots" content="noindex">',
            '<meta name="referrer" content="no-referrer">',
            f'<meta http-equiv="Content-Security-Policy" content="{_esc(_META_POLICY)}">',
            f"<title>{_esc(title)}</title>",
            f"<style>{_STYLE}</style></head><body><main>",
            *body,
            "</main></body></html>",
        ]
    )


def _query(token: str | None, **params: str | None) -> str:
    """A query string with the given parameters, and ``token`` when the page was asked
    for with ``?token=`` (a page asked for with the Authorization header links without)."""
    pairs = [(k, v) for k, v in params.items() if v] + ([("token", token)] if token else [])
    return "?" + urlencode(pairs) if pairs else ""


def campaigns_page(
    rows: Sequence[CampaignRow], problems: Sequence[str], *, token: str | None = None
) -> str:
    """``/admin/campaigns``: each campaign with its trigger and next occasions."""
    body = ["<h1>Campaigns</h1>"]
    if problems:
        body.append('<section class="problems" role="alert"><h2>Campaign files with problems</h2>')
        body.append("<ul>" + "".join(f"<li>{_esc(p)}</li>" for p in problems) + "</ul></section>")
    head = "".join(
        f"<th>{h}</th>"
        for h in ("Campaign", "Topic", "Channels", "Trigger", "Locales", "Next occasions")
    )
    lines = []
    for row in rows:
        # Relative, here and back: the app may be served under a path (web.base_url).
        link = f"campaigns/{quote(row.campaign_id, safe='')}{_query(token)}"
        # The name is the marketer's text, in any script: isolated, so that neither its
        # direction nor a control left open in it reorders the id and words after it.
        name = f'<a href="{_esc(link)}"><bdi>{_esc(row.name)}</bdi></a>'
        name += f' <span class="muted">{_esc(row.campaign_id)}</span>'
        name += ' <span class="muted">(paused)</span>' if row.paused else ""
        upcoming = row.upcoming
        dates = "".join(
            f"<li><time>{o.day.isoformat()}</time>{' ' + _esc(o.label) if o.label else ''}</li>"
            for o in upcoming.occasions
        )
        dates += "".join(
            f'<li class="planned"><time>{_esc(day)}</time> planned: {count} message'
            f"{'' if count == 1 else 's'}</li>"
            for day, count in row.planned
        )
        nexts = f"<ul>{dates}</ul>" if dates else ""
        nexts += f'<span class="note">{_esc(upcoming.note)}</span>' if upcoming.note else ""
        cells = [
            name,
            _esc(row.topic),
            _esc(", ".join(row.channels)),
            f"<code>{_esc(upcoming.rule)}</code>",
            _esc(", ".join(row.locales)),
            nexts,
        ]
        lines.append('<tr class="campaign">' + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    if not lines:
        lines.append('<tr><td colspan="6">No campaigns.</td></tr>')
    body.append(f"<section><table><thead><tr>{head}</tr></thead><tbody>")
    body.extend(lines)
    body.append("</tbody></table></section>")
    return _document("Campaigns", body)


def campaign_page(preview: CampaignPreview, *, web: bool = False, token: str | None = None) -> str:
    """One campaign's messages in each locale. ``web``: with the link back to the list
    and the form choosing a customer (a file written by ``rapport preview`` has neither)."""
    who = (
        f"customer {_esc(preview.customer_id)}, whose locale is {_esc(preview.customer_locale)}"
        if preview.customer_id
        else "a synthetic sample customer per language"
    )
    body = []
    if web:
        body.append(f'<p><a href="../campaigns{_esc(_query(token))}">All campaigns</a></p>')
    body.append(
        f"<h1><bdi>{_esc(preview.name)}</bdi> "
        f'<span class="muted">{_esc(preview.campaign_id)}</span></h1>'
    )
    facts = {
        "Topic": preview.topic,
        "Channels": ", ".join(preview.channels),
        "Trigger": preview.rule,
        "Templates": preview.template_set,
        "Customer": None,
        "Day": preview.day.isoformat(),
    }
    body.append("<section><dl>")
    for label, value in facts.items():
        shown = who if value is None else _esc(value)
        body.append(f"<dt>{label}</dt><dd>{shown}</dd>")
    body.append("</dl>")
    if preview.note:
        body.append(f'<p class="note">{_esc(preview.note)}</p>')
    if web:
        hidden = f'<input type="hidden" name="token" value="{_esc(token)}">' if token else ""
        body.append(
            '<form method="get"><label for="customer">Customer id</label>'
            f'<input id="customer" name="customer" value="{_esc(preview.customer_id or "")}">'
            f'<label for="date">Day</label><input id="date" name="date" type="date" '
            f'value="{preview.day.isoformat()}">{hidden}'
            '<button type="submit">Preview</button></form>'
        )
    body.append("</section>")
    body.extend(_locale_section(shown) for shown in preview.locales)
    return _document(f"Preview: {preview.name}", body)


def _locale_section(shown: LocalePreview) -> str:
    lang, direction = _esc(shown.lang), _esc(shown.direction)
    text_attrs = f'lang="{lang}" dir="{direction}"'
    fallback = {used for used in shown.used.values() if used != shown.locale}
    parts = [f'<section class="locale" id="locale-{_esc(shown.locale)}" data-locale="{lang}">']
    heading = f"<h2>{_esc(shown.locale)}"
    if fallback:
        heading += f' <span class="muted">(templates of {_esc(", ".join(sorted(fallback)))})</span>'
    parts.append(heading + "</h2>")
    if shown.problems:
        items = "".join(f"<li>{_esc(p)}</li>" for p in shown.problems)
        parts.append(f'<ul class="problems" role="alert">{items}</ul>')
    if shown.email is not None:
        email = shown.email
        parts.append("<h3>E-mail</h3>")
        parts.append(f'<p class="subject" {text_attrs}>{_esc(email.subject)}</p>')
        if email.html is not None:
            parts.append(
                f'<iframe class="email" sandbox="" title="E-mail, {lang}" '
                f'referrerpolicy="no-referrer" srcdoc="{_esc(email.html)}"></iframe>'
            )
        parts.append(
            f'<h3>Plain text</h3><pre class="email-text" {text_attrs}>{_esc(email.text)}</pre>'
        )
    if shown.sms is not None:
        sms = shown.sms
        plural = "" if sms.segments == 1 else "s"
        parts.append("<h3>SMS</h3>")
        parts.append(
            f'<p class="sms-meta"><span class="sms-encoding">{_esc(sms.encoding)}</span>, '
            f'<span class="sms-segments">{sms.segments}</span> segment{plural}, '
            f'<span class="sms-units">{sms.units}</span> '
            f"{'septets' if sms.encoding == 'GSM-7' else 'UTF-16 units'}</p>"
        )
        parts.append(f'<pre class="sms" {text_attrs}>{_esc(sms.text)}</pre>')
    parts.append("</section>")
    return "\n".join(parts)


def problem_page(title: str, message: str) -> str:
    """A page that says what went wrong (an unknown campaign or customer)."""
    return _document(title, [f"<h1>{_esc(title)}</h1>", f'<p role="alert">{_esc(message)}</p>'])
