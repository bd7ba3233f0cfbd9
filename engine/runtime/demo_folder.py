"""What marks a folder as `rapport demo`'s own, and where its file channel wrote.

Kept apart from :mod:`rapport.engine.runtime.demo` (which imports the planner, the
dispatcher and the importer) so that commands working on a demo's store, such as
`rapport customers erase`, can recognise one cheaply.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

#: The file that marks a folder as the demo's own, so a later run may replace it.
DEMO_MARKER = ".rapport-demo"


def demo_outbox(database_url: str) -> Path | None:
    """The folder the demo's file channel wrote its messages to, when ``database_url``
    is the SQLite file of a store `rapport demo` made (its folder holds the marker);
    None for any other database.

    The demo sends through a file channel of its own (``outbox`` beside its database),
    not through the channels config.yaml configures, so the commands run on its store
    afterwards find those files here."""
    try:
        url = make_url(database_url)
    except ArgumentError:
        return None
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    folder = Path(str(url.database)).parent
    return folder / "outbox" if (folder / DEMO_MARKER).is_file() else None
