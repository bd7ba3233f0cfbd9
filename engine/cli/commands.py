"""The sub-commands of ``rapport``; each is thin: parse, call the engine, print."""

from __future__ import annotations

import sys
import time as time_module
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import click

from rapport.engine.cli.app import (
    AppContext,
    cli,
    config_option,
    day_option,
    echo_json,
    parse_day,
    planning_now,
    run_async,
    today_utc,
)
from rapport.engine.core.errors import NotFound, UserError
from rapport.engine.core.timeutil import isoformat_z
from rapport.engine.runtime import metrics


# -- db -------------------------------------------------------------------------------
@cli.group()
def db() -> None:
    """Database schema."""


@db.command("upgrade")
@config_option
def db_upgrade(app: AppContext) -> None:
    """Create or migrate the schema to the latest revision."""
    from rapport.engine.core.db import current_revision, upgrade

    upgrade(app.engine)
    click.echo(f"database schema at revision {current_revision(app.engine)}")


# -- import ---------------------------------------------------------------------------
@cli.command("import")
@click.argument("kind", type=click.Choice(["customers", "orders", "consent"]))
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@config_option
def import_command(app: AppContext, kind: str, file: Path) -> None:
    """Import customers, orders or consent from CSV or JSON Lines (upsert by id)."""
    from rapport.engine.customers.importer import import_file

    progress = _progress_printer() if sys.stderr.isatty() else None
    report = import_file(app.migrated_engine(), app.settings, kind, file, progress=progress)
    if progress is not None:
        click.echo("", err=True)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    if report.problems_not_listed:
        click.echo(f"... and {report.problems_not_listed} more problems not listed", err=True)
    for warning in report.warnings:
        click.echo(f"warning: {warning}", err=True)
    if report.ignored_columns:
        click.echo(
            f"warning: {file}: ignored unknown column(s): {', '.join(report.ignored_columns)}",
            err=True,
        )
    click.echo(f"{kind}: {report.summary()}")
    if report.rejected:
        sys.exit(1)


def _progress_printer() -> Any:
    last = [0.0]

    def show(done: int, total: int) -> None:
        now = time_module.monotonic()
        if now - last[0] < 0.2 and done < total:
            return
        last[0] = now
        percent = 100 * done / total if total else 100
        click.echo(f"\rimporting: {percent:5.1f}%", nl=False, err=True)

    return show


# -- campaigns ------------------------------------------------------------------------
@cli.group()
def campaigns() -> None:
    """Campaign files and their templates."""


@campaigns.command("validate")
@config_option
def campaigns_validate(app: AppContext) -> None:
    """Load every campaign and render every template in every configured locale.

    Problems fail the command (exit 1); warnings (a configured locale a campaign
    has no templates for, avoidable UCS-2 in an SMS) are printed as FILE: warning: ...
    and leave it successful.
    """
    from dataclasses import replace

    from rapport.engine.campaigns.model import load_campaigns
    from rapport.engine.campaigns.validate import check_campaigns

    report = check_campaigns(app.settings)
    for problem in report.problems:
        click.echo(str(problem), err=True)
    for warning in report.warnings:
        click.echo(str(replace(warning, message=f"warning: {warning.message}")), err=True)
    if report.problems:
        click.echo(f"{len(report.problems)} problem(s) found", err=True)
        sys.exit(1)
    loaded, _ = load_campaigns(app.settings)
    locales = ", ".join(app.settings.locales.supported)
    warned = f" ({len(report.warnings)} warning(s))" if report.warnings else ""
    click.echo(f"{len(loaded)} campaign(s) valid in {locales}{warned}")


