"""``rapport customers export|erase``: the data-subject rights, as thin commands.

Exports go to stdout or to a file only the operator can read (it is the person's
whole record). Erasure cannot be undone, so it asks first; a script must say
``--yes`` rather than have a closed or piped stdin taken as consent.

Erasure clears the database rows in one transaction, then removes the copies outside
them: the files a file channel wrote for the customer's messages, and, on SQLite, the
old page images in the write-ahead log (checkpointed and truncated). If another
process keeps the log in use, the command says so and exits 1: running it again later
finishes the job (erasing twice changes nothing more).
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import click

from rapport.engine.cli.app import CUSTOMER_ID, AppContext, config_option, json_for_stdout
from rapport.engine.core.errors import UserError
from rapport.engine.core.text import counted

if TYPE_CHECKING:
    from rapport.engine.core.config import Settings


@click.group()
def customers() -> None:
    """Data-subject rights: export or erase a customer's personal data."""


@customers.command("export")
@click.argument("customer_id", metavar="CUSTOMER", type=CUSTOMER_ID)
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
    messages, events, feedback, suppression entries and stored plan decisions."""
    from rapport.consent.export_stream import write_document
    from rapport.consent.privacy import export_sections

    if output is not None:
        app.check_output(output, "--output")
    # Written as read, a batch of rows at a time: a long history takes bounded memory.
    with app.migrated_engine().connect() as connection:
        sections = export_sections(connection, customer_id)  # NotFound before any output
        if output is None:
            # Event data and feedback comments may hold C1 and bidi controls: escaped,
            # as every JSON the command line prints (the same document).
            with _Buffered(lambda text: click.echo(json_for_stdout(text), nl=False)) as out:
                write_document(sections, out.write)
            return
        try:
            _write_private(output, lambda handle: write_document(sections, handle.write))
        except OSError as exc:  # the user's path: a mistake to name, not a crash
            raise UserError(f"--output: cannot write {output}: {exc.strerror or exc}") from None
    click.echo(f"customer {customer_id} exported to {output}", err=True)


class _Buffered:
    """Pieces of text passed on to ``emit`` about 64 KiB at a time."""

    def __init__(self, emit: Callable[[str], object]) -> None:
        self.emit = emit
        self.pieces: list[str] = []
        self.size = 0

    def write(self, text: str) -> None:
        self.pieces.append(text)
        self.size += len(text)
        if self.size >= 65536:
            self.flush()

    def flush(self) -> None:
        if self.pieces:
            self.emit("".join(self.pieces))
        self.pieces, self.size = [], 0

    def __enter__(self) -> _Buffered:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.flush()


def _write_private(path: Path, fill: Callable[[TextIO], object]) -> None:
    """Write ``path`` readable by its owner only, from the first byte on: filled in a
    new file beside it (mode 0600) that then replaces it, so a failure half way leaves
    the file as it was. A symbolic link is followed: its target is replaced. A file
    that is not a regular one (a named pipe, /dev/stdout, /dev/null) is written into,
    never replaced."""
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8") as handle:
            fill(handle)
        return
    target = Path(os.path.realpath(path))
    descriptor, temporary = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
            fill(handle)
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


@customers.command("erase")
@click.argument("customer_id", metavar="CUSTOMER", type=CUSTOMER_ID)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (needed in scripts).")
@config_option
def customers_erase(app: AppContext, customer_id: str, yes: bool) -> None:
    """Erase CUSTOMER's personal data; consent evidence and orders are kept without it,
    and the addresses stay suppressed (hashed) so a re-import is not messaged. The
    file channel's files of their messages are deleted, and SQLite's write-ahead log
    is checkpointed so no old copy stays in it."""
    from rapport.consent.privacy import (
        checkpoint_after_erasure,
        erase_customer,
        require_customer,
    )
    from rapport.engine.core.timeutil import utcnow

    engine = app.migrated_engine()
    with engine.connect() as connection:
        require_customer(connection, customer_id)
    if not yes:
        _confirm(customer_id)
    with engine.begin() as connection:
        report = erase_customer(connection, customer_id, utcnow())
    files = _erase_channel_files(app.settings, report.message_keys)
    click.echo(f"{report.summary()}, {counted(files, 'outbox file')} deleted")
    if checkpoint_after_erasure(engine) is False:
        raise UserError(
            "the rows are erased, but another process is reading the SQLite database, "
            "so its write-ahead log still holds old copies: run this command again "
            "when the daemon is idle (erasing twice changes nothing more)"
        )


def _erase_channel_files(settings: Settings, keys: Sequence[str]) -> int:
    """Delete what channels that keep copies (the file channel) wrote for these
    messages: every configured provider whose adapter has ``erase_messages``, and, on
    a store `rapport demo` made, the demo's own file channel's folder beside it (the
    demo sends there whatever config.yaml configures)."""
    from rapport.channels.file import FileChannel
    from rapport.channels.registry import adapter_class, build_channel
    from rapport.engine.runtime.demo_folder import demo_outbox

    removed = 0
    folders = set()
    for config in settings.channels.values():
        for provider in config.provider_list():
            if not hasattr(adapter_class(provider.adapter), "erase_messages"):
                continue
            channel = build_channel(provider.adapter, provider.options(), settings.base_dir)
            if isinstance(channel, FileChannel):
                if channel.path.resolve() in folders:
                    continue  # e-mail and SMS written to one folder: counted once
                folders.add(channel.path.resolve())
            removed += channel.erase_messages(keys)  # type: ignore[attr-defined]
    demo = demo_outbox(settings.database_url)
    if demo is not None and demo.resolve() not in folders:
        removed += FileChannel(demo).erase_messages(keys)
    return removed


def _confirm(customer_id: str) -> Any:
    if not sys.stdin.isatty():
        raise click.UsageError("stdin is not a terminal: pass --yes to erase without asking")
    return click.confirm(
        f"Erase the personal data of customer {customer_id}? This cannot be undone",
        abort=True,
    )
