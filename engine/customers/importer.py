"""Importing customers, orders and consent from CSV or JSON Lines files.

An import is a stream: rows are read one at a time, validated field by field, and
written in batches, each batch in its own transaction. Memory stays bounded however
large the file, and a crash half-way loses nothing that re-running the (idempotent)
import would not restore.

A bad row never stops the import: every problem of the row is reported as
``FILE:ROW: field: reason`` and the row is skipped, so the good rows are kept and the
user can fix every mistake in one pass. Only a file that cannot be read at all
(missing, unknown type, missing columns) raises :class:`ImportFileError`.

E-mail addresses are checked against the configured e-mail channels as well as for
syntax (:func:`rapport.engine.customers.fields.sendable_email`): an address no channel
could send to is a bad row, not a failure at send time.

A customer erased on request is never re-created or refilled: a customers row with
their id, and an orders or consent row naming them, is skipped (not a problem: a
nightly CRM sync must not fail every night), counted in ``erased_skipped`` and
listed as ``FILE:ROW: id: skipped: erased on request on DATE``. An address an erased
customer had, under a new id, is imported with a warning: it stays suppressed until
that customer's consent captured after the erasure is recorded
(:mod:`rapport.consent.erased_addresses`).

Consent rows are facts, recorded once: one restating a recorded fact with another
wording is reported as a conflict and counted ``conflicting``, and the record keeps its
evidence (:mod:`rapport.engine.customers.consent_rows`).

Upserts are keyed by the external id and only write rows whose values differ, so
importing the same file twice changes nothing. Which columns an update touches
follows what the file says: a column (CSV) or key (JSON Lines) that is absent is
left as stored, while a present but empty value clears it. ``created_at`` is the
exception: left empty, it is set on insert and never overwritten.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import IO, Any, Literal

from sqlalchemy import Connection, Engine, Table, and_, or_, select

from rapport.consent.erased_addresses import lift_for_fresh_consent
from rapport.consent.privacy import ADDRESS_COLUMNS, ERASED_REASON, address_hash
from rapport.engine.core.config import Settings
from rapport.engine.core.db import upsert_insert
from rapport.engine.core.errors import ImportFileError, Problem, UsageError
from rapport.engine.core.models import CUSTOMER, ORDERS, SUPPRESSION
from rapport.engine.core.text import counted
from rapport.engine.core.timeutil import Clock, as_utc, isoformat_z, utcnow
from rapport.engine.customers import fields
from rapport.engine.customers.consent_rows import record_rows
from rapport.engine.customers.erased_ids import erased_among
from rapport.engine.customers.rows import Column, Row, csv_rows, id_column, jsonl_rows

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
#: An order dated up to a day ahead is a shop in a time zone ahead of ours writing its
#: local time as UTC; later than that, a typo (2999 for 2025) that would count forever.
ORDER_AHEAD = timedelta(days=1)


@dataclass
class ImportReport:
    """What an import did, for the CLI to print.

    ``accepted`` counts valid rows; ``inserted``/``updated``/``unchanged`` count
    records, so they add up to fewer than ``accepted`` when a file repeats an id.
    For consent, ``inserted`` is new evidence and ``unchanged`` facts already on
    record; ``conflicting`` rows restated a recorded fact with other evidence (a
    problem each, neither accepted nor rejected). ``erased_skipped`` rows named a
    customer erased on request: neither accepted nor rejected, each listed in
    ``skipped``. Only the first
    ``MAX_PROBLEMS`` problems (and skips) are kept, the rest counted.
    """

    kind: str
    file: str
    rows_read: int = 0
    accepted: int = 0
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    conflicting: int = 0
    rejected: int = 0
    problems: list[Problem] = field(default_factory=list)
    problems_not_listed: int = 0
    ignored_columns: list[str] = field(default_factory=list)
    #: Rows whose id repeats an earlier row of the same batch: the later row wins.
    repeated: int = 0
    warnings: list[Problem] = field(default_factory=list)
    erased_skipped: int = 0
    skipped: list[Problem] = field(default_factory=list)
    max_problems: int = MAX_PROBLEMS
    #: The rows are the items of an API request (``line`` their index), named by JSON
    #: pointers (``/orders/3``) rather than by rows of a file.
    items: bool = False

    def add_repeat(self, line: int, earlier: int, what: str = "the id") -> None:
        """Count a row that repeats an earlier row's key (the later wins), and warn."""
        self.repeated += 1
        if len(self.warnings) >= self.max_problems:
            return
        if self.items:
            message = f"repeats {what} of /{self.file}/{earlier}; this later item wins"
            self.warnings.append(Problem(self.file, line, message))
        else:
            message = f"repeats {what} of row {earlier}; this later row wins"
            self.warnings.append(Problem(self.file, line, message, "id"))

    def add_problem(self, problem: Problem) -> None:
        if len(self.problems) < self.max_problems:
            self.problems.append(problem)
        else:
            self.problems_not_listed += 1

    def summary(self) -> str:
        """One line of counts (no personal data: fit for logs as well as terminals)."""
        return (
            f"{self.file}: {counted(self.rows_read, 'row')} read, "
            f"{self.accepted} accepted "
            f"({self.inserted} inserted, {self.updated} updated, {self.unchanged} unchanged"
            + (f", {self.repeated} repeated" if self.repeated else "")
            + ")"
            + (f", {self.conflicting} conflicting" if self.conflicting else "")
            + f", {self.rejected} rejected"
            + (
                f", {self.erased_skipped} skipped (erased on request)"
                if self.erased_skipped
                else ""
            )
        )

    def problem_lines(self) -> list[str]:
        lines = [str(problem) for problem in self.problems]
        if self.problems_not_listed:
            lines.append(f"... and {counted(self.problems_not_listed, 'more problem')} not listed")
        return lines


