"""Files in the campaigns folder named like a campaign file but not as one.

Campaigns are read from ``<id>.yaml`` (or ``.yml``) files alone
(:func:`rapport.engine.campaigns.model.campaign_files`). A file whose extension is one
of those in other letters (``Birthday.YAML``) or misspelt (``birthday.ymal``,
``birthday.yaml.txt``, a name an editor added ``.txt`` to) was never read: the campaign
silently did not run, and ``campaigns validate`` counted one campaign fewer. Such a
file is a problem at its path. Backups (``birthday.yaml~``, ``.bak``), hidden files
(an editor's swap file) and a file put aside under another ending
(``birthday.yaml.disabled``) are left alone.
"""

from __future__ import annotations

import difflib
from pathlib import Path

__all__ = ["misnamed_campaign_files"]

_EXTENSIONS = ("yaml", "yml")
_BACKUPS = (".bak", ".orig", ".swp", ".tmp", ".old")


def misnamed_campaign_files(directory: Path) -> list[tuple[Path, str]]:
    """Each file of ``directory`` named like a campaign file but not read as one, with
    what is wrong."""
    found = []
    for path in sorted(directory.iterdir()):
        name = path.name
        if name.startswith(".") or name.endswith("~") or not path.is_file():
            continue
        if path.suffix in (".yaml", ".yml") or path.suffix.lower() in _BACKUPS:
            continue
        parts = name.lower().split(".")[1:]  # birthday.yaml.txt: yaml, txt
        # The last ending is the extension (Birthday.YAML, birthday.ymal), or an editor
        # added .txt to it; another ending after it (birthday.yaml.disabled) puts the
        # file aside on purpose, as renaming is a common way to switch a campaign off.
        if parts and (
            _yaml_like(parts[-1]) or (parts[-1] == "txt" and any(map(_yaml_like, parts[:-1])))
        ):
            stem = name.split(".")[0].lower()
            found.append(
                (
                    path,
                    "not a campaign file name, so this campaign is never loaded: name it "
                    f"{stem}.yaml (the campaign id, then .yaml in lower case)",
                )
            )
    return found


def _yaml_like(ending: str) -> bool:
    return bool(difflib.get_close_matches(ending, _EXTENSIONS, n=1, cutoff=0.7))