# -- preview --------------------------------------------------------------------------
@cli.command()
@click.argument("campaign_id", metavar="CAMPAIGN")
@click.option("--customer", "customer_id", required=True, help="Customer id.")
@click.option("--channel", default=None, help="Channel (default: the one planning would pick).")
@day_option
@click.option("--json", "as_json", is_flag=True, help="Print subject, headers, text and html.")
@config_option
def preview(
    app: AppContext,
    campaign_id: str,
    customer_id: str,
    channel: str | None,
    day: str | None,
    as_json: bool,
) -> None:
    """Render the message a customer would get from a campaign on a date."""
    from rapport.engine.planning.preview import render_preview

    result = render_preview(
        app.migrated_engine(),
        app.settings,
        campaign_id,
        customer_id,
        channel,
        parse_day(day) or today_utc(),
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


# -- plan -----------------------------------------------------------------------------
@cli.command()
@day_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per planned message.")
@click.option("--dry-run", is_flag=True, help="Decide and render, write nothing.")
@config_option
def plan(app: AppContext, day: str | None, as_json: bool, dry_run: bool) -> None:
    """Decide who gets what on a date and write it to the outbox."""
    report = _plan(app, parse_day(day) or today_utc(), as_json=as_json, dry_run=dry_run)
    if not as_json:
        _print_plan_report(report, dry_run)
    _report_render_errors(report)


def _plan(  # type: ignore[no-untyped-def]
    app: AppContext,
    day: Any,
    *,
    as_json: bool,
    dry_run: bool,
    now: datetime | None = None,
    campaigns: list[Any] | None = None,
):  # type: ignore[no-untyped-def]
    from rapport.consent.tokens import Signer
    from rapport.engine.campaigns.model import require_campaigns
    from rapport.engine.core.keys import secret_key
    from rapport.engine.planning.run import run_plan
    from rapport.engine.rendering.renderer import Renderer

    settings = app.settings
    loaded = campaigns if campaigns is not None else require_campaigns(settings)
    on_planned = None
    if as_json:

        def on_planned(decision, rendered) -> None:  # type: ignore[no-untyped-def]
            echo_json(
                {
                    "customer_id": decision.customer_id,
                    "campaign": decision.campaign,
                    "channel": decision.channel,
                    "locale": decision.locale,
                    "template_locale": rendered.locale if rendered else None,
                    "send_at": isoformat_z(decision.send_at),
                    "expires_at": isoformat_z(decision.expires_at),
                    "occasion": decision.occasion.key,
                    "idempotency_key": decision.idempotency_key,
                }
            )

    return run_plan(
        app.migrated_engine(),
        settings,
        loaded,
        day,
        now or planning_now(day, hypothetical=dry_run),
        renderer=Renderer(settings.templates_path, settings.locales.default),
        signer=Signer(secret_key(settings)),
        dry_run=dry_run,
        on_planned=on_planned,
    )


def _print_plan_report(report: Any, dry_run: bool) -> None:
    verb = "would plan" if dry_run else "planned"
    click.echo(
        f"{report.day.isoformat()}: {report.customers} customers, {verb} "
        f"{report.planned_total} message(s)"
        + ("" if dry_run else f", {report.inserted} new, {report.already_planned} already planned")
    )
    for (campaign, channel, locale), count in sorted(report.planned.items()):
        click.echo(f"  {campaign:<20} {channel:<6} {locale:<8} {count:>7}")


def _report_render_errors(report: Any) -> None:
    """Messages whose template failed were not planned: say so and exit 1."""
    if not report.render_errors:
        return
    for error in report.render_errors[:20]:
        click.echo(f"render error: {error}", err=True)
    if len(report.render_errors) > 20:
        click.echo(f"... and {len(report.render_errors) - 20} more render errors", err=True)
    click.echo(
        f"{len(report.render_errors)} message(s) not planned because a template failed; "
        "the others were planned",
        err=True,
    )
    sys.exit(1)


# -- explain --------------------------------------------------------------------------
@cli.command()
@click.argument("customer_ids", metavar="CUSTOMER...", nargs=-1, required=True)
@day_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per campaign.")
@config_option
def explain(app: AppContext, customer_ids: tuple[str, ...], day: str | None, as_json: bool) -> None:
    """For each campaign: would these customers be messaged on the date, and why (not)?

    It runs the very function planning runs, so what it says is what `plan` does.
    """
    from rapport.engine.campaigns.model import require_campaigns
    from rapport.engine.customers.profiles import iter_profile_batches
    from rapport.engine.planning.planner import history_cutoff, plan_customer
    from rapport.engine.planning.run import audiences_for

    settings = app.settings
    the_day = parse_day(day) or today_utc()
    now = planning_now(the_day, hypothetical=True)
    engine = app.migrated_engine()
    loaded = sorted(require_campaigns(settings), key=lambda c: (c.priority, c.id))
    wanted = list(dict.fromkeys(customer_ids))
    profiles = {}
    with engine.connect() as connection:
        cutoff = history_cutoff(the_day, now)
        for batch in iter_profile_batches(connection, settings, cutoff, customer_ids=wanted):
            audiences = audiences_for(connection, batch, the_day)
            for profile in batch:
                decisions = plan_customer(profile, loaded, audiences, the_day, now, settings)
                profiles[profile.id] = decisions
    missing = [c for c in wanted if c not in profiles]
    if missing:
        raise NotFound(f"no customer with id {', '.join(map(repr, missing))}")
    for customer_id in wanted:
        _print_explanation(customer_id, profiles[customer_id], the_day, as_json)


def _print_explanation(customer_id: str, decisions: list[Any], day: Any, as_json: bool) -> None:
    if as_json:
        for d in decisions:
            echo_json(
                {
                    "customer_id": d.customer_id,
                    "campaign": d.campaign,
                    "selected": d.selected,
                    "reason": d.reason.value,
                    "detail": d.detail,
                    "channel": d.channel,
                    "send_at": isoformat_z(d.send_at) if d.send_at else None,
                    "stage": d.stage,
                    "tier": d.tier,
                    "variant": d.variant,
                }
            )
        return
    if decisions:
        first = decisions[0]
        click.echo(f"customer {customer_id} on {day}: stage {first.stage}, tier {first.tier}")
    for d in decisions:
        mark = "yes" if d.selected else "no "
        click.echo(f"  {mark} {d.campaign:<20} {d.reason.value:<16} {d.detail}")


# -- dispatch / run -------------------------------------------------------------------
@cli.command()
@click.option("--once", is_flag=True, help="Send what is due now, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
@config_option
def dispatch(app: AppContext, once: bool, interval: float) -> None:
    """Send due messages from the outbox (without --once: keep sending until SIGTERM)."""
    engine = app.migrated_engine()
    if once:
        _print_dispatch_report(run_async(_dispatch_once(app, engine)))
        return
    from rapport.engine.runtime.daemon import Daemon

    settings = app.settings.model_copy(
        update={"daemon": app.settings.daemon.model_copy(update={"dispatch_seconds": interval})}
    )
    Daemon(settings, engine, plan=False).run_forever()


async def _dispatch_once(app: AppContext, engine: Any, clock: Any = None):  # type: ignore[no-untyped-def]
    from rapport.consent.tokens import Signer
    from rapport.engine.core.keys import secret_key
    from rapport.engine.core.timeutil import utcnow
    from rapport.engine.delivery.dispatch import Dispatcher, build_channels

    settings = app.settings
    dispatcher = Dispatcher(
        engine,
        settings,
        build_channels(settings),
        Signer(secret_key(settings)),
        clock=clock or utcnow,
    )
    try:
        report = await dispatcher.run_once()
        metrics.record_dispatch(report)
        return report
    finally:
        await dispatcher.aclose()


def _print_dispatch_report(report: Any) -> None:
    if not report.outcomes:
        click.echo("dispatch: nothing due")
        return
    parts = [f"{channel} {status}: {n}" for (channel, status), n in sorted(report.outcomes.items())]
    click.echo("dispatch: " + ", ".join(parts))
    for (channel, status, reason), n in report.reasons.most_common(10):
        label = "will retry" if status == "queued" else status
        click.echo(f"  {channel} {label}: {n} x {reason or 'no reason given'}")


@cli.command()
@click.option("--once", is_flag=True, help="One planning tick and one dispatch pass, then exit.")
@config_option
def run(app: AppContext, once: bool) -> None:
    """The daemon: plan on a schedule (one daemon at a time) and dispatch continuously."""
    from rapport.engine.runtime.daemon import Daemon

    engine = app.migrated_engine()
    daemon = Daemon(
        app.settings,
        engine,
        on_plan=_print_tick_report,
        on_problems=lambda problems: [click.echo(str(p), err=True) for p in problems],
    )
    if once:
        reports = daemon.plan_tick()
        _print_dispatch_report(daemon.dispatch_tick())
        daemon.stop(grace=0)
        if any(report.render_errors for report in reports):
            sys.exit(1)  # the errors were printed with the tick
        return
    web_server = None
    if app.settings.web.enabled:
        from rapport.engine.web.app import create_app
        from rapport.engine.web.server import BackgroundServer

        web = create_app(app.settings, engine)
        web.state.scheduler_running = daemon.running
        web_server = BackgroundServer(web, app.settings.web.host, app.settings.web.port).start()
        click.echo(f"web app on http://{app.settings.web.host}:{web_server.port}")
    try:
        daemon.run_forever()
    finally:
        if web_server is not None:
            web_server.stop()


def _print_tick_report(report: Any) -> None:
    _print_plan_report(report, False)
    for error in report.render_errors[:20]:
        click.echo(f"render error: {error}", err=True)


@cli.command()
@click.option("--host", default=None, help="Address to listen on (default: web.host).")
@click.option("--port", default=None, type=int, help="Port (default: web.port).")
@config_option
def serve(app: AppContext, host: str | None, port: int | None) -> None:
    """The web app alone: preference centre, unsubscribe, confirmations, webhooks."""
    from rapport.engine.web.app import create_app
    from rapport.engine.web.server import serve as serve_forever

    settings = app.settings
    serve_forever(
        create_app(settings, app.migrated_engine()),
        host or settings.web.host,
        port or settings.web.port,
    )


# -- consent --------------------------------------------------------------------------
@cli.group()
def consent() -> None:
    """Operator view and edits of a customer's consent (recorded as evidence)."""


def _consent_args(func: Any) -> Any:
    func = click.option("--topic", required=False, default=None, help="Topic.")(func)
    func = click.option("--channel", required=False, default=None, help="Channel.")(func)
    return click.argument("customer_id", metavar="CUSTOMER")(func)


@consent.command("show")
@_consent_args
@config_option
def consent_show(app: AppContext, customer_id: str, channel: str | None, topic: str | None) -> None:
    """Current consent and the evidence trail."""
    from rapport.consent.state import current_states, history

    engine = app.migrated_engine()
    with engine.connect() as connection:
        _require_customer(connection, customer_id)
        states = current_states(connection, customer_id)
        events = history(connection, customer_id)
    for state in states:
        if (channel and state.channel != channel) or (topic and state.topic != topic):
            continue
        click.echo(
            f"{state.channel:<6} {state.topic:<12} {state.status:<10} since "
            f"{isoformat_z(state.captured_at)}"
        )
    click.echo("evidence:")
    for event in events:
        if (channel and event.channel != channel) or (topic and event.topic != topic):
            continue
        click.echo(
            f"  {isoformat_z(event.captured_at)} {event.channel}/{event.topic} {event.status} "
            f"source={event.source} wording={event.wording or '-'}"
        )


def _edit_consent(
    app: AppContext, customer_id: str, channel: str | None, topic: str | None, status: str
) -> None:
    from rapport.consent.store import ConsentChange, record_consent

    settings = app.settings
    if channel is None or topic is None:
        raise click.UsageError("--channel and --topic are required")
    if channel not in settings.channels:
        raise UserError(
            f"--channel: unknown channel {channel!r}; configured: " + ", ".join(settings.channels)
        )
    if topic not in settings.topics:
        raise UserError(
            f"--topic: unknown topic {topic!r}; configured: " + ", ".join(settings.topics)
        )
    engine = app.migrated_engine()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        _require_customer(connection, customer_id)
        record_consent(
            connection,
            [ConsentChange(customer_id, channel, topic, status, "operator", now)],
            recorded_at=now,
        )
    click.echo(f"{customer_id}: {channel}/{topic} {status}")


@consent.command("grant")
@_consent_args
@config_option
def consent_grant(
    app: AppContext, customer_id: str, channel: str | None, topic: str | None
) -> None:
    """Record a grant made through an operator."""
    _edit_consent(app, customer_id, channel, topic, "granted")


@consent.command("withdraw")
@_consent_args
@config_option
def consent_withdraw(
    app: AppContext, customer_id: str, channel: str | None, topic: str | None
) -> None:
    """Record a withdrawal made through an operator; it takes effect before the next send."""
    _edit_consent(app, customer_id, channel, topic, "withdrawn")


def _require_customer(connection: Any, customer_id: str) -> None:
    from sqlalchemy import select

    from rapport.engine.core.models import Customer

    table = Customer.__table__  # type: ignore[attr-defined]
    if connection.execute(select(table.c.id).where(table.c.id == customer_id)).first() is None:
        raise NotFound(f"no customer with id {customer_id!r}")


# -- demo -----------------------------------------------------------------------------
@cli.command()
@click.option(
    "--dir",
    "directory",
    default="var/demo",
    show_default=True,
    type=click.Path(file_okay=False, path_type=Path),
    help="Where the demo writes.",
)
@click.option("--customers", default=360, show_default=True, help="How many sample customers.")
@click.option("--seed", default=7, show_default=True, help="Random seed for the sample.")
@day_option
@config_option
def demo(app: AppContext, directory: Path, customers: int, seed: int, day: str | None) -> None:
    """A realistic sample: plan and dispatch one day through the file channel."""
    from rapport.engine.runtime.demo import run_demo

    run_demo(
        app.settings, directory, customers=customers, seed=seed, day=parse_day(day), echo=click.echo
    )
