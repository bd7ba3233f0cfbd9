"""A campaign's template folders that are not there, at the line of the key naming them.

``templates: newsleter`` (or a variant's ``templates``) was reported only at a file in
the missing folder (``templates/newsleter/en/email_subject.txt: no email templates``),
once whichever campaigns named it, so nothing pointed at the campaign and its key.
Checked by :mod:`rapport.engine.campaigns.validate` before rendering the folder.
"""

from __future__ import annotations

import difflib
from pathlib import Path

from rapport.engine.campaigns.model import Campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import Problem
from rapport.engine.core.yamlsource import YamlSyntaxError, load_yaml

__all__ = ["missing_template_folders"]

#: Folder names listed in a problem, at most.
_LISTED = 12


def missing_template_folders(campaign: Campaign, settings: Settings) -> list[Problem]:
    """One problem per template folder the campaign names (or, without ``templates``,
    its id) that is not a folder under the templates folder."""
    root = settings.templates_path
    if campaign.variants:
        named = [(f"variants.{i}.templates", v.templates) for i, v in enumerate(campaign.variants)]
    else:
        named = [("templates", campaign.template_set)]
    missing = [(key, folder) for key, folder in named if not _is_folder(root / folder)]
    if not missing:
        return []
    source = campaign.source or campaign.id
    lines = _lines(source)
    problems = []
    for key, folder in missing:
        path = tuple(int(p) if p.isdigit() else p for p in key.split("."))
        written = path in lines
        why = f"no folder {folder!r} in {settings.templates_dir.as_posix().rstrip('/')}/"
        if not written:
            why += " (without templates, a campaign reads the folder named as its id)"
        problems.append(
            Problem(source, lines.get(path, lines.get((), 1)), why + _hint(root, folder), key)
        )
    return problems


def _is_folder(path: Path) -> bool:
    """Whether ``path`` is a folder; a name the file system refuses (longer than 255
    bytes: ENAMETOOLONG, which is_dir raises) is none, never a failed validation."""
    try:
        return path.is_dir()
    except OSError:
        return False


def _lines(source: str) -> dict[tuple[str | int, ...], int]:
    try:
        return load_yaml(Path(source), source).lines
    except (OSError, YamlSyntaxError):  # read a moment ago; changed since: no line
        return {}


def _hint(root: Path, folder: str) -> str:
    try:
        there = sorted(p.name for p in root.iterdir() if p.is_dir() and p.name[:1] not in "_.")
    except OSError:
        return ""
    if close := difflib.get_close_matches(folder, there, n=1):
        return f"; did you mean {close[0]!r}?"
    if not there:
        return "; it holds no template folder"
    more = f" and {len(there) - _LISTED} more" if len(there) > _LISTED else ""
    return "; folders there: " + ", ".join(there[:_LISTED]) + more
