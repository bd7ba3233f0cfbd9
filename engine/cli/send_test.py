"""``rapport send-test CAMPAIGN --to ADDRESS``: a campaign's message, marked as a test,
sent at once to the marketer's own address (see :mod:`rapport.engine.runtime.send_test`:
it never enters the outbox, so no report counts it)."""

from __future__ import annotations

import click

from rapport.engine.cli.app import (
    CUSTOMER_ID,
    TYPED_TEXT,
    AppContext,
    config_option,
    day_option,
    parse_day,
    run_async,
)


@click.command("send-test")
@click.argument("campaign_id", metavar="CAMPAIGN", type=TYPED_TEXT)
@click.option(
    "--to",
    "to",
    type=TYPED_TEXT,
    required=True,
    help="E-mail address, or E.164 phone number for SMS.",
)
@click.option("--channel", default=None, help="Channel (default: the campaign's first).")
@click.option(
    "--locale",
    default=None,
    help="Language to render, e.g. fa or fa_IR (default: the customer's, else the default).",
)
@click.option(
    "--customer",
    "customer_id",
    type=CUSTOMER_ID,
    default=None,
    help="Render with this customer's data (default: a sample customer).",
)
@day_option
@config_option
def send_test(
    app: AppContext,
    campaign_id: str,
    to: str,
    channel: str | None,
    locale: str | None,
    customer_id: str | None,
    day: str | None,
) -> None:
    """Send one message of CAMPAIGN, marked [TEST], to --to at once.

    It goes straight to the channel, not through the outbox: it is never counted in
    reports or history, never retried. E-mails carry the header X-Rapport-Test: 1.
    An address on the suppression list is refused. With --customer, the links in the
    message are stand-ins (SAMPLE-TOKEN), never that customer's working ones.
    """
    from rapport.engine.campaigns.model import find_campaign, require_campaigns
    from rapport.engine.core.errors import NotFound
    from rapport.engine.planning.clock import today_utc
    from rapport.engine.runtime.send_test import send_test as send

    settings = app.settings
    campaign = find_campaign(require_campaigns(settings), campaign_id)
    if campaign is None:
        raise NotFound(f"no campaign {campaign_id!r} in {settings.campaigns_path}")
    app.refuse_erased(
        [customer_id], "no message of theirs is rendered (leave out --customer for a sample)"
    )
    sent = run_async(
        send(
            settings,
            campaign,
            to,
            parse_day(day) or today_utc(),
            channel=channel,
            locale=locale,
            customer_id=customer_id,
            engine=app.migrated_engine(),  # its suppression list, even for a sample
        )
    )
    provider = f" (provider id {sent.provider_id})" if sent.provider_id else ""
    click.echo(
        f"sent a test message of {campaign_id} through {sent.channel} in {sent.locale}{provider}"
    )
