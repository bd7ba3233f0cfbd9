"""``rapport plan`` and ``rapport explain``: who gets what on a day, and why (not).

``explain`` runs the very function planning runs, so what it says is what ``plan``
does; where a real plan of that day stored its decision (engine/planning/decisions.py)
it shows that instead, and says which it shows. ``print_plan_report`` is shared with
``rapport run``.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

import click

from rapport.engine.cli.app import (
    CUSTOMER_ID,
    AppContext,
    config_option,
    day_option,
    echo_json,
    parse_day,
)
from rapport.engine.core.errors import NotFound
from rapport.engine.core.text import counted
from rapport.engine.planning.clock import planning_now, today_utc

if TYPE_CHECKING:
    from rapport.engine.campaigns.model import Campaign
    from rapport.engine.planning.decisions import StoredDecision
    from rapport.engine.planning.planner import Decision
    from rapport.engine.planning.run import PlannedCallback, PlanReport
    from rapport.engine.rendering.renderer import RenderedMessage


@click.command()
@day_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per planned message.")
@click.option("--dry-run", is_flag=True, help="Decide and render, write nothing.")
@config_option
def plan(app: AppContext, day: str | None, as_json: bool, dry_run: bool) -> None:
    """Decide who gets what on a date and write it to the outbox."""
    report = _plan(app, parse_day(day) or today_utc(), as_json=as_json, dry_run=dry_run)
    if not as_json:
        print_plan_report(report, dry_run)
    _report_render_errors(report)


def _plan(
    app: AppContext,
    day: date,
    *,
    as_json: bool,
    dry_run: bool,
    now: datetime | None = None,
    campaigns: Sequence[Campaign] | None = None,
) -> PlanReport:
    from rapport.engine.campaigns.model import require_campaigns
    from rapport.engine.core.timeutil import isoformat_z
    from rapport.engine.planning.plan import run_plan
    from rapport.engine.planning.run_lock import planning_run
    from rapport.engine.runtime import services

    settings = app.settings
    renderer = services.renderer(settings)
    loaded = campaigns if campaigns is not None else require_campaigns(settings)
    if campaigns is None:  # as validation would: a misspelt offer key is never sent
        from rapport.engine.campaigns.validate import offer_problems
        from rapport.engine.core.errors import CampaignError

        if problems := [p for c in loaded for p in offer_problems(c, settings, renderer)]:
            raise CampaignError(problems)
    on_planned: PlannedCallback | None = None
    if as_json:

        def on_planned(decision: Decision, rendered: RenderedMessage) -> None:
            occasion, send_at, expires_at = decision.occasion, decision.send_at, decision.expires_at
            # A planned message has all three.
            assert occasion is not None and send_at is not None and expires_at is not None
            echo_json(
                {
                    "customer_id": decision.customer_id,
                    "campaign": decision.campaign,
                    "channel": decision.channel,
                    "locale": decision.locale,
                    "template_locale": rendered.locale,
                    "send_at": isoformat_z(send_at),
                    "expires_at": isoformat_z(expires_at),
                    "occasion": occasion.key,
                    "idempotency_key": decision.idempotency_key,
                }
            )

    engine = app.migrated_engine()
    # A run that writes waits for a daemon's, and they for it: caps hold across days.
    with contextlib.nullcontext() if dry_run else planning_run(engine, on_wait=_waiting):
        return run_plan(
            engine,
            settings,
            loaded,
            day,
            now or planning_now(day, hypothetical=dry_run),
            renderer=renderer,
            signer=services.signer(settings),
            dry_run=dry_run,
            on_planned=on_planned,
        )


def print_plan_report(report: Any, dry_run: bool) -> None:
    verb = "would plan" if dry_run else "planned"
    click.echo(
        f"{report.day.isoformat()}: {counted(report.customers, 'customer')}, {verb} "
        f"{counted(report.planned_total, 'message')}"
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
        more = counted(len(report.render_errors) - 20, "more render error")
        click.echo(f"... and {more}", err=True)
    click.echo(
        f"{counted(len(report.render_errors), 'message')} not planned because a template "
        "failed; "
        "the others were planned",
        err=True,
    )
    sys.exit(1)


@click.command()
@click.argument("customer_ids", metavar="CUSTOMER...", nargs=-1, required=True, type=CUSTOMER_ID)
@day_option
@click.option("--json", "as_json", is_flag=True, help="One JSON object per campaign.")
@config_option
def explain(app: AppContext, customer_ids: tuple[str, ...], day: str | None, as_json: bool) -> None:
    """For each campaign: would these customers be messaged on the date, and why (not)?

    Where a real `plan` of the date stored its decision, that decision is shown, with
    its plan run (and what recomputing says now, when that differs); otherwise it runs
    the very function planning runs and says "recomputed (no stored decision)".
    """
    from rapport.engine.campaigns.model import require_campaigns
    from rapport.engine.customers.profiles import iter_profile_batches
    from rapport.engine.planning.audiences import audiences_for
    from rapport.engine.planning.decisions import stored_decisions
    from rapport.engine.planning.history import lookback_days
    from rapport.engine.planning.planner import history_cutoff, plan_customer
    from rapport.engine.triggers import event_query

    settings = app.settings
    the_day = parse_day(day) or today_utc()
    now = planning_now(the_day, hypothetical=True)
    engine = app.migrated_engine()
    loaded = sorted(require_campaigns(settings), key=lambda c: (c.priority, c.id))
    wanted = list(dict.fromkeys(customer_ids))
    app.refuse_erased(wanted, "nothing is planned or sent for them")
    profiles = {}
    with engine.connect() as connection:
        cutoff = history_cutoff(the_day, now)
        events = event_query([campaign.trigger for campaign in loaded], the_day)
        batches = iter_profile_batches(
            connection, settings, cutoff, customer_ids=wanted, events=events
        )
        for batch in batches:
            audiences = audiences_for(
                connection, batch, the_day, history_days=lookback_days(loaded)
            )
            for profile in batch:
                decisions = plan_customer(profile, loaded, audiences, the_day, now, settings)
                profiles[profile.id] = decisions
        stored = stored_decisions(connection, wanted, the_day)
    missing = [c for c in wanted if c not in profiles]
    if missing:
        raise NotFound(f"no customer with id {', '.join(map(repr, missing))}")
    for customer_id in wanted:
        _print_explanation(
            customer_id, profiles[customer_id], stored.get(customer_id, {}), the_day, as_json
        )


#: Said of a decision explain computed again because no real plan stored one.
RECOMPUTED = "recomputed (no stored decision)"


def _print_explanation(
    customer_id: str,
    decisions: list[Any],
    stored: dict[str, StoredDecision],
    day: Any,
    as_json: bool,
) -> None:
    """Each campaign's decision: the stored one when a real plan stored it (with its
    run), else the recomputed one (said on its own line, or once on the heading when
    nothing is stored). Stored decisions of campaigns no longer loaded come last."""
    from rapport.engine.core.text import printable
    from rapport.engine.core.timeutil import isoformat_z

    now = {d.campaign: d for d in decisions}
    rows = [(d, stored.get(d.campaign)) for d in decisions]
    rows += [(None, s) for campaign, s in sorted(stored.items()) if campaign not in now]
    if as_json:
        for d, s in rows:
            echo_json(_explanation_json(customer_id, d, s))
        return
    customer_id = printable(customer_id)  # as stored, perhaps before ids were checked
    if decisions:
        first = decisions[0]
        # Nothing stored for this customer and day: said once, on the heading.
        every = "" if stored else f": {RECOMPUTED}"
        click.echo(
            f"customer {customer_id} on {day}: stage {first.stage}, tier {first.tier}{every}"
        )
    for d, s in rows:
        if s is None:
            assert d is not None
            mark = "yes" if d.selected else "no "
            click.echo(f"  {mark} {d.campaign:<20} {d.reason.value:<16} {printable(d.detail)}")
            if stored:
                click.echo(f"        {RECOMPUTED}")
            continue
        mark = "yes" if s.reason == "selected" else "no "
        variant = f" (variant {s.variant})" if s.variant else ""
        click.echo(f"  {mark} {s.campaign:<20} {s.reason:<16} {printable(s.detail)}{variant}")
        source = f"        stored by plan run {s.plan_run}"
        if s.planned_at is not None:
            source += f" at {isoformat_z(s.planned_at)}"
        if d is not None and d.reason.value != s.reason:
            source += f"; recomputed now: {d.reason.value}"
        click.echo(source)


def _explanation_json(customer_id: str, d: Any, s: StoredDecision | None) -> dict[str, Any]:
    """One campaign's JSON line. A stored decision gives reason, detail, variant and
    its run; channel, send_at, stage and tier come from the recomputation."""
    from rapport.engine.core.timeutil import isoformat_z

    out: dict[str, Any] = {"customer_id": customer_id, "campaign": (s or d).campaign}
    if d is not None:
        out |= {
            "selected": d.selected,
            "reason": d.reason.value,
            "detail": d.detail,
            "channel": d.channel,
            "send_at": isoformat_z(d.send_at) if d.send_at else None,
            "stage": d.stage,
            "tier": d.tier,
            "variant": d.variant,
        }
    if s is None:
        return out | {"source": "recomputed", "plan_run": None, "planned_at": None}
    return out | {
        "selected": s.reason == "selected",
        "reason": s.reason,
        "detail": s.detail,
        "variant": s.variant,
        "source": "stored",
        "plan_run": s.plan_run,
        "planned_at": isoformat_z(s.planned_at) if s.planned_at else None,
        "recomputed_reason": d.reason.value if d is not None else None,
    }


def _waiting() -> None:
    click.echo(
        "waiting for the planning run under way (a daemon's, or another rapport plan) to "
        "finish: caps count what it plans",
        err=True,
    )
