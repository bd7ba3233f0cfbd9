"""The report's period, its rounding rules and its UTC buckets in SQL.

A period is whole UTC days, ``start`` to ``end`` inclusive. The figures are counted in
the database where they can be (GROUP BY month, day, customer): :func:`utc_month` and
:func:`utc_day` bucket a stored moment (naive UTC: text on SQLite, ``timestamp`` on
PostgreSQL) the same way on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, func


@dataclass(frozen=True)
class Period:
    """Whole UTC days, ``start`` to ``end`` inclusive."""

    start: date
    end: date

    @property
    def begin(self) -> datetime:
        return datetime.combine(self.start, time(), tzinfo=UTC)

    @property
    def finish(self) -> datetime:
        """The first moment after the period."""
        return datetime.combine(self.end + timedelta(days=1), time(), tzinfo=UTC)

    def contains(self, moment: datetime) -> bool:
        return self.begin <= moment < self.finish


def months(first: date, last: date) -> list[str]:
    """``YYYY-MM`` of every month from ``first``'s to ``last``'s."""
    found, year, month = [], first.year, first.month
    while (year, month) <= (last.year, last.month):
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


def ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


def money(value: float) -> float:
    """Money to cents."""
    return round(value, 2)


def rate(value: float | None) -> float | None:
    """Rates to six decimals."""
    return None if value is None else round(value, 6)


def _bucket(connection: Connection, column: Any, length: int, pattern: str) -> Any:
    # SQLite keeps the moment as text, "YYYY-MM-DD HH:MM:SS.ffffff" (naive UTC):
    # its first characters are the bucket; PostgreSQL formats its timestamp.
    if connection.dialect.name == "sqlite":
        return func.substr(column, 1, length)
    return func.to_char(column, pattern)


def utc_month(connection: Connection, column: Any) -> Any:
    """``YYYY-MM`` of a stored moment, in SQL."""
    return _bucket(connection, column, 7, "YYYY-MM")


def utc_day(connection: Connection, column: Any) -> Any:
    """``YYYY-MM-DD`` of a stored moment, in SQL."""
    return _bucket(connection, column, 10, "YYYY-MM-DD")
