"""Importing customers, orders and consent from CSV or JSON Lines files.

An import is a stream: rows are read one at a time, validated field by field, and
written in batches, each batch in its own transaction. Memory stays bounded however
large the file, and a crash half-way loses nothing that re-running the (idempotent)
import would not restore.

A bad row never stops the import: every problem of the row is reported as
``FILE:ROW: field: reason`` and the row is skipped, so the good rows are kept and the
user can fix every mistake in one pass. Only a file that cannot be read at all
(missing, unknown type, missing columns) raises :class:`ImportFileError`.

Upserts are keyed by the external id and only write rows whose values differ, so
importing the same file twice changes nothing. Which columns an update touches
follows what the file says: a column (CSV) or key (JSON Lines) that is absent is
left as stored, while a present but empty value clears it. ``created_at`` is the
exception: left empty, it is set on insert and never overwritten.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import Connection, Engine, Table, or_, select

from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.config import Settings
from rapport.engine.core.db import upsert_insert
from rapport.engine.core.errors import ImportFileError, Problem, UsageError
from rapport.engine.core.models import CUSTOMER, ORDERS
from rapport.engine.core.timeutil import Clock, utcnow
from rapport.engine.customers import fields

log = logging.getLogger(__name__)


Kind = Literal["customers", "orders", "consent"]
ProgressCallback = Callable[[int, int], None]

KINDS: tuple[Kind, ...] = ("customers", "orders", "consent")
CSV_SUFFIXES = frozenset({".csv"})
JSONL_SUFFIXES = frozenset({".jsonl", ".ndjson"})
BATCH_SIZE = 1000
MAX_PROBLEMS = 1000
IN_CHUNK = 500
#: Consent captured a little "in the future" is clock skew between systems, not a typo.
CLOCK_SKEW = timedelta(minutes=5)
_MAX_IGNORED_KEYS = 20


@dataclass
class ImportReport:
    """What an import did, for the CLI to print.

    ``accepted`` counts valid rows; ``inserted``/``updated``/``unchanged`` count
    records, so they add up to fewer than ``accepted`` when a file repeats an id.
    For consent, ``inserted`` is new evidence and ``unchanged`` facts already on
    record. Only the first ``MAX_PROBLEMS`` problems are kept, the rest counted.
    """

    kind: str
    file: str
    rows_read: int = 0
    accepted: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_not_listed: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    #: Rows whose id repeats an earlier row of the same batch: the later row wins.
    repeated: int = 0
    warnings: list[Problem] = field(default_factory=list)
    max_problems: int = MAX_PROBLEMS

    def add_problem(self, problem: Problem) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)
        else:
            self.problems_not_listed += 1

    def summary(self) -> str:
        """One line of counts (no personal data: fit for logs as well as terminals)."""
        return (
            f"{self.file}: {self.rows_read} rows read, {self.accepted} accepted "
            f"({self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
            + (f", {self.repeated} repeated" if self.repeated else "")
            + f"), {self.rejected} rejected"
        )

    def problem_lines(self) -> list[str]:
        lines = [str(problem) for problem in self.problems]
        if self.problems_not_listed:
            lines.append(f"... and {self.problems_not_listed} more problems not listed")
        return lines


@dataclass(frozen=True)
class _Column:
    """How one import column is parsed and what an empty cell means."""

    name: str
    parse: Callable[[str], Any]
    required: bool = False
    empty: Any = None
    #: An empty cell gives ``empty`` on insert but leaves a stored value alone.
    keep_on_update: bool = False


@dataclass
class _Row:
    line: int
    values: dict[str, Any] = field(default_factory=dict)
    provided: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)


def _columns(kind: Kind, settings: Settings, today: date, now: datetime) -> tuple[_Column, ...]:
    """The columns of each kind, in the order the spec lists them (and problems print)."""
    if kind == "customers":
        return (
            _Column("id", partial(fields.external_id, field="id"), required=True),
            _Column("first_name", partial(fields.name, field="first_name"), empty=""),
            _Column("last_name", partial(fields.name, field="last_name"), empty=""),
            _Column("email", fields.email),
            _Column("phone", fields.phone),
            _Column("locale", fields.locale, required=True),
            _Column("timezone", fields.timezone, required=True),
            _Column("country", fields.country),
            _Column("birthday", partial(fields.birthday, today=today)),
            _Column(
                "created_at",
                partial(fields.iso_datetime, field="created_at"),
                empty=now,
                keep_on_update=True,
            ),
        )
    if kind == "orders":
        return (
            _Column("id", partial(fields.external_id, field="id"), required=True),
            _Column("customer_id", partial(fields.external_id, field="customer_id"), required=True),
            _Column("sku", partial(fields.external_id, field="sku"), required=True),
            _Column("quantity", fields.quantity, empty=1),
            _Column("amount", fields.amount, required=True),
            _Column("currency", fields.currency, required=True),
            _Column("ordered_at", partial(fields.iso_datetime, field="ordered_at"), required=True),
        )
    latest = now + CLOCK_SKEW

    def captured_at(text: str) -> datetime:
        return fields.not_after(fields.iso_datetime(text, "captured_at"), latest, "captured_at")

    return (
        _Column("customer_id", partial(fields.external_id, field="customer_id"), required=True),
        _Column("channel", partial(fields.channel, settings=settings), required=True),
        _Column("topic", partial(fields.topic, settings=settings), required=True),
        _Column("status", fields.consent_status, required=True),
        _Column("source", fields.source, required=True),
        _Column("captured_at", captured_at, required=True),
        _Column("wording", fields.wording),
    )


def _cell(raw: Any, name: str) -> str:
    """A JSON value or CSV cell as stripped text; JSON numbers are taken as written."""
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
        raise fields.FieldInvalid(name, "must be a string or a number")
    return str(raw)


def _parse_record(
    record: Mapping[str, Any], line: int, file: str, columns: Sequence[_Column]
) -> _Row:
    row = _Row(line)
    for column in columns:
        if column.name not in record:
            if column.required:
                row.problems.append(Problem(file, line, "is required", column.name))
            else:
                row.values[column.name] = column.empty
            continue
        try:
            text = _cell(record[column.name], column.name)
            if not text:
                if column.required:
                    raise fields.FieldInvalid(column.name, "is required")
                row.values[column.name] = column.empty
                if not column.keep_on_update:
                    row.provided.add(column.name)
                continue
            row.values[column.name] = column.parse(text)
            row.provided.add(column.name)
        except fields.FieldInvalid as exc:
            row.problems.append(Problem(file, line, exc.reason, exc.field))
    return row


def _decoded_lines(handle: IO[bytes]) -> Iterator[tuple[int, str, bool]]:
    """Physical lines as (number, text, is_utf8): a line that is not UTF-8 becomes one
    bad row rather than a failed import (its text has replacement characters)."""
    for number, raw in enumerate(handle, start=1):
        try:
            yield number, raw.decode("utf-8-sig" if number == 1 else "utf-8"), True
        except UnicodeDecodeError:
            yield number, raw.decode("utf-8", errors="replace"), False


def _csv_rows(
    handle: IO[bytes], file: str, columns: Sequence[_Column], report: ImportReport
) -> Iterator[_Row]:
    bad_lines: set[int] = set()

    def lines() -> Iterator[str]:
        for number, text, is_utf8 in _decoded_lines(handle):
            if not is_utf8:
                bad_lines.add(number)
            yield text

    reader = csv.reader(lines())
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError([Problem(file, None, "is empty: no header row")]) from None
    except csv.Error as exc:
        raise ImportFileError([Problem(file, 1, f"unreadable header: {exc}")]) from None
    if 1 in bad_lines:
        raise ImportFileError([Problem(file, 1, "header is not UTF-8 text")])
    names = [name.strip().lower() for name in header]
    known = {column.name for column in columns}
    duplicates = sorted({name for name in names if name and names.count(name) > 1})
    if duplicates:
        message = f"column appears more than once: {', '.join(duplicates)}"
        raise ImportFileError([Problem(file, 1, message)])
    missing = [column.name for column in columns if column.required and column.name not in names]
    if missing:
        required = ", ".join(column.name for column in columns if column.required)
        message = (
            f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
            f" (required: {required})"
        )
        raise ImportFileError([Problem(file, 1, message)])
    report.ignored_columns = [name for name in names if name and name not in known]
    wanted = [(index, name) for index, name in enumerate(names) if name in known]

    previous = reader.line_num
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            row = _Row(previous + 1, problems=[Problem(file, previous + 1, f"bad CSV: {exc}")])
            previous = reader.line_num
            yield row
            continue
        start, previous = previous + 1, reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        if any(number in bad_lines for number in range(start, previous + 1)):
            bad_lines.difference_update(range(start, previous + 1))
            yield _Row(start, problems=[Problem(file, start, "is not UTF-8 text")])
            continue
        if len(cells) != len(names):
            message = f"has {len(cells)} values but the header has {len(names)} columns"
            yield _Row(start, problems=[Problem(file, start, message)])
            continue
        yield _parse_record({name: cells[index] for index, name in wanted}, start, file, columns)


def _jsonl_rows(
    handle: IO[bytes], file: str, columns: Sequence[_Column], report: ImportReport
) -> Iterator[_Row]:
    known = {column.name for column in columns}
    for number, text, is_utf8 in _decoded_lines(handle):
        if not is_utf8:
            yield _Row(number, problems=[Problem(file, number, "is not UTF-8 text")])
            continue
        if not text.strip():
            continue
        try:
            record = json.loads(text, parse_float=Decimal)
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else "value too large"
            yield _Row(number, problems=[Problem(file, number, f"not valid JSON: {reason}")])
            continue
        if not isinstance(record, dict):
            yield _Row(number, problems=[Problem(file, number, "not a JSON object")])
            continue
        if len(report.ignored_columns) < _MAX_IGNORED_KEYS:
            for key in record:
                if key not in known and key not in report.ignored_columns:
                    report.ignored_columns.append(str(key))
        yield _parse_record(record, number, file, columns)


def _existing(connection: Connection, column: Any, keys: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        found.update(connection.execute(select(column).where(column.in_(chunk))).scalars())
    return found


def _check_customer_refs(
    connection: Connection, rows: Sequence[_Row], file: str, order: Mapping[str, int]
) -> None:
    """Mark rows that name a customer the database does not know (even rows already
    rejected for other reasons, so that every problem of a row is reported)."""
    referenced = [row.values["customer_id"] for row in rows if "customer_id" in row.values]
    known = _existing(connection, CUSTOMER.c.id, referenced)
    for row in rows:
        customer_id = row.values.get("customer_id")
        if customer_id is not None and customer_id not in known:
            row.problems.append(Problem(file, row.line, "unknown customer", "customer_id"))
            row.problems.sort(key=lambda problem: order.get(problem.field or "", -1))


def _upsert(
    connection: Connection, table: Table, rows: Sequence[_Row], report: ImportReport
) -> None:
    """Insert new ids, update changed ones, leave identical ones untouched.

    The ``WHERE ... IS DISTINCT FROM`` makes an unchanged row a no-op (no write, no
    dead tuple on PostgreSQL), and RETURNING tells which rows were written.
    """
    latest: dict[str, _Row] = {}
    for row in rows:
        earlier = latest.get(row.values["id"])
        if earlier is not None:  # a repeated id: the last row in the file wins
            report.repeated += 1
            if len(report.warnings) < report.max_problems:
                report.warnings.append(
                    Problem(
                        report.file,
                        row.line,
                        f"repeats the id of row {earlier.line}; this later row wins",
                        "id",
                    )
                )
        latest[row.values["id"]] = row
    existing = _existing(connection, table.c.id, latest)
    groups: dict[frozenset[str], list[dict[str, Any]]] = {}
    for row in latest.values():
        groups.setdefault(frozenset(row.provided - {"id"}), []).append(row.values)
    written: set[str] = set()
    for updated_columns, parameters in groups.items():
        statement = upsert_insert(connection, table)
        if updated_columns:
            names = sorted(updated_columns)
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={name: statement.excluded[name] for name in names},
                where=or_(
                    *(table.c[name].is_distinct_from(statement.excluded[name]) for name in names)
                ),
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=[table.c.id])
        written.update(connection.execute(statement.returning(table.c.id), parameters).scalars())
    report.inserted += len(latest.keys() - existing)
    report.updated += len(written & existing)
    report.unchanged += len(existing - written)


def _record(
    connection: Connection, rows: Sequence[_Row], report: ImportReport, now: datetime
) -> None:
    changes = [ConsentChange(**row.values) for row in rows]
    result = record_consent(connection, changes, recorded_at=now)
    report.inserted += result.recorded
    report.unchanged += result.duplicates


def _open(path: Path, file: str) -> tuple[IO[bytes], bool]:
    suffix = path.suffix.lower()
    if suffix not in CSV_SUFFIXES | JSONL_SUFFIXES:
        message = f"unknown file type {suffix or '(none)'!r}: use .csv, .jsonl or .ndjson"
        raise ImportFileError([Problem(file, None, message)])
    try:
        handle = path.open("rb")
    except FileNotFoundError:
        raise ImportFileError([Problem(file, None, "file not found")]) from None
    except IsADirectoryError:
        raise ImportFileError([Problem(file, None, "is a directory, not a file")]) from None
    except PermissionError:
        raise ImportFileError([Problem(file, None, "permission denied")]) from None
    return handle, suffix in CSV_SUFFIXES


def _flush(
    engine: Engine,
    kind: Kind,
    batch: Sequence[_Row],
    report: ImportReport,
    order: Mapping[str, int],
    now: datetime,
) -> None:
    """Write one batch in one transaction, then account for its rows in row order."""
    with engine.begin() as connection:
        if kind != "customers":
            _check_customer_refs(connection, batch, report.file, order)
        good = [row for row in batch if not row.problems]
        if good and kind == "consent":
            _record(connection, good, report, now)
        elif good:
            _upsert(connection, CUSTOMER if kind == "customers" else ORDERS, good, report)
    report.accepted += len(good)
    for row in batch:
        if row.problems:
            report.rejected += 1
            for problem in row.problems:
                report.add_problem(problem)


def import_file(
    engine: Engine,
    settings: Settings,
    kind: Kind,
    path: Path | str,
    *,
    progress: ProgressCallback | None = None,
    clock: Clock = utcnow,
    today: date | None = None,
    batch_size: int = BATCH_SIZE,
    max_problems: int = MAX_PROBLEMS,
) -> ImportReport:
    """Import ``path`` (CSV or JSON Lines, by extension) as ``kind``; see the module doc.

    ``clock`` stamps defaults (``created_at``, consent ``recorded_at``) and bounds
    consent capture times; ``today`` (default: the clock's UTC date) bounds birthdays.
    ``progress`` is called with ``(bytes_read, total_bytes)`` after every batch.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown import kind {kind!r}: use one of {', '.join(KINDS)}")
    path = Path(path)
    file = str(path)
    now = clock()
    columns = _columns(kind, settings, today or now.date(), now)
    order = {column.name: index for index, column in enumerate(columns)}
    report = ImportReport(kind=kind, file=file, max_problems=max_problems)
    handle, is_csv = _open(path, file)
    with handle:
        total = path.stat().st_size
        reported = -1

        def tick() -> None:
            nonlocal reported
            position = handle.tell()
            if progress is not None and position != reported:
                progress(position, total)
                reported = position

        tick()
        rows = (_csv_rows if is_csv else _jsonl_rows)(handle, file, columns, report)
        batch: list[_Row] = []
        for row in rows:
            report.rows_read += 1
            batch.append(row)
            if len(batch) >= batch_size:
                _flush(engine, kind, batch, report, order, now)
                batch = []
                tick()
        if batch:
            _flush(engine, kind, batch, report, order, now)
        tick()
    log.info(
        "import %s finished: %d read, %d accepted, %d rejected",
        kind,
        report.rows_read,
        report.accepted,
        report.rejected,
    )
    return report