def columns(kind: Kind, settings: Settings, today: date, now: datetime) -> tuple[Column, ...]:
    """The columns of each kind, in the order the spec lists them (and problems print).

    The one list of them: docs/import.md documents each, and a test holds the page to
    this function (its names and which are required).
    """
    if kind == "customers":
        return (
            id_column("id"),
            Column("first_name", partial(fields.name, field="first_name"), empty=""),
            Column("last_name", partial(fields.name, field="last_name"), empty=""),
            Column(
                "email",
                partial(fields.sendable_email, utf8_mailboxes=fields.utf8_mailboxes(settings)),
            ),
            Column("phone", fields.phone),
            Column("locale", fields.locale, required=True),
            Column("timezone", fields.timezone, required=True),
            Column("country", fields.country),
            Column("birthday", partial(fields.birthday, today=today)),
            Column(
                "created_at",
                partial(_day_ahead, latest=now + ORDER_AHEAD, field="created_at"),
                empty=now,
                keep_on_update=True,
            ),
            Column("currency", fields.currency),
        )
    if kind == "orders":
        return (
            id_column("id"),
            id_column("customer_id"),
            id_column("sku"),
            Column("quantity", fields.quantity, empty=1),
            Column("amount", fields.amount, required=True),
            Column("currency", fields.currency, required=True),
            Column(
                "ordered_at",
                partial(_day_ahead, latest=now + ORDER_AHEAD, field="ordered_at"),
                required=True,
            ),
        )
    latest = now + CLOCK_SKEW

    def captured_at(text: str) -> datetime:
        return fields.not_after(fields.iso_datetime(text, "captured_at"), latest, "captured_at")

    return (
        id_column("customer_id"),
        Column("channel", partial(fields.channel, settings=settings), required=True),
        Column("topic", partial(fields.topic, settings=settings), required=True),
        Column("status", fields.consent_status, required=True),
        Column("source", fields.source, required=True),
        Column("captured_at", captured_at, required=True),
        Column("wording", fields.wording),
    )


def _day_ahead(text: str, latest: datetime, field: str) -> datetime:
    """An order's or a customer's date-time, at most a day ahead (:data:`ORDER_AHEAD`)."""
    limit = isoformat_z(latest.replace(microsecond=0))
    reason = f"is more than a day in the future (after {limit})"
    return fields.not_after(fields.iso_datetime(text, field), latest, field, reason)


