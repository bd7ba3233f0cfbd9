"""``rapport consent show|grant|withdraw CUSTOMER``: operator view and edits.

Edits are recorded as consent evidence with source ``operator``. A grant must say
where the person agreed and to which text: ``--source`` (``paper_form``,
``phone_call`` ...; recorded as ``operator:<SOURCE>``) and ``--wording`` (the version
of the text they agreed to, as import's ``wording`` column). Without them a grant is
unprovable, so the command refuses it with a usage error (exit 2). A withdrawal
needs neither (withdrawing must stay as easy as agreeing) but records them if given.
An operator's grant counts at once, SMS included: the operator holds the proof.
Nothing is recorded for a customer erased on request (exit 1), as import and the API
skip their rows.
``show`` prints each fact's capture and recording times, source and wording, and the
IP address and user agent kept for a consent given on the web (its proof); ``show
--json`` prints the states and the trail as one document (see
:mod:`rapport.engine.cli.jsonout`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import click

from rapport.engine.cli.app import (
    CUSTOMER_ID,
    TYPED_TEXT,
    AppContext,
    config_option,
    echo_json,
)
from rapport.engine.cli.jsonout import user_errors_as_json
from rapport.engine.core.errors import UserError


@click.group()
def consent() -> None:
    """Operator view and edits of a customer's consent (recorded as evidence)."""


#: The source an operator edit is recorded with, and the prefix of a given one.
OPERATOR_SOURCE = "operator"


def _evidence_args(func: Any) -> Any:
    """``--source`` and ``--wording`` of a grant: both required, the proof of consent."""
    func = click.option(
        "--wording",
        type=TYPED_TEXT,
        default=None,
        metavar="VERSION",
        help="Version of the text the person agreed to, e.g. paper-form-2025-03 "
        "(required for grant).",
    )(func)
    return click.option(
        "--source",
        type=TYPED_TEXT,
        default=None,
        help="Where the person agreed, e.g. paper_form, phone_call, store_counter "
        "(required for grant; recorded as operator:SOURCE).",
    )(func)


def _withdrawal_evidence_args(func: Any) -> Any:
    """``--source`` and ``--wording`` of a withdrawal: optional, recorded when given."""
    func = click.option(
        "--wording",
        type=TYPED_TEXT,
        default=None,
        metavar="VERSION",
        help="Version of the text the person answered, e.g. letter-2025-03 (optional).",
    )(func)
    return click.option(
        "--source",
        type=TYPED_TEXT,
        default=None,
        help="Where the person withdrew, e.g. phone_call, letter, store_counter "
        "(optional; recorded as operator:SOURCE, else operator).",
    )(func)


def _evidence(source: str | None, wording: str | None) -> tuple[str, str | None]:
    """The recorded source and wording, checked as import checks those columns."""
    from rapport.engine.customers import fields

    try:
        recorded = OPERATOR_SOURCE
        if source is not None:
            given = fields.source(source.strip(), "--source")
            room = fields.MAX_SOURCE_LENGTH - len(OPERATOR_SOURCE) - 1
            if len(given) > room:
                raise fields.FieldInvalid(
                    "--source",
                    f"longer than {room} characters (recorded as {OPERATOR_SOURCE}:SOURCE, "
                    f"at most {fields.MAX_SOURCE_LENGTH} in all)",
                )
            recorded = f"{OPERATOR_SOURCE}:{given}"
        if wording is not None:
            wording = fields.wording(wording.strip(), "--wording")
            if not wording:
                raise fields.FieldInvalid("--wording", "must not be empty")
    except fields.FieldInvalid as exc:
        raise click.UsageError(str(exc)) from None
    return recorded, wording


def _consent_args(func: Any) -> Any:
    """CUSTOMER, ``--channel`` and ``--topic`` of an edit, which needs both."""
    func = click.option(
        "--topic", required=False, default=None, help="Topic, e.g. offers (required)."
    )(func)
    func = click.option(
        "--channel", required=False, default=None, help="Channel, e.g. email or sms (required)."
    )(func)
    return click.argument("customer_id", metavar="CUSTOMER", type=CUSTOMER_ID)(func)


def _show_args(func: Any) -> Any:
    """CUSTOMER, and ``--channel`` and ``--topic`` narrowing what ``show`` prints."""
    func = click.option("--topic", default=None, help="Only this topic.")(func)
    func = click.option("--channel", default=None, help="Only this channel.")(func)
    return click.argument("customer_id", metavar="CUSTOMER", type=CUSTOMER_ID)(func)


