"""The key that signs links and derives coupon codes: one per installation.

Where the key comes from (the first that applies):

1. ``RAPPORT_SECRET_KEY`` (``Settings.secret_key``): used as given; nothing is read
   from or written to the database. Every machine must then be given the same value.
2. The database: the ``links`` row of the ``signing_key`` table. Every daemon and
   command on one database, SQLite file or PostgreSQL, signs and verifies with that
   key, so a link planned on one machine opens on any other, and a backup of the
   database holds the key its links were signed with.
3. No row yet: the first process that needs a key inserts one with
   ``INSERT ... ON CONFLICT DO NOTHING`` and reads the row back, so processes starting
   at the same moment all end up with whichever insert won. The key offered is the one
   an earlier version generated into ``secret_key_file`` (``var/secret.key``) if that
   file exists, so links already sent keep opening; otherwise a new random key (384
   bits). Nothing is written to the file any more.

An in-memory SQLite database exists once per connection, so a key kept there would not
outlive the call: with one, the key is kept in ``secret_key_file`` as before (created
with owner-only permissions and O_EXCL, so two processes cannot both write one).

The key is read when a process builds its signer
(:func:`rapport.engine.runtime.services.signer`) and at each planning run; a changed
row is seen by each process when it restarts. Rotating the key: docs/operations.md.

``signing_key`` is read and written only here; it is not one of the models of
:mod:`rapport.engine.core.models` because no query anywhere else joins or reads it.
"""

from __future__ import annotations

import logging
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

from sqlalchemy import Column, Connection, Engine, MetaData, String, Table, Text, inspect, select
from sqlalchemy.exc import OperationalError, ProgrammingError

from rapport.engine.core.config import Settings
from rapport.engine.core.db import in_memory, make_engine, upsert_insert
from rapport.engine.core.errors import UserError
from rapport.engine.core.timeutil import UTCDateTime

__all__ = ["LINKS", "SIGNING_KEY", "new_key", "secret_key", "stored_key"]

log = logging.getLogger(__name__)

#: The name of the row holding the link-signing key.
LINKS: Final = "links"
#: Created by migration 0009; one row per key name.
SIGNING_KEY: Final = Table(
    "signing_key",
    MetaData(),
    Column("name", String(32), primary_key=True),
    Column("secret", Text, nullable=False),
    Column("created_at", UTCDateTime(), nullable=False),
)
#: Key files already compared with the database's key in this process.
_compared: set[Path] = set()


def new_key() -> str:
    """A new random key: 48 random bytes, URL-safe base64 (64 characters)."""
    return secrets.token_urlsafe(48)


def secret_key(settings: Settings, engine: Engine | None = None) -> str:
    """The key links are signed with (see the module docstring for where it comes from).

    ``engine`` is the database the caller works on, when it has one open (a planning
    run): its key is the one that matters, whatever ``settings`` name.
    """
    if settings.secret_key:
        return settings.secret_key
    path = settings.resolve(settings.secret_key_file)
    own = engine is None
    if engine is None:
        engine = make_engine(settings.database_url)
    try:
        if in_memory(engine.url):
            return _file_key(path)
        offered = _legacy_key(path)
        key = stored_key(engine, offered)
    finally:
        if own:
            engine.dispose()
    if offered is not None and offered != key and path not in _compared:
        _compared.add(path)
        log.warning(
            "%s holds a signing key other than the database's; the database's is used "
            "(links signed with the file's key no longer open; the file can be deleted)",
            path,
        )
    return key


def stored_key(engine: Engine, offered: str | None = None) -> str:
    """The database's link-signing key; when there is none yet, ``offered`` (or a new
    random key) is stored first. Every caller gets the same key, whoever stored it."""
    try:
        with engine.begin() as connection:
            if (found := _read(connection)) is not None:
                return found
    except (OperationalError, ProgrammingError):
        _require_table(engine)
        raise
    row = {"name": LINKS, "secret": offered or new_key(), "created_at": datetime.now(UTC)}
    with engine.begin() as connection:
        insert = upsert_insert(connection, SIGNING_KEY).values(row)
        connection.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
        found = _read(connection)
    if found is None:  # pragma: no cover - the row was just inserted or already there
        raise RuntimeError("signing_key: the key was stored but cannot be read back")
    if found == row["secret"]:
        log.info("stored a link-signing key in the database (table signing_key)")
    return found


def _read(connection: Connection) -> str | None:
    query = select(SIGNING_KEY.c.secret).where(SIGNING_KEY.c.name == LINKS)
    found = connection.execute(query).scalar_one_or_none()
    return str(found) if found else None


def _require_table(engine: Engine) -> None:
    """Raise a UserError saying what to do if the schema predates ``signing_key``."""
    with engine.connect() as connection:
        present = inspect(connection).has_table(SIGNING_KEY.name)
    if not present:
        raise UserError(
            "the database has no signing_key table, where the key that signs links is "
            "kept: run `rapport db upgrade` (or set RAPPORT_SECRET_KEY)"
        )


#: The longest key a key file may hold (an earlier version wrote 64 characters).
MAX_FILE_KEY = 1024


def _legacy_key(path: Path) -> str | None:
    """The key an earlier version generated into ``path``, if there is one.

    Such a file holds one token on one line. Another file (``secret_key_file`` naming a
    customer's export or config.yaml by mistake) is refused: its whole text would
    otherwise become the database's signing key, whatever personal data it held."""
    try:
        with path.open("rb") as handle:
            raw = handle.read(MAX_FILE_KEY + 3)  # the key, CR LF, and one byte more
    except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
        return None
    key = raw.strip()
    if (
        len(raw) > MAX_FILE_KEY + 2
        or len(key) > MAX_FILE_KEY
        or not all(0x21 <= byte <= 0x7E for byte in key)
    ):
        raise UserError(
            f"secret_key_file: {path} holds no signing key (a key file is one line of at "
            f"most {MAX_FILE_KEY} ASCII characters without spaces, as an earlier version "
            "wrote it): point secret_key_file at that file, or remove the setting"
        )
    return key.decode("ascii") or None


def _file_key(path: Path) -> str:
    """The key kept in ``path``, generated there (owner-only) the first time."""
    if (found := _legacy_key(path)) is not None:
        return found
    path.parent.mkdir(parents=True, exist_ok=True)
    key = new_key()
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:  # another process made it first
        return path.read_text(encoding="ascii").strip()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(key + "\n")
    return key