def _existing(connection: Connection, column: Any, keys: Iterable[str], *where: Any) -> set[str]:
    wanted = list(dict.fromkeys(keys))
    found: set[str] = set()
    for start in range(0, len(wanted), IN_CHUNK):
        chunk = wanted[start : start + IN_CHUNK]
        query = select(column).where(column.in_(chunk), *where)
        found.update(connection.execute(query).scalars())
    return found


def check_customer_refs(
    connection: Connection, rows: Sequence[Row], file: str, order: Mapping[str, int]
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


def skip_erased(connection: Connection, rows: Sequence[Row], file: str, key: str) -> None:
    """Mark rows whose ``key`` (a customer's id) names a customer erased on request.

    An erased customer's row stays (their consent evidence and orders point to it), so
    without this a CRM sync would refill the name and addresses they asked to have
    erased, grant them consent again or add to their order history. Whatever else the
    row says, it is not imported.
    """
    # Read under a lock, so that an erasure cannot commit between this and the write.
    erased = erased_among(connection, [row.values[key] for row in rows if key in row.values])
    for row in rows:
        when = erased.get(row.values.get(key, ""))
        if when is not None:
            reason = f"skipped: erased on request on {as_utc(when).date().isoformat()}"
            row.skipped = Problem(file, row.line, reason, key)


def _erased_addresses(connection: Connection, rows: Sequence[Row]) -> list[tuple[Row, str]]:
    """(row, column) of every address an erased customer had (kept as hashes on the
    suppression list), in rows that will be imported: a new id with such an address
    may be a new sign-up, imported with a warning."""
    todo = [row for row in rows if not row.problems and row.skipped is None]
    hashes = {
        address_hash(kind, row.values[column])
        for row in todo
        for kind, column in ADDRESS_COLUMNS.items()
        if row.values.get(column)
    }
    suppressed = _existing(
        connection, SUPPRESSION.c.address, hashes, SUPPRESSION.c.reason == ERASED_REASON
    )
    return [
        (row, column)
        for row in todo
        for kind, column in ADDRESS_COLUMNS.items()
        if row.values.get(column) and address_hash(kind, row.values[column]) in suppressed
    ]


def _warn_erased_addresses(
    connection: Connection,
    flagged: Sequence[tuple[Row, str]],
    report: ImportReport,
    kinds: Mapping[str, str],
) -> None:
    """Lift what the customers' fresh consent already on record lifts, and warn."""
    lifts = lift_for_fresh_consent(connection, {row.values["id"] for row, _ in flagged}, kinds)
    lifted = {(lift.customer_id, ADDRESS_COLUMNS[lift.kind]) for lift in lifts}
    for row, column in flagged:
        if (row.values["id"], column) in lifted:
            reason = (
                "belonged to a customer erased on request: imported, and unblocked by "
                "this customer's consent captured after the erasure"
            )
        else:
            reason = (
                "belonged to a customer erased on request: imported, but not messaged on "
                "this channel until this customer's consent captured after the erasure "
                "is recorded"
            )
        if len(report.warnings) < report.max_problems:
            report.warnings.append(Problem(report.file, row.line, reason, column))


def _upsert(
    connection: Connection, table: Table, rows: Sequence[Row], report: ImportReport
) -> None:
    """Insert new ids, update changed ones, leave identical ones untouched.

    The ``WHERE ... IS DISTINCT FROM`` makes an unchanged row a no-op (no write, no
    dead tuple on PostgreSQL), and RETURNING tells which rows were written.
    """
    latest: dict[str, Row] = {}
    for row in rows:
        earlier = latest.get(row.values["id"])
        if earlier is not None:  # a repeated id: the last row in the file wins
            report.add_repeat(row.line, earlier.line)
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
            differs = or_(
                *(table.c[name].is_distinct_from(statement.excluded[name]) for name in names)
            )
            statement = statement.on_conflict_do_update(
                index_elements=[table.c.id],
                set_={name: statement.excluded[name] for name in names},
                # Never an erased customer, even one erased after skip_erased looked
                # (a commit between the two statements, under READ COMMITTED).
                where=and_(differs, table.c.erased_at.is_(None)) if table is CUSTOMER else differs,
            )
        else:
            statement = statement.on_conflict_do_nothing(index_elements=[table.c.id])
        written.update(connection.execute(statement.returning(table.c.id), parameters).scalars())
    report.inserted += len(latest.keys() - existing)
    report.updated += len(written & existing)
    report.unchanged += len(existing - written)


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
    except OSError as exc:  # a loop of symbolic links, a name too long, ...
        reason = f"cannot be opened: {(exc.strerror or type(exc).__name__).lower()}"
        raise ImportFileError([Problem(file, None, reason)]) from None
    return handle, suffix in CSV_SUFFIXES


def write_batch(
    engine: Engine,
    kind: Kind,
    batch: Sequence[Row],
    report: ImportReport,
    order: Mapping[str, int],
    now: datetime,
    kinds: Mapping[str, str],
) -> None:
    """Write one batch in one transaction, then account for its rows in row order.

    The file import and the API's ingest endpoints (engine/web/api_ingest.py) both
    write through here, so rows meet the same checks and the same idempotent upserts."""
    flagged: list[tuple[Row, str]] = []
    with engine.begin() as connection:
        skip_erased(connection, batch, report.file, "id" if kind == "customers" else "customer_id")
        if kind == "customers":
            flagged = _erased_addresses(connection, batch)
        else:
            check_customer_refs(connection, batch, report.file, order)
        good = [row for row in batch if not row.problems and row.skipped is None]
        if good and kind == "consent":
            record_rows(connection, good, report, now, kinds)
        elif good:
            _upsert(connection, CUSTOMER if kind == "customers" else ORDERS, good, report)
        if flagged:
            _warn_erased_addresses(connection, flagged, report, kinds)
    report.accepted += sum(1 for row in good if not row.conflicts)
    account(batch, report)


def account(batch: Sequence[Row], report: ImportReport) -> None:
    """Count a written batch's skipped, rejected and conflicting rows and keep their
    problems."""
    for row in batch:
        if row.skipped is not None:
            report.erased_skipped += 1
            if len(report.skipped) < report.max_problems:
                report.skipped.append(row.skipped)
        elif row.problems:
            report.rejected += 1
            for problem in row.problems:
                report.add_problem(problem)
        elif row.conflicts:
            report.conflicting += 1
            for problem in row.conflicts:
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
    consent capture times and order dates (at most :data:`ORDER_AHEAD` ahead); ``today``
    (default: the clock's UTC date) bounds birthdays.
    ``progress`` is called with ``(bytes_read, total_bytes)`` after every batch.
    """
    if kind not in KINDS:
        raise UsageError(f"unknown import kind {kind!r}: use one of {', '.join(KINDS)}")
    path = Path(path)
    file = str(path)
    now = clock()
    read_columns = columns(kind, settings, today or now.date(), now)
    order = {column.name: index for index, column in enumerate(read_columns)}
    report = ImportReport(kind=kind, file=file, max_problems=max_problems)
    kinds = {name: config.kind or name for name, config in settings.channels.items()}
    handle, is_csv = _open(path, file)
    with handle:
        total = path.stat().st_size
        reported = -1

        # A pipe (an export streamed from another program) has no position to show.
        seekable = handle.seekable()

        def tick() -> None:
            nonlocal reported
            if not seekable:
                return
            position = handle.tell()
            if progress is not None and position != reported:
                progress(position, total)
                reported = position

        tick()
        read = csv_rows if is_csv else jsonl_rows
        rows = read(handle, file, read_columns, report.ignored_columns)
        batch: list[Row] = []
        for row in rows:
            report.rows_read += 1
            batch.append(row)
            if len(batch) >= batch_size:
                write_batch(engine, kind, batch, report, order, now, kinds)
                batch = []
                tick()
        if batch:
            write_batch(engine, kind, batch, report, order, now, kinds)
        tick()
    log.info(
        "import %s finished: %d read, %d accepted, %d conflicting, %d rejected, "
        "%d skipped (erased)",
        kind,
        report.rows_read,
        report.accepted,
        report.conflicting,
        report.rejected,
        report.erased_skipped,
    )
    return report
