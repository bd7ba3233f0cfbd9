"""``rapport outbox prune``: remove the content of old, finished messages.

Without ``--older-than`` the age is ``retention.outbox_days``, which ``rapport run``
also applies every night. What is removed and what is kept: see
:mod:`rapport.engine.delivery.retention` and docs/operations.md (Retention).
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import click

from rapport.engine.cli.app import AppContext, config_option, echo_json
from rapport.engine.cli.jsonout import user_errors_as_json


@click.group()
def outbox() -> None:
    """The outbox of planned and sent messages."""


def _age(_ctx: click.Context, _param: click.Parameter, value: str | None) -> timedelta | None:
    from rapport.engine.delivery.retention import AgeInvalid, parse_age

    if value is None:
        return None
    try:
        return parse_age(value)
    except AgeInvalid as exc:
        raise click.BadParameter(str(exc)) from None


@outbox.command("prune")
@click.option(
    "--older-than",
    "older_than",
    callback=_age,
    metavar="AGE",
    help="Prune messages finished longer ago than this: days or hours, e.g. 90d or 36h "
    "(default: retention.outbox_days).",
)
@click.option("--dry-run", is_flag=True, help="Count what would be pruned; change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON document.")
@config_option
def outbox_prune(
    app: AppContext, older_than: timedelta | None, dry_run: bool, as_json: bool
) -> None:
    """Remove subject and bodies of sent, failed, expired, suppressed and held-out
    messages older than AGE; the rows, and what the reports count, stay."""
    from rapport.engine.core.timeutil import utcnow
    from rapport.engine.delivery.retention import prune_outbox

    document: dict[str, Any] = {"cutoff": None, "older_than_seconds": None, "dry_run": dry_run}
    with user_errors_as_json(as_json, {**document, "pruned": 0}):
        age = older_than or timedelta(days=app.settings.retention.outbox_days)
        engine = app.migrated_engine()
    report = prune_outbox(engine, older_than=age, now=utcnow(), dry_run=dry_run)
    if as_json:
        document.update(cutoff=report.cutoff, older_than_seconds=int(age.total_seconds()))
        echo_json({"ok": True, **document, "pruned": report.pruned, "problems": []})
        return
    click.echo(report.summary())
