"""Events other systems tell about customers: checked, recorded, read back, pruned.

An event (``order_shipped``, ``trial_ended``) is something that happened to one
customer at one instant, sent by ``POST /api/v1/events`` (engine/web/api_events.py);
an ``event`` trigger follows it (engine/triggers/events.py). Each item has

* ``id``: the caller's id of the event, 1-64 characters. (customer_id, name, id) is
  unique: posting the same event again changes nothing (``unchanged``), posting it
  with another ``occurred_at`` or ``data`` corrects it (``updated``). The same id
  under another name or customer is another event;
* ``customer_id``: a customer Rapport knows (else ``unknown customer``, as orders);
  one erased on request is skipped, never re-created;
* ``name``: :data:`NAME`, a lower-case identifier;
* ``occurred_at``: ISO 8601 with an offset or ``Z`` (an instant, never a local
  time), at most a day ahead (:data:`EVENT_AHEAD`) and no older than the retention
  (``retention.event_days``), which would delete it the next night;
* ``data`` (optional): a JSON object of at most :data:`MAX_DATA_BYTES` bytes as
  compact JSON, which templates see as ``occasion.event.data``; no key or string in
  it may hold what a database cannot store (NUL, a lone surrogate), refused with its
  pointer (``/events/3/data/carrier``). Stored as text and
  read back with decimal numbers, so an amount keeps its digits.

Events live for ``retention.event_days`` (:func:`prune_events`, run nightly with the
outbox retention); an erasure deletes the customer's events with the rest of what
identifies them (:mod:`rapport.consent.privacy`). Planning reads only the events its
``event`` campaigns can follow (:class:`EventQuery`).
"""

from __future__ import annotations

import json
import logging
import math
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING, Any

from sqlalchemy import ColumnElement, Connection, Engine, or_, select

from rapport.engine.core.db import upsert_insert
from rapport.engine.core.errors import Problem
from rapport.engine.core.models import CUSTOMER_EVENT
from rapport.engine.core.prune import delete_before
from rapport.engine.core.text import find_unstorable, json_pointer
from rapport.engine.core.timeutil import as_utc, isoformat_z
from rapport.engine.customers import fields
from rapport.engine.customers.profile import EventRecord
from rapport.engine.customers.rows import Column, Row, id_column, parse_record

if TYPE_CHECKING:
    from rapport.engine.customers import importer

log = logging.getLogger(__name__)

#: An event's name: a lower-case letter, then up to 63 lower-case letters, digits or _.
NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")
#: The most an event's ``data`` may hold, as compact JSON (UTF-8 bytes).
MAX_DATA_BYTES = 4096
#: An event may be dated this far ahead (a system whose clock runs ahead); later is a typo.
EVENT_AHEAD = timedelta(days=1)
PRUNE_BATCH = 1000
_BIG = Decimal(10) ** 18
_OFFSET = re.compile(r".*(Z|z|[+-]\d\d:?\d\d)")


def event_name(text: str, field: str = "name") -> str:
    """An event name as :data:`NAME` has it, else :class:`~fields.FieldInvalid`."""
    if not NAME.fullmatch(text):
        raise fields.FieldInvalid(
            field, "must be a lower-case letter then up to 63 lower-case letters, digits or _"
        )
    return text


def _occurred_at(text: str, earliest: datetime, latest: datetime) -> datetime:
    if not _OFFSET.fullmatch(text):
        raise fields.FieldInvalid("occurred_at", "needs a UTC offset or Z (e.g. 2026-12-01T10:00Z)")
    moment = fields.iso_datetime(text, "occurred_at")
    if moment < earliest:
        raise fields.FieldInvalid(
            "occurred_at", f"is older than the event retention (before {isoformat_z(earliest)})"
        )
    limit = isoformat_z(latest.replace(microsecond=0))
    return fields.not_after(
        moment, latest, "occurred_at", f"is more than a day in the future (after {limit})"
    )


def columns(now: datetime, retention_days: int) -> tuple[Column, ...]:
    """The text fields of an event item, in the order problems are listed."""
    earliest = now - timedelta(days=retention_days)
    return (
        id_column("id"),
        id_column("customer_id"),
        Column("name", event_name, required=True),
        Column(
            "occurred_at",
            partial(_occurred_at, earliest=earliest, latest=now + EVENT_AHEAD),
            required=True,
        ),
    )


class _TooLarge(ValueError):
    """A number beyond what a float holds (about 1.8e308)."""


def _jsonable(value: Any) -> Any:
    """Decimal numbers (the API parses them so) as JSON numbers: whole ones as ints,
    others as the float whose shortest form is the same digits. The size is checked
    before anything rounds (copy_abs and comparisons use no decimal context): rounding
    ``-1e999999999`` in Python's context overflows."""
    if isinstance(value, Decimal):
        if value.is_finite() and value.copy_abs() < _BIG and value == value.to_integral_value():
            return int(value)
        number = float(value)
        if value.is_finite() and math.isinf(number):
            raise _TooLarge
        return number
    raise TypeError(type(value).__name__)


