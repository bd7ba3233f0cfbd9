"""Campaign files as the daemon sees them: reloaded when they change, never lost.

A marketer saving a broken file must not stop a running campaign: each file's last
valid version stays in force until a valid one replaces it, and the problems are
reported (once per change) so the mistake is noticed. A deleted file ends its campaign.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from rapport.engine.campaigns.model import Campaign, campaign_files, load_campaign
from rapport.engine.core.config import Settings
from rapport.engine.core.errors import CampaignError, Problem

log = logging.getLogger(__name__)


@dataclass
class _Entry:
    stamp: tuple[int, int]
    campaign: Campaign | None
    problems: list[Problem]


class CampaignStore:
    """``check``: further problems of a campaign that loaded (the daemon passes the
    offer keys no template reads, :func:`rapport.engine.campaigns.validate.offer_problems`);
    a campaign with any is treated as an invalid file."""

    def __init__(
        self,
        settings: Settings,
        on_problems: Callable[[list[Problem]], None] | None = None,
        check: Callable[[Campaign], list[Problem]] | None = None,
    ) -> None:
        self.settings = settings
        self.on_problems = on_problems or _log_problems
        self.check = check
        self._entries: dict[Path, _Entry] = {}
        self._valid: dict[Path, Campaign] = {}

    def current(self) -> list[Campaign]:
        """The campaigns in force now, re-reading only the files that changed."""
        directory = self.settings.campaigns_path
        present = set(campaign_files(directory)) if directory.is_dir() else set()
        for gone in set(self._entries) - present:
            del self._entries[gone]
            if self._valid.pop(gone, None) is not None:
                log.info(
                    "campaign file %s removed: its campaign has ended",
                    gone.name,
                    extra={"file": gone.name},
                )
        for path in sorted(present):
            stat = path.stat()
            stamp = (stat.st_mtime_ns, stat.st_size)
            entry = self._entries.get(path)
            if entry is not None and entry.stamp == stamp:
                continue
            self._entries[path] = self._load(path, stamp)
        return sorted(self._valid.values(), key=lambda c: (c.priority, c.id))

    def problems(self) -> list[Problem]:
        return [p for entry in self._entries.values() for p in entry.problems]

    def _load(self, path: Path, stamp: tuple[int, int]) -> _Entry:
        try:
            campaign = load_campaign(path, self.settings, _display(path))
            if self.check is not None and (problems := self.check(campaign)):
                raise CampaignError(problems)
        except CampaignError as exc:
            kept = "keeping its last valid version" if path in self._valid else "not loaded"
            log.warning(
                "campaign file %s is invalid (%s)", path.name, kept, extra={"file": path.name}
            )
            self.on_problems(exc.problems)
            return _Entry(stamp, None, list(exc.problems))
        if path in self._valid:
            log.info(
                "campaign file %s reloaded",
                path.name,
                extra={"file": path.name, "campaign": campaign.id},
            )
        self._valid[path] = campaign
        return _Entry(stamp, campaign, [])


def _log_problems(problems: list[Problem]) -> None:
    for problem in problems:
        log.warning("%s", problem)


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)
