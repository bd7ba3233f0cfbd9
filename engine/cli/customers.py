"""``rapport customers export|erase``: the data-subject rights, as thin commands.

Exports go to stdout or to a file only the operator can read (it is the person's
whole record). Erasure cannot be undone, so it asks first; a script must say
``--yes`` rather than have a closed or piped stdin taken as consent.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import click

from rapport.engine.cli.app import AppContext, config_option


@click.group()
def customers() -> None:
    """Data-subject rights: export or erase a customer's personal data."""


@customers.command("export")
@click.argument("customer_id", metavar="CUSTOMER")
@click.option(
    "--output",
    "-o",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Write the JSON to FILE (mode 0600) instead of stdout.",
)
@config_option
def customers_export(app: AppContext, customer_id: str, output: Path | None) -> None:
    """Everything stored about CUSTOMER, as JSON: profile, orders, consent trail,
    messages and suppression entries."""
    from rapport.consent.privacy import export_customer

    with app.migrated_engine().connect() as connection:
        data = export_customer(connection, customer_id)
    text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    _write_private(output, text)
    click.echo(f"customer {customer_id} exported to {output}", err=True)


def _write_private(path: Path, text: str) -> None:
    """Create or replace ``path`` readable by its owner only, from the first byte on."""
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    if hasattr(os, "fchmod"):
        os.fchmod(descriptor, 0o600)  # an existing file keeps its mode otherwise
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)


@customers.command("erase")
@click.argument("customer_id", metavar="CUSTOMER")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed in scripts).")
@config_option
def customers_erase(app: AppContext, customer_id: str, yes: bool) -> None:
    """Erase CUSTOMER's personal data; consent evidence and orders are kept without it,
    and the addresses stay suppressed (hashed) so a re-import is not messaged."""
    from rapport.consent.privacy import erase_customer, require_customer
    from rapport.engine.core.timeutil import utcnow

    engine = app.migrated_engine()
    with engine.connect() as connection:
        require_customer(connection, customer_id)
    if not yes:
        _confirm(customer_id)
    with engine.begin() as connection:
        report = erase_customer(connection, customer_id, utcnow())
    click.echo(report.summary())


def _confirm(customer_id: str) -> Any:
    if not sys.stdin.isatty():
        raise click.UsageError("stdin is not a terminal: pass --yes to erase without asking")
    return click.confirm(
        f"Erase the personal data of customer {customer_id}? This cannot be undone",
        abort=True,
    )