@consent.command("show")
@_show_args
@click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")
@config_option
def consent_show(
    app: AppContext, customer_id: str, channel: str | None, topic: str | None, as_json: bool
) -> None:
    """Current consent and the evidence trail."""
    from rapport.consent.privacy import require_customer
    from rapport.consent.state import current_states, history

    def shown(item: Any) -> bool:
        return (not channel or item.channel == channel) and (not topic or item.topic == topic)

    document: dict[str, Any] = {"customer_id": customer_id, "states": [], "evidence": []}
    with user_errors_as_json(as_json, document):
        _known(app.settings, channel, topic)
        engine = app.migrated_engine()
        with engine.connect() as connection:
            require_customer(connection, customer_id)
            states = [state for state in current_states(connection, customer_id) if shown(state)]
            events = [event for event in history(connection, customer_id) if shown(event)]
    if as_json:
        document["states"] = [
            {"channel": s.channel, "topic": s.topic, "status": s.status, "since": s.captured_at}
            for s in states
        ]
        document["evidence"] = [
            {
                "id": e.id,
                "captured_at": e.captured_at,
                "recorded_at": e.recorded_at,
                "channel": e.channel,
                "topic": e.topic,
                "status": e.status,
                "source": e.source,
                "wording": e.wording,
                "locale": e.locale,
                "ip": e.ip,
                "user_agent": e.user_agent,
            }
            for e in events
        ]
        echo_json({"ok": True, **document, "problems": []})
        return
    from rapport.engine.core.text import printable
    from rapport.engine.core.timeutil import isoformat_z

    for state in states:
        click.echo(
            f"{state.channel:<6} {state.topic:<12} {state.status:<10} since "
            f"{isoformat_z(state.captured_at)}"
        )
    if not states and not events:
        narrowed = " for that channel or topic" if channel or topic else ""
        click.echo(f"no consent recorded{narrowed}")
        return
    click.echo("evidence:")
    for event in events:
        # Where a web consent came from is part of its proof: shown when it was kept.
        web = (f" ip={printable(event.ip)}" if event.ip else "") + (
            f' user_agent="{printable(event.user_agent)}"' if event.user_agent else ""
        )
        click.echo(
            f"  {isoformat_z(event.captured_at)} {event.channel}/{event.topic} {event.status} "
            f"source={printable(event.source)} wording={printable(event.wording or '-')} "
            f"recorded={isoformat_z(event.recorded_at)}{web}"
        )


def _known(settings: Any, channel: str | None, topic: str | None) -> None:
    """A channel and topic named on the command line must be configured ones."""
    if channel is not None and channel not in settings.channels:
        raise UserError(
            f"--channel: unknown channel {channel!r}; configured: " + ", ".join(settings.channels)
        )
    if topic is not None and topic not in settings.topics:
        raise UserError(
            f"--topic: unknown topic {topic!r}; configured: " + ", ".join(settings.topics)
        )


def _refuse_erased(connection: Any, customer_id: str) -> None:
    """Nothing is recorded for a customer erased on request, as import and the API skip
    their rows: an erasure is never refilled."""
    from sqlalchemy import select

    from rapport.engine.core.models import CUSTOMER
    from rapport.engine.core.timeutil import as_utc

    erased = connection.execute(
        select(CUSTOMER.c.erased_at).where(CUSTOMER.c.id == customer_id)
    ).scalar()
    if erased is not None:
        raise UserError(
            f"customer {customer_id!r} was erased on request on "
            f"{as_utc(erased).date().isoformat()}: nothing is recorded for them (a new "
            "sign-up is a new customer id)"
        )


def _edit_consent(
    app: AppContext,
    customer_id: str,
    channel: str | None,
    topic: str | None,
    status: str,
    source: str | None = None,
    wording: str | None = None,
) -> None:
    from rapport.consent.privacy import require_customer
    from rapport.consent.store import ConsentChange, record_consent

    settings = app.settings
    if channel is None or topic is None:
        raise click.UsageError("--channel and --topic are required")
    if status == "granted":
        missing = [
            name for name, value in (("--source", source), ("--wording", wording)) if not value
        ]
        if missing:
            raise click.UsageError(
                " and ".join(missing)
                + (" is" if len(missing) == 1 else " are")
                + " required for a grant: --source says where the person agreed "
                "(e.g. paper_form), --wording which version of the text they agreed to "
                "(e.g. paper-form-2025-03)"
            )
    recorded_source, wording = _evidence(source, wording)
    _known(settings, channel, topic)
    engine = app.migrated_engine()
    now = datetime.now(UTC)
    with engine.begin() as connection:
        require_customer(connection, customer_id)
        _refuse_erased(connection, customer_id)
        record_consent(
            connection,
            [
                ConsentChange(
                    customer_id, channel, topic, status, recorded_source, now, wording=wording
                )
            ],
            recorded_at=now,
        )
    click.echo(f"{customer_id}: {channel}/{topic} {status}")


@consent.command("grant")
@_consent_args
@_evidence_args
@config_option
def consent_grant(
    app: AppContext,
    customer_id: str,
    channel: str | None,
    topic: str | None,
    source: str | None,
    wording: str | None,
) -> None:
    """Record a grant the person gave through an operator (--source and --wording
    required: where they agreed, and the version of the text they agreed to)."""
    _edit_consent(app, customer_id, channel, topic, "granted", source, wording)


@consent.command("withdraw")
@_consent_args
@_withdrawal_evidence_args
@config_option
def consent_withdraw(
    app: AppContext,
    customer_id: str,
    channel: str | None,
    topic: str | None,
    source: str | None,
    wording: str | None,
) -> None:
    """Record a withdrawal made through an operator; it takes effect before the next send."""
    _edit_consent(app, customer_id, channel, topic, "withdrawn", source, wording)
