"""``rapport init DIR``: a folder to run Rapport from, written from the package itself.

An installed Rapport carries what a checkout has at its top level (``config.yaml``, the
campaigns and their templates in every locale, ``_partials`` included) as package data
under ``rapport/starter/`` (pyproject.toml maps the top level there). In a checkout
(an editable install) there is no such folder: the files are read where they are, at
the repository's top level. Either way the same files are copied, so a folder made by
``init`` runs ``rapport demo``, ``campaigns validate`` and the rest as the checkout does.

Nothing is overwritten without ``--force``: an operator's edited campaign or
configuration is theirs. Every file is checked before the first is written, so a
refusal leaves the folder as it was.
"""

from __future__ import annotations

import shlex
import shutil
from pathlib import Path

import click

from rapport.engine.cli.app import AppContext, config_option
from rapport.engine.core.errors import RapportError, UsageError

#: What ``init`` writes, relative to the starter folder: one file and two folders.
STARTER_FILES = ("config.yaml",)
STARTER_FOLDERS = ("campaigns", "templates")


class StarterMissing(RapportError):
    """The package holds no starter files: a broken or partial installation (exit 3)."""


def starter_dir() -> Path:
    """The folder ``init`` copies from: ``rapport/starter`` in an installed package,
    the repository's top level in a checkout."""
    import rapport

    package = Path(rapport.__file__).resolve().parent
    for candidate in (package / "starter", package.parent):
        if all((candidate / name).is_file() for name in STARTER_FILES) and all(
            (candidate / name).is_dir() for name in STARTER_FOLDERS
        ):
            return candidate
    raise StarterMissing(
        f"no config.yaml, campaigns/ and templates/ in {package / 'starter'}: "
        "the installation is incomplete; reinstall Rapport"
    )


def starter_files(source: Path) -> list[Path]:
    """Every file ``init`` writes, relative to ``source``, in a stable order."""
    found = [Path(name) for name in STARTER_FILES]
    for folder in STARTER_FOLDERS:
        found += sorted(
            path.relative_to(source)
            for path in (source / folder).rglob("*")
            if path.is_file() and "__pycache__" not in path.parts
        )
    return found


def write_starter(target: Path, *, force: bool = False) -> list[Path]:
    """Copy the starter files into ``target`` (created if missing); returns what was
    written, relative to ``target``. Without ``force`` an existing file is a UsageError
    naming it, raised before anything is written."""
    source = starter_dir()
    files = starter_files(source)
    if not force:
        existing = [name for name in files if (target / name).exists()]
        if existing:
            more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
            raise UsageError(
                f"{target / existing[0]} already exists{more}: rapport init overwrites "
                "nothing unless given --force"
            )
    for name in files:
        destination = target / name
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, destination)
    return files


@click.command()
@click.argument(
    "directory",
    metavar="[DIR]",
    default=".",
    type=click.Path(file_okay=False, path_type=Path),
)
@click.option("--force", is_flag=True, help="Overwrite files that already exist.")
@config_option
def init(app: AppContext, directory: Path, force: bool) -> None:
    """Write config.yaml, campaigns/ and templates/ into DIR (default: here), ready
    for `rapport demo`. Existing files are kept unless --force is given.

    (--config is accepted as by every command; init reads no configuration.)"""
    files = write_starter(directory, force=force)
    campaigns = sum(1 for name in files if name.parts[0] == "campaigns")
    templates = sum(1 for name in files if name.parts[0] == "templates")
    click.echo(
        f"Wrote {directory / 'config.yaml'}, {campaigns} campaigns in "
        f"{directory / 'campaigns'} and {templates} templates in {directory / 'templates'}."
    )
    steps = [
        ("rapport demo", "a sample shop, planned and sent to files"),
        ("rapport campaigns validate", "check the campaigns and every template"),
        ("rapport db upgrade", "create the database config.yaml names"),
        ("rapport import customers FILE", "then your own customers (CSV or JSON Lines)"),
    ]
    if directory.resolve() != Path.cwd().resolve():
        steps.insert(0, (f"cd {shlex.quote(str(directory))}", ""))
    click.echo("Next:")
    for command, why in steps:
        click.echo(f"  {command:<31} # {why}" if why else f"  {command}")
    click.echo("config.yaml says what each of its sections is for; it runs on SQLite as it is.")
