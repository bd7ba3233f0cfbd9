"""``rapport campaigns validate`` and ``rapport preview``: what marketers wrote.

``campaigns validate`` loads every campaign and renders every template in every
configured locale (``--json``: one document with the problems and warnings, see
:mod:`rapport.engine.cli.jsonout`); ``preview`` renders one customer's message from one
campaign.
"""

from __future__ import annotations

import sys
from datetime import date
from typing import Any

import click

from rapport.engine.cli.app import (
    CUSTOMER_ID,
    TYPED_TEXT,
    AppContext,
    config_option,
    day_option,
    echo_json,
    output_path,
    parse_day,
)
from rapport.engine.cli.jsonout import problems_json, user_errors_as_json
from rapport.engine.core.errors import Problem
from rapport.engine.core.text import counted
from rapport.engine.planning.clock import today_utc


@click.group()
def campaigns() -> None:
    """Campaign files and their templates."""


@campaigns.command("validate")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
@config_option
def campaigns_validate(app: AppContext, as_json: bool) -> None:
    """Load every campaign and render every template in every configured locale.

    Problems fail the command (exit 1); warnings (a configured locale a campaign
    has no templates for, avoidable UCS-2 in an SMS, a dangling comma an empty name
    leaves, a web.base_url that is not HTTPS) are printed as FILE: warning: ... and
    leave it successful.
    """
    with user_errors_as_json(as_json, _validation_json(app, [], [], [])):
        app.settings  # noqa: B018  (an invalid config.yaml is reported in the document)
    from dataclasses import replace

    from rapport.engine.campaigns.model import load_campaigns
    from rapport.engine.campaigns.validate import check_campaigns, check_configuration
    from rapport.engine.runtime import services

    config = check_configuration(app.settings, app.config_path or "config.yaml", read=True)
    report = check_campaigns(app.settings, services.renderer(app.settings))
    if as_json:
        loaded, _ = load_campaigns(app.settings)
        problems, warnings = config.problems + report.problems, config.warnings + report.warnings
        echo_json(_validation_json(app, loaded, problems, warnings))
        if problems:
            sys.exit(1)
        return
    for problem in config.problems + report.problems:
        click.echo(str(problem), err=True)
    for warning in config.warnings + report.warnings:
        click.echo(str(replace(warning, message=f"warning: {warning.message}")), err=True)
    if config.problems or report.problems:
        click.echo(f"{counted(len(config.problems + report.problems), 'problem')} found", err=True)
        sys.exit(1)
    loaded, _ = load_campaigns(app.settings)
    locales = ", ".join(app.settings.locales.supported)
    warned = f" ({counted(len(report.warnings), 'warning')})" if report.warnings else ""
    click.echo(f"{counted(len(loaded), 'campaign')} valid in {locales}{warned}")


def _validation_json(
    app: AppContext, loaded: list[Any], problems: list[Problem], warnings: list[Problem]
) -> dict[str, Any]:
    """The ``--json`` document of ``campaigns validate``."""
    return {
        "ok": not problems,
        "campaigns": sorted(campaign.id for campaign in loaded),
        "locales": list(app.settings.locales.supported) if loaded else [],
        "problems": problems_json(problems),
        "warnings": problems_json(warnings),
    }


@click.command()
@click.argument("campaign_id", metavar="CAMPAIGN", type=TYPED_TEXT)
@click.option(
    "--customer",
    "customer_id",
    type=CUSTOMER_ID,
    default=None,
    help="Customer id (required, except with --html: then a sample customer per language).",
)
@click.option("--channel", default=None, help="Channel (default: the one planning would pick).")
@day_option
@click.option("--json", "as_json", is_flag=True, help="Print subject, headers, text and html.")
@click.option(
    "--html",
    "html_file",
    type=output_path(writable=True),
    default=None,
    help="Write the campaign's preview page (every locale, e-mail and SMS) to this file.",
)
@config_option
def preview(
    app: AppContext,
    campaign_id: str,
    customer_id: str | None,
    channel: str | None,
    day: str | None,
    as_json: bool,
    html_file: str | None,
) -> None:
    """Render the message a customer would get from a campaign on a date.

    With --html FILE, write the page /admin/campaigns/CAMPAIGN shows instead: the
    campaign's e-mail and SMS in each locale, for the customer or a sample one.
    """
    if html_file is not None:
        if as_json or channel:
            raise click.UsageError(
                "--html writes every channel's page: leave out --json and --channel"
            )
        _write_preview_page(app, campaign_id, customer_id, parse_day(day) or today_utc(), html_file)
        return
    if customer_id is None:
        raise click.UsageError("--customer is required (except with --html)")
    app.refuse_erased([customer_id], ERASED)
    from rapport.engine.planning.preview import render_preview
    from rapport.engine.runtime import services

    settings = app.settings
    result = render_preview(
        app.migrated_engine(),
        settings,
        campaign_id,
        customer_id,
        channel,
        parse_day(day) or today_utc(),
        signer=services.signer(settings),
        renderer=services.renderer(settings),
    )
    if result.note:
        click.echo(f"note: {result.note}", err=True)
    if as_json:
        echo_json(
            {
                "campaign": campaign_id,
                "customer_id": customer_id,
                "channel": result.channel,
                "locale": result.rendered.locale,
                "selected": result.selected,
                "subject": result.rendered.subject,
                "headers": result.headers,
                "text": result.rendered.text,
                "html": result.rendered.html,
            }
        )
        return
    for name, value in result.headers.items():
        click.echo(f"{name}: {value}")
    click.echo("")
    click.echo(result.rendered.text)
    if result.rendered.html:
        click.echo("\n--- html ---")
        click.echo(result.rendered.html)


#: What ``preview`` says when its customer was erased on request.
ERASED = "no message of theirs is rendered (leave out --customer with --html for sample customers)"


def _write_preview_page(
    app: AppContext, campaign_id: str, customer_id: str | None, day: date, path: str
) -> None:
    """``preview --html``: the same page as ``/admin/campaigns/CAMPAIGN``, to a file."""
    from pathlib import Path

    from rapport.engine.campaigns.model import find_campaign, require_campaigns
    from rapport.engine.core.errors import NotFound, UserError
    from rapport.engine.planning.campaign_preview import preview_campaign
    from rapport.engine.runtime import services
    from rapport.engine.web.campaign_pages import campaign_page

    settings = app.settings
    app.check_output(Path(path), "--html")
    app.refuse_erased([customer_id], ERASED)
    campaign = find_campaign(require_campaigns(settings), campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id!r} in {settings.campaigns_path}")
    shown = preview_campaign(
        campaign,
        settings,
        services.renderer(settings),
        day,
        engine=app.migrated_engine() if customer_id else None,
        signer=services.signer(settings) if customer_id else None,
        customer_id=customer_id,
    )
    try:
        Path(path).write_text(campaign_page(shown), encoding="utf-8")
    except OSError as exc:  # the user's path: a mistake to name, not a crash
        raise UserError(f"--html: cannot write {path}: {exc.strerror or exc}") from None
    problems = sum(len(locale.problems) for locale in shown.locales)
    said = f", {counted(problems, 'template problem')} shown in it" if problems else ""
    locales = counted(len(shown.locales), "locale")
    click.echo(f"wrote {path}: {campaign_id} in {locales}{said}", err=True)