def data_text(value: Any) -> str | None:
    """An item's ``data`` as the compact JSON text stored, or None for none."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise fields.FieldInvalid("data", "must be a JSON object")
    try:
        text = json.dumps(
            value, default=_jsonable, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
    except _TooLarge:
        raise fields.FieldInvalid(
            "data", "holds a number too large to store (beyond 1.8e308)"
        ) from None
    except (TypeError, ValueError, RecursionError):
        raise fields.FieldInvalid("data", "must hold JSON values only") from None
    found = find_unstorable(value)
    if found is not None:  # named by its pointer: /events/3/data/carrier
        raise fields.FieldInvalid("data" + json_pointer(found[0]), found[1])
    if len(text.encode("utf-8")) > MAX_DATA_BYTES:
        raise fields.FieldInvalid("data", f"is over {MAX_DATA_BYTES} bytes as JSON")
    return text


def load_data(text: str | None) -> dict[str, Any] | None:
    """Stored ``data`` as a mapping, numbers with a fraction as Decimal."""
    return None if text is None else json.loads(text, parse_float=Decimal)


def parse_event(
    item: Mapping[str, Any], index: int, file: str, event_columns: Sequence[Column]
) -> Row:
    """One item checked as an import row, its ``data`` too (a JSON object, which a
    text column could not carry)."""
    row = parse_record({k: v for k, v in item.items() if k != "data"}, index, file, event_columns)
    try:
        row.values["data"] = data_text(item.get("data"))
    except fields.FieldInvalid as exc:
        row.problems.append(Problem(file, index, exc.reason, exc.field))
    return row


def write_events(
    engine: Engine,
    batch: Sequence[Row],
    report: importer.ImportReport,
    order: Mapping[str, int],
    now: datetime,
) -> None:
    """Write one batch in one transaction with the importer's checks (erased customers
    skipped, unknown ones refused); then account for its rows in order. The importer
    (and the consent store with it) is imported here: triggers read this module's
    event names at every command's start."""
    from rapport.engine.customers import importer

    with engine.begin() as connection:
        importer.skip_erased(connection, batch, report.file, "customer_id")
        importer.check_customer_refs(connection, batch, report.file, order)
        good = [row for row in batch if not row.problems and row.skipped is None]
        if good:
            _upsert(connection, good, report, now)
    report.accepted += len(good)
    importer.account(batch, report)


def _key(values: Mapping[str, Any]) -> tuple[str, str, str]:
    return values["customer_id"], values["name"], values["id"]


def _upsert(
    connection: Connection, rows: Sequence[Row], report: importer.ImportReport, now: datetime
) -> None:
    """Insert new events, correct changed ones, leave the same ones alone; an event
    repeated in the batch is written once, as its last item says."""
    latest: dict[tuple[str, str, str], Row] = {}
    for row in rows:
        earlier = latest.get(_key(row.values))
        if earlier is not None:
            report.add_repeat(row.line, earlier.line, "the customer_id, name and id")
        latest[_key(row.values)] = row
    table = CUSTOMER_EVENT.c
    existing: set[tuple[str, str, str]] = set()
    by_customer: dict[str, list[str]] = defaultdict(list)
    for customer_id, _, event_key in latest:
        by_customer[customer_id].append(event_key)
    for customer_id, keys in by_customer.items():
        found = connection.execute(
            select(table.customer_id, table.name, table.event_key).where(
                table.customer_id == customer_id, table.event_key.in_(keys)
            )
        )
        existing.update((row.customer_id, row.name, row.event_key) for row in found)
    statement = upsert_insert(connection, CUSTOMER_EVENT)
    statement = statement.on_conflict_do_update(
        index_elements=[table.customer_id, table.name, table.event_key],
        set_={"occurred_at": statement.excluded.occurred_at, "data": statement.excluded.data},
        where=or_(
            table.occurred_at.is_distinct_from(statement.excluded.occurred_at),
            table.data.is_distinct_from(statement.excluded.data),
        ),
    )
    parameters = [
        {
            "customer_id": key[0],
            "name": key[1],
            "event_key": key[2],
            "occurred_at": row.values["occurred_at"],
            "data": row.values["data"],
            "recorded_at": now,
        }
        for key, row in latest.items()
    ]
    written = {
        (r.customer_id, r.name, r.event_key)
        for r in connection.execute(
            statement.returning(table.customer_id, table.name, table.event_key), parameters
        )
    }
    report.inserted += len(latest.keys() - existing)
    report.updated += len(written & existing)
    report.unchanged += len(existing - written)


@dataclass(frozen=True)
class EventQuery:
    """Which events planning reads: of these names, occurred from ``since`` on."""

    names: tuple[str, ...]
    since: datetime


def read_events(
    connection: Connection,
    which: ColumnElement[bool],
    query: EventQuery,
    as_of: datetime,
) -> dict[str, tuple[EventRecord, ...]]:
    """The events ``query`` asks for, up to ``as_of``, of the customers ``which``
    selects (a clause on ``customer_event.customer_id``), oldest first per customer."""
    table = CUSTOMER_EVENT.c
    rows = connection.execute(
        select(table.customer_id, table.name, table.event_key, table.occurred_at, table.data)
        .where(
            which,
            table.name.in_(query.names),
            table.occurred_at >= query.since,
            table.occurred_at <= as_of,
        )
        .order_by(table.customer_id, table.occurred_at, table.event_key)
    )
    found: dict[str, list[EventRecord]] = defaultdict(list)
    for customer_id, name, key, occurred_at, data in rows:
        found[customer_id].append(EventRecord(name, key, as_utc(occurred_at), load_data(data)))
    return {customer_id: tuple(events) for customer_id, events in found.items()}


def prune_events(
    engine: Engine,
    *,
    days: int,
    now: datetime,
    batch_size: int = PRUNE_BATCH,
    stop: Callable[[], bool] | None = None,
) -> int:
    """Delete events that occurred more than ``days`` before ``now``, a batch of ids
    per transaction (oldest first); ``stop`` is asked between batches. How many went."""
    deleted = delete_before(
        engine,
        CUSTOMER_EVENT.c.id,
        CUSTOMER_EVENT.c.occurred_at,
        now - timedelta(days=days),
        batch_size=batch_size,
        stop=stop,
    )
    log.info("event retention: %d event(s) deleted", deleted, extra={"deleted": deleted})
    return deleted
