"""``rapport api-token create|list|revoke``: the HTTP API's bearer tokens (docs/api.md).

``create NAME --scope ingest|send|read`` prints the new token once, on its own line
(only its SHA-256 is stored); ``list`` shows names, scopes and dates, never a token;
``revoke NAME`` stops a token at once (exit 0, also when it was revoked already;
exit 1 for an unknown name).
"""

from __future__ import annotations

import click

from rapport.engine.cli.app import AppContext, config_option, echo_json
from rapport.engine.web.scopes import SCOPES

_JSON = click.option("--json", "as_json", is_flag=True, help="Print one JSON document.")


@click.group("api-token")
def api_token() -> None:
    """Bearer tokens of the HTTP API."""


@api_token.command("create")
@click.argument("name")
@click.option("--scope", type=click.Choice(SCOPES), required=True, help="What the token may do.")
@config_option
def create(app: AppContext, name: str, scope: str) -> None:
    """Make a token; it is printed once and never stored."""
    from rapport.engine.core.timeutil import utcnow
    from rapport.engine.web.api_tokens import create_token

    token = create_token(app.migrated_engine(), name, scope, utcnow())
    click.echo(token)
    click.echo(f"token {name!r} ({scope}): keep it now, it is not shown again", err=True)


@api_token.command("list")
@_JSON
@config_option
def list_command(app: AppContext, as_json: bool) -> None:
    """Every token's name, scope, creation and revocation (never the token)."""
    from rapport.engine.core.text import printable
    from rapport.engine.web.api_tokens import list_tokens

    tokens = list_tokens(app.migrated_engine())
    if as_json:
        echo_json(
            [
                {
                    "name": t.name,
                    "scope": t.scope,
                    "created_at": t.created_at,
                    "revoked_at": t.revoked_at,
                }
                for t in tokens
            ]
        )
        return
    if not tokens:
        click.echo("no API tokens")
    for t in tokens:
        state = f"revoked {t.revoked_at:%Y-%m-%d %H:%M}" if t.revoked_at else "live"
        name = printable(t.name)  # a name stored before names were checked is shown
        click.echo(f"{name}\t{t.scope}\tcreated {t.created_at:%Y-%m-%d %H:%M}\t{state}")


@api_token.command("revoke")
@click.argument("name")
@config_option
def revoke(app: AppContext, name: str) -> None:
    """Stop a token at once; its name stays taken."""
    from rapport.engine.core.timeutil import utcnow
    from rapport.engine.web.api_tokens import revoke_token

    changed = revoke_token(app.migrated_engine(), name, utcnow())
    click.echo(f"token {name!r} revoked" if changed else f"token {name!r} was already revoked")
