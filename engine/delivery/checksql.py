"""The statements of the check before each send, as the database driver runs them.

The check (:mod:`.fence`) runs before every single send, with one message per check
when a channel has one connection; through SQLAlchemy Core its five statements cost
about a millisecond of Python each time, more than the database's own work, and on a
two-core machine that is a third of the e-mail rate. So they are written once per
dialect with one parameter per list (a JSON array read by ``json_each`` on SQLite, an
array compared with ``= ANY`` on PostgreSQL) and handed to the driver's cursor inside
the caller's SQLAlchemy transaction. The column and table names come from the models.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from rapport.engine.core.models import CONSENT_STATE, CUSTOMER, OUTBOX, SUPPRESSION
from rapport.engine.core.timeutil import as_utc

_O, _C, _S, _Z = OUTBOX.name, CUSTOMER.name, CONSENT_STATE.name, SUPPRESSION.name


def _statements(member: str, placeholder: str, plain: str = "") -> dict[str, str]:
    """``member``: how "column is in a list parameter" is written (``{}`` stands for
    the column); ``placeholder``: the driver's marker; ``plain``: SQLite's unary
    ``+``, which keeps a column's index out of the plan (else SQLite searches the
    status index, every message being sent, instead of the ids)."""
    p = placeholder

    def inside(column: str) -> str:
        return member.format(column)

    return {
        "renew": (
            f"UPDATE {_O} SET lease_until = {p}, attempts = attempts + 1 WHERE {inside('id')} "
            f"AND {plain}claimed_by = {p} AND {plain}status = 'sending' RETURNING id"
        ),
        "recipients": (
            f"SELECT id, email, phone, first_name, last_name, locale, timezone, country "
            f"FROM {_C} WHERE {inside('id')}"
        ),
        "granted": (
            f"SELECT customer_id, channel, topic FROM {_S} "
            f"WHERE {inside('customer_id')} AND status = 'granted'"
        ),
        "suppressed": f"SELECT channel, address FROM {_Z} WHERE {inside('address')}",
        "texted": (
            f"SELECT DISTINCT customer_id FROM {_O} WHERE {inside('customer_id')} "
            f"AND channel = 'sms' AND {plain}status = 'sent' AND transactional = {p}"
        ),
    }


_SQLITE = _statements("{} IN (SELECT value FROM json_each(?))", "?", "+")
_POSTGRESQL = _statements("{} = ANY(%s)", "%s")
#: The consent rows read are share-locked until the check commits (see fence.py).
_POSTGRESQL["granted"] += " FOR SHARE"


#: How each dialect's driver is handed a lease's end (the column type's bind processor).
_STAMPS: dict[str, Callable[[Any], Any]] = {}


class CheckStatements:
    """Runs the check's statements on ``connection``'s driver cursor."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        dialect = connection.dialect
        self.sqlite = dialect.name == "sqlite"
        self.sql = _SQLITE if self.sqlite else _POSTGRESQL
        stamp = _STAMPS.get(dialect.name)
        if stamp is None:  # looked up once per dialect: a check runs every few sends
            found = OUTBOX.c.lease_until.type.dialect_impl(dialect).bind_processor(dialect)
            stamp = _STAMPS[dialect.name] = found or (lambda value: value)
        self._stamp = stamp

    def _list(self, values: Sequence[Any]) -> Any:
        return json.dumps(list(values)) if self.sqlite else list(values)

    def _run(self, name: str, *parameters: Any) -> list[tuple[Any, ...]]:
        cursor = self.connection.connection.driver_connection.cursor()  # type: ignore[union-attr]
        try:
            cursor.execute(self.sql[name], parameters)
            return list(cursor.fetchall())
        finally:
            cursor.close()

    def renew_and_count(self, ids: Sequence[int], worker: str, until: datetime) -> set[int]:
        stamp = self._stamp(as_utc(until).replace(tzinfo=None))
        rows = self._run("renew", stamp, self._list(ids), worker)
        return {row[0] for row in rows}

    def recipients(self, customer_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        return self._run("recipients", self._list(customer_ids))

    def granted(self, customer_ids: Sequence[str]) -> dict[str, set[tuple[str, str]]]:
        found: dict[str, set[tuple[str, str]]] = {c: set() for c in customer_ids}
        for customer_id, channel, topic in self._run("granted", self._list(customer_ids)):
            found.setdefault(customer_id, set()).add((channel, topic))
        return found

    def listed(self, addresses: Sequence[str]) -> Iterable[tuple[str, str]]:
        return [(row[0], row[1]) for row in self._run("suppressed", self._list(addresses))]

    def texted(self, customer_ids: Sequence[str]) -> set[str]:
        if not customer_ids:
            return set()
        rows = self._run("texted", self._list(customer_ids), False)
        return {row[0] for row in rows}
