"""The key that signs links: from RAPPORT_SECRET_KEY, or generated once and kept.

A generated key is written with owner-only permissions next to the SQLite store,
so links in messages keep working across restarts on a single machine.
"""

from __future__ import annotations

import os
import secrets

from rapport.engine.core.config import Settings


def secret_key(settings: Settings) -> str:
    if settings.secret_key:
        return settings.secret_key
    path = settings.resolve(settings.secret_key_file)
    if path.exists():
        return path.read_text(encoding="ascii").strip()
    path.parent.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(48)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
