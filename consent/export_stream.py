"""A customer's export written as it is read: rows come from the database a batch at a
time and go out as JSON at once, so a customer with a long history (200,000 orders, a
40 MB file) takes no more memory than a short one (it took 557 MB when the record was
read into lists, then into one string, before a byte was written).

The text is what ``json.dumps(document, ensure_ascii=False, indent=2)`` gives for the
whole document, plus a final newline.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, Executable

from rapport.engine.core.models import OUTBOX
from rapport.engine.core.timeutil import isoformat_z

#: Outbox columns a customer's export leaves out: the customer's id (the export is
#: theirs), the unique key made of it, and the dispatcher's lease bookkeeping.
MESSAGE_COLUMNS_NOT_EXPORTED = ("idempotency_key", "customer_id", "lease_until", "claimed_by")


def message_columns() -> list[str]:
    """The outbox columns a customer's export lists: every one but
    :data:`MESSAGE_COLUMNS_NOT_EXPORTED`, so a column added later (the variant, the
    delivery report, the time zone planned in) is exported unless named there."""
    return [c.name for c in OUTBOX.columns if c.name not in MESSAGE_COLUMNS_NOT_EXPORTED]


#: Rows fetched at a time (PostgreSQL reads them through a server-side cursor).
BATCH = 500


def jsonable(value: Any) -> Any:
    """Datetimes as UTC ISO 8601 with ``Z``, dates ISO, amounts as strings."""
    if isinstance(value, datetime):
        return isoformat_z(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def plain(mapping: Any) -> dict[str, Any]:
    return {key: jsonable(value) for key, value in dict(mapping).items()}


def streamed_rows(connection: Connection, statement: Executable) -> Iterator[dict[str, Any]]:
    """The statement's rows as plain dicts, fetched :data:`BATCH` at a time."""
    for row in connection.execute(statement.execution_options(yield_per=BATCH)):
        yield plain(row._mapping)


def write_document(sections: Iterable[tuple[str, Any]], write: Callable[[str], object]) -> None:
    """Write a JSON object of ``sections`` (key, value) in order: a mapping or a scalar
    value is written whole, any other iterable as a list, an item at a time."""
    write("{")
    empty = True
    for key, value in sections:
        write(("\n" if empty else ",\n") + f"  {_dumped(key, '')}: ")
        empty = False
        if isinstance(value, Mapping | str | int | float | bool) or value is None:
            write(_dumped(value, "  "))
            continue
        opened = False
        for item in value:
            write(("[\n" if not opened else ",\n") + "    " + _dumped(item, "    "))
            opened = True
        write("\n  ]" if opened else "[]")
    write("}\n" if empty else "\n}\n")


def _dumped(value: Any, indent: str) -> str:
    """``value`` as JSON, its later lines indented by ``indent`` (JSON escapes every
    line break inside a string, so each one here starts a line of the document)."""
    return json.dumps(value, ensure_ascii=False, indent=2).replace("\n", "\n" + indent)
