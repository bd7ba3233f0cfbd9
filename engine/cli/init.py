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

Nothing is written through a symbolic link either, with or without ``--force``: a
link at a file's place, or at any folder between DIR and it, dangling or not, is
refused by name (a link planted there would send the write anywhere the link points).
``--force`` replaces regular files only. DIR itself may be a link: that is the
operator's choice of place. Writing goes through file descriptors: each folder is
opened with ``O_NOFOLLOW`` relative to the one above it, each file written to a new
temporary name beside its place and renamed over it, so a link swapped in after the
check still redirects nothing (a rename replaces the link itself, never its target).
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shlex
import stat
from pathlib import Path
from typing import Any

import click

from rapport.engine.cli.app import AppContext, config_option
from rapport.engine.core.errors import RapportError, UsageError
from rapport.engine.core.text import counted

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
    written, relative to ``target``. A symbolic link on the way, or (without ``force``)
    an existing file, is a UsageError naming it, raised before anything is written."""
    source = starter_dir()
    files = starter_files(source)
    _check_places(target, files, force=force)
    target.mkdir(parents=True, exist_ok=True)
    write_files(target, [(name, (source / name).read_bytes()) for name in files])
    return files


def _check_places(target: Path, files: list[Path], *, force: bool) -> None:
    """UsageError for the first place inside ``target`` that init must not write: a
    symbolic link (file or folder, dangling or not), a folder's place held by something
    else, a file's place held by anything but a regular file, or (without ``force``)
    any existing file."""
    if target.is_symlink() and not target.is_dir():
        raise UsageError(f"{target} is a symbolic link to no folder: rapport init needs a folder")
    checked: set[Path] = set()
    existing: list[Path] = []
    for name in files:
        for depth in range(1, len(name.parts) + 1):
            place = target.joinpath(*name.parts[:depth])
            if place in checked:
                continue
            checked.add(place)
            try:
                mode = place.lstat().st_mode
            except FileNotFoundError:
                break  # nothing below a missing folder exists either
            if stat.S_ISLNK(mode):
                raise UsageError(
                    f"{place} is a symbolic link: rapport init writes through no link, "
                    "with or without --force; remove it, or init another folder"
                )
            if depth < len(name.parts) and not stat.S_ISDIR(mode):
                raise UsageError(f"{place} is in the way: rapport init needs a folder there")
            if depth == len(name.parts):
                if not stat.S_ISREG(mode):
                    raise UsageError(
                        f"{place} is not a regular file: --force replaces regular files only"
                    )
                existing.append(name)
    if existing and not force:
        more = f" (and {len(existing) - 1} more)" if len(existing) > 1 else ""
        raise UsageError(
            f"{target / existing[0]} already exists{more}: rapport init overwrites "
            "nothing unless given --force"
        )


#: Opens a folder without following a link at its name (ELOOP or ENOTDIR if one is there).
_FOLDER = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW
#: Creates a new file, never one that exists and never through a link.
_NEW_FILE = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW


def write_files(target: Path, contents: list[tuple[Path, bytes]]) -> None:
    """Write each (relative name, bytes) under the folder ``target``, never through a
    symbolic link below it: folders are made and opened relative to their parent's
    descriptor with ``O_NOFOLLOW``, and each file is written to a fresh temporary name
    in its folder, then renamed over its place. A link found on the way (one put there
    after :func:`_check_places` looked) is a UsageError naming it; the files already
    written stay, each whole."""
    folders: dict[tuple[str, ...], int] = {(): os.open(target, os.O_RDONLY | os.O_DIRECTORY)}
    try:
        for name, data in contents:
            parent = _folder(target, name.parts[:-1], folders)
            _replace(parent, name.parts[-1], data)
    finally:
        for descriptor in folders.values():
            os.close(descriptor)


def _folder(target: Path, parts: tuple[str, ...], folders: dict[tuple[str, ...], int]) -> int:
    """The descriptor of the folder ``parts`` below ``target``, made where missing."""
    if parts in folders:
        return folders[parts]
    parent = _folder(target, parts[:-1], folders)
    with contextlib.suppress(FileExistsError):
        os.mkdir(parts[-1], dir_fd=parent)
    try:
        folders[parts] = os.open(parts[-1], _FOLDER, dir_fd=parent)
    except OSError:
        raise _link_refused(target.joinpath(*parts)) from None
    return folders[parts]


def _replace(folder: int, leaf: str, data: bytes) -> None:
    """Write ``data`` to a new temporary file in ``folder`` and rename it to ``leaf``."""
    temporary = f".{leaf}.{secrets.token_hex(8)}.tmp"
    descriptor = os.open(temporary, _NEW_FILE, 0o666, dir_fd=folder)
    try:
        with os.fdopen(descriptor, "wb") as out:
            out.write(data)
        os.rename(temporary, leaf, src_dir_fd=folder, dst_dir_fd=folder)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(temporary, dir_fd=folder)
        raise


def _link_refused(place: Path) -> UsageError:
    return UsageError(
        f"{place} is a symbolic link or not a folder: rapport init writes through no link"
    )


class _Folder(click.Path):
    """DIR, never empty: ``rapport init "$DIR"`` with DIR unset wrote into the current
    folder (as ``--config ""`` is refused, so is this)."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():
            self.fail("empty: name the folder, or leave DIR out for this one", param, ctx)
        return super().convert(value, param, ctx)


@click.command()
@click.argument(
    "directory",
    metavar="[DIR]",
    default=".",
    type=_Folder(file_okay=False, path_type=Path),
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
        f"Wrote {directory / 'config.yaml'}, {counted(campaigns, 'campaign')} in "
        f"{directory / 'campaigns'} and {counted(templates, 'template')} in "
        f"{directory / 'templates'}."
    )
    program = _program()
    steps = [
        ("rapport demo", "a sample shop, planned and sent to files"),
        ("rapport campaigns validate", "check the campaigns and every template"),
        ("rapport db upgrade", "create the database config.yaml names"),
        ("rapport import customers FILE", "then your own customers (CSV or JSON Lines)"),
        ("rapport import orders FILE", "their orders"),
        ("rapport import consent FILE", "who said yes to what (no consent, no message)"),
        ("rapport plan", "who gets what today, into the outbox"),
        ("rapport dispatch --once", "send what is due (files in var/outbox)"),
        ("rapport serve", "the preference and unsubscribe links' web app"),
    ]
    if program != "rapport":
        steps = [(program + command.removeprefix("rapport"), why) for command, why in steps]
    if directory.resolve() != Path.cwd().resolve():
        steps.insert(0, (f"cd {shlex.quote(str(directory))}", ""))
    click.echo("Next:")
    width = max(len(command) for command, _ in steps) + 1
    for command, why in steps:
        click.echo(f"  {command:<{width}} # {why}" if why else f"  {command}")
    click.echo("config.yaml says what each of its sections is for; it runs on SQLite as it is.")


def _program() -> str:
    """``rapport`` when that is on the PATH and is this command; else this command's
    absolute path (a checkout's .venv/bin/rapport), which still holds after ``cd DIR``."""
    import shutil
    import sys

    invoked = Path(sys.argv[0])
    if invoked.name != "rapport" or not invoked.exists():
        return "rapport"
    found = shutil.which("rapport")
    if found is not None and Path(found).resolve() == invoked.resolve():
        return "rapport"
    return shlex.quote(str(invoked.absolute()))
