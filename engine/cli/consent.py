"""``rapport consent show|grant|withdraw CUSTOMER``: operator view and edits.

Edits are recorded as consent evidence with source ``operator``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from rapport.engine.cli.app import AppContext, config_option
from rapport.engine.core.errors import UserError
from rapport.engine.core.timeutil import isoformat_z


@click.group()
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
    from rapport.consent.privacy import require_customer
    from rapport.consent.state import current_states, history

    engine = app.migrated_engine()
    with engine.connect() as connection:
        require_customer(connection, customer_id)
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
    from rapport.consent.privacy import require_customer
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
        require_customer(connection, customer_id)
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
