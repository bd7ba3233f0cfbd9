"""``rapport report``: customer, campaign (A/B variants included), consent and feedback figures."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import click

from rapport.engine.cli.app import AppContext, checked_day, config_option, output_path
from rapport.engine.core.errors import UserError


def _day(value: str | None, option: str) -> date | None:
    return None if value is None else checked_day(value, option)


@click.command("report")
@click.option(
    "--from",
    "start_text",
    default=None,
    metavar="D",
    help="First day (default: 89 days before --to).",
)
@click.option(
    "--to", "end_text", default=None, metavar="D", help="Last day, inclusive (default: today, UTC)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the figures as JSON.")
@click.option(
    "--html",
    "html_path",
    type=output_path(path_type=Path),
    default=None,
    metavar="FILE",
    help="Write a self-contained HTML page with charts to FILE.",
)
@click.option("--comments", is_flag=True, help="List the feedback comments too.")
@click.option(
    "--window",
    "window_days",
    type=click.IntRange(1, 365),
    default=7,
    show_default=True,
    help="Attribution window in days: an order this soon after a message converts it.",
)
@config_option
def report(
    app: AppContext,
    start_text: str | None,
    end_text: str | None,
    as_json: bool,
    html_path: Path | None,
    comments: bool,
    window_days: int,
) -> None:
    """Retention, churn, CLV, cohorts, campaign funnels, uplift and A/B variants, consent, NPS."""
    from rapport.engine.core.timeutil import utcnow
    from rapport.engine.reports.html import to_html
    from rapport.engine.reports.text import compute, to_json, to_text

    end = _day(end_text, "--to") or utcnow().date()
    start = _day(start_text, "--from") or end - timedelta(days=89)
    if start > end:
        to = end.isoformat() if end_text is not None else f"(not given: today, {end})"
        raise click.UsageError(f"--from {start} is after --to {to}")
    if html_path is not None:
        app.check_output(html_path, "--html")
    engine = app.migrated_engine()
    figures = compute(engine, app.settings, start, end, window_days=window_days)
    # Everything is formatted before anything is written: a failure leaves no half output.
    page = (
        None
        if html_path is None
        else to_html(figures, app.settings.sender.brand, app.settings.locales.default)
    )
    if as_json:
        printed: str | None = to_json(figures) + "\n"
    elif html_path is None or comments:
        printed = to_text(figures, comments=comments)
    else:
        printed = None
    if html_path is not None and page is not None:
        try:
            html_path.write_text(page, encoding="utf-8")
        except OSError as exc:  # the user's path: a mistake to name, not a crash
            raise UserError(f"--html: cannot write {html_path}: {exc.strerror or exc}") from None
        click.echo(f"report written to {html_path}", err=True)
    if printed is not None:
        click.echo(printed, nl=False)
