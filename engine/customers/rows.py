"""Reading import files into rows: CSV or JSON Lines, one validated row at a time.

Each physical row becomes a :class:`Row`: the values its :class:`Column` parsers
returned, which columns the file provided (an absent column leaves a stored value
alone, an empty one clears it), and every problem found, as ``FILE:ROW: field:
reason``. A line that is not UTF-8 (and, in a file saved in another encoding, any
line of more than ASCII: :func:`decoded_lines`), a CSV row with the wrong number of
cells or a line that is not a JSON object is one bad row, never a failed import; only a file whose
header cannot be used raises :class:`ImportFileError`.

:mod:`rapport.engine.customers.importer` decides the columns of each kind and writes
the rows; this module knows nothing of the database.
"""

from __future__ import annotations

import csv
import difflib
import io
import json
import math
import re
from array import array
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import partial
from typing import IO, Any

from rapport.engine.core.errors import ImportFileError, Problem
from rapport.engine.core.jsonkeys import RepeatedKey, unique_keys, unreadable
from rapport.engine.core.text import clipped, printable
from rapport.engine.customers import fields

#: JSON Lines keys no column reads: the first this many are reported.
MAX_IGNORED_KEYS = 20


@dataclass(frozen=True)
class Column:
    """How one import column is parsed and what an empty cell means."""

    name: str
    parse: Callable[[str], Any]
    required: bool = False
    empty: Any = None
    #: An empty cell gives ``empty`` on insert but leaves a stored value alone.
    keep_on_update: bool = False
    #: An id: a JSON number is taken only when written as a whole number (see :func:`cell`).
    identifier: bool = False


def id_column(name: str) -> Column:
    """A required id column (``id``, ``customer_id``, ``sku``): the source's text."""
    return Column(name, partial(fields.external_id, field=name), required=True, identifier=True)


@dataclass
class Row:
    """One row of the file: where it starts, its parsed values, what it said, what is wrong."""

    line: int
    values: dict[str, Any] = field(default_factory=dict)
    provided: set[str] = field(default_factory=set)
    problems: list[Problem] = field(default_factory=list)
    #: Why the row is skipped, not imported and not a problem (it names an erased customer).
    skipped: Problem | None = None
    #: A valid consent row whose fact is on record with other evidence, field by field
    #: (:mod:`rapport.engine.customers.consent_rows`): not recorded, counted conflicting.
    conflicts: list[Problem] = field(default_factory=list)


#: Why a JSON number with a fraction or an exponent is refused as an id.
NOT_A_WHOLE_NUMBER = (
    "must be a string or a whole number (an integer without a fraction or exponent)"
)


def cell(raw: Any, name: str, *, identifier: bool = False) -> str:
    """A JSON value or CSV cell as stripped text; JSON numbers are taken as written.

    An ``identifier`` takes a number only as a whole number: the parser keeps ``1e999``,
    ``1E2`` or ``100.0`` as a :class:`Decimal`, whose text (``1E+999``, ``1E+2``,
    ``100.0``) would be another id than the one the source meant (``100``).
    """
    if raw is None:
        return ""
    if isinstance(raw, str):
        return raw.strip()
    if isinstance(raw, bool) or not isinstance(raw, int | Decimal | float):
        raise fields.FieldInvalid(name, "must be a string or a number")
    if identifier and not isinstance(raw, int):
        raise fields.FieldInvalid(name, NOT_A_WHOLE_NUMBER)
    if isinstance(raw, float) and not math.isfinite(raw):
        # Numbers are read as Decimal, so a float is Python's NaN or Infinity, which
        # JSON does not have; str() made the name 'nan'.
        raise fields.FieldInvalid(name, "NaN and Infinity are not JSON numbers")
    return str(raw)


def parse_record(record: Mapping[str, Any], line: int, file: str, columns: Sequence[Column]) -> Row:
    row = Row(line)
    for column in columns:
        if column.name not in record:
            if column.required:
                row.problems.append(Problem(file, line, "is required", column.name))
            else:
                row.values[column.name] = column.empty
            continue
        try:
            text = cell(record[column.name], column.name, identifier=column.identifier)
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


#: The longest physical line read, in bytes (4 MiB); a longer one is one bad row, its
#: bytes read and dropped. The columns read are bounded far below it (names 200
#: characters, e-mail 320, a CSV cell 131072), leaving room for keys the importer
#: ignores (a CRM's notes), while a JSON array exported as one line can be gigabytes:
#: it was held and parsed whole, in several times its size of memory.
MAX_LINE_BYTES = 4 << 20
_BLOCK_BYTES = 1 << 16
#: Where a line ends: LF; in CSV also CRLF and a lone CR (see :func:`physical_lines`).
_LINE_ENDS = {False: re.compile(rb"\n"), True: re.compile(rb"\r\n?|\n")}


def physical_lines(handle: IO[bytes], *, universal: bool = False) -> Iterator[bytes | None]:
    """The file's lines, each with its line end, or None for a line longer than
    :data:`MAX_LINE_BYTES` (read on without being kept): memory stays bounded.

    With ``universal`` a line also ends at CRLF or a lone CR: reading a binary file
    splits at LF only, so a file whose lines end in a lone CR (spreadsheets on older
    Macs; files pasted together mix all three) was one long line with line breaks in
    its fields. Python's universal newlines and every spreadsheet end a line at each.
    CR and LF are never part of a multi-byte UTF-8 sequence, so splitting bytes is safe.
    """
    ends = _LINE_ENDS[universal]
    buffer, dropping = b"", False
    while True:
        block = handle.read(_BLOCK_BYTES)
        buffer += block
        start = 0
        for end in ends.finditer(buffer):
            if block and end.end() == len(buffer) and end[0] == b"\r":
                break  # the next block may start with the LF of this CR
            line, start = buffer[start : end.end()], end.end()
            yield None if dropping or len(line) > MAX_LINE_BYTES else line
            dropping = False
        buffer = buffer[start:]
        if not block:
            if buffer or dropping:
                yield None if dropping or len(buffer) > MAX_LINE_BYTES else buffer
            return
        if len(buffer) > MAX_LINE_BYTES:
            # A CR kept back (it may start a CRLF) ends this line either way: keep it,
            # so the next block ends the dropped line there and not at the next one.
            buffer, dropping = (b"\r" if buffer.endswith(b"\r") else b""), True


#: Why a line is a bad row by itself, before its content is read.
NOT_UTF8 = "is not UTF-8 text"
TOO_LONG = "is longer than {limit} bytes, more than any row can be: skipped unread"
#: Why a line that decodes is refused all the same: the file is in another encoding.
UTF8_BY_CHANCE = (
    "refused: line {line} of this file is not UTF-8 text, so the file was saved in another "
    "encoding (Windows-1256, GBK, Big5, ...) and this line's text may be read wrongly; "
    "save the file as UTF-8"
)
_BOM = b"\xef\xbb\xbf"
#: Why a file is refused as a whole from its first line on (see :func:`_wide`).
WIDE = "is UTF-16 or UTF-32 text, not UTF-8: save it as UTF-8"


def _wide(first: bytes) -> bool:
    """Whether a file's first line is UTF-16 or UTF-32: it starts with their byte-order
    mark, or (without one) a quarter or more of its bytes are NUL, as in the ASCII
    letters of column names and JSON keys, which no UTF-8 CSV header or JSON line has."""
    return first.startswith((b"\xff\xfe", b"\xfe\xff")) or first.count(0) * 4 >= len(first)


def _decode(raw: bytes, number: int) -> str | None:
    try:
        return raw.decode("utf-8-sig" if number == 1 else "utf-8")
    except UnicodeDecodeError:
        return None


def foreign_encoding(handle: IO[bytes], *, universal: bool = False) -> int | None:
    """The number of the file's first line that is not UTF-8 when the file reads as
    saved in another encoding: more than half of its lines holding more than ASCII are
    not UTF-8. In Windows-1256, GBK or Big5 text nearly every such line is not (a
    name of two Chinese characters in GB18030 is valid UTF-8 about once in a thousand);
    a UTF-8 file with a damaged line has that one among many that are, and its other
    lines are imported as written. Read through once and rewound (memory stays
    bounded, as in :func:`physical_lines`); None without such a line, or for a pipe,
    which cannot be read twice."""
    if not handle.seekable():
        return None
    start = handle.tell()
    first = None
    wider = broken = 0
    try:
        for number, raw in enumerate(physical_lines(handle, universal=universal), start=1):
            if raw is None or raw.replace(_BOM, b"").isascii():
                continue
            wider += 1
            if _decode(raw, number) is None:
                broken += 1
                first = first or number
        return first if broken * 2 > wider else None
    finally:
        handle.seek(start)


def decoded_lines(
    handle: IO[bytes], *, universal: bool = False
) -> Iterator[tuple[int, str, str | None]]:
    """Physical lines as (number, text, what is wrong with the line itself): a line that
    is not UTF-8 (its text then has replacement characters) or is too long (its text
    is one character) becomes one bad row rather than a failed import. With
    ``universal``, CRLF and a lone CR end a line too (CSV; :func:`physical_lines`).

    In a file saved in another encoding (Windows-1256, GBK, Big5: :func:`foreign_encoding`),
    every line holding other bytes than ASCII is a bad row too: such text now and then
    forms valid UTF-8 of other characters (the GB18030 of 伟 is the UTF-8 of ΰ), which
    would be stored silently. ASCII reads the same in all of them. A file is read
    through once first to tell; a pipe cannot be, so there every line after the first
    one that is not UTF-8 is refused too."""
    piped = not handle.seekable()
    foreign = foreign_encoding(handle, universal=universal)
    for number, raw in enumerate(physical_lines(handle, universal=universal), start=1):
        if raw is None:
            yield number, "?\n", TOO_LONG.format(limit=MAX_LINE_BYTES)
            continue
        if number == 1 and _wide(raw):
            yield number, "?\n", WIDE
            return
        text = _decode(raw, number)
        if text is None:
            if piped:
                foreign = foreign or number
            yield number, raw.decode("utf-8", errors="replace"), NOT_UTF8
        elif foreign is not None and not raw.replace(_BOM, b"").isascii():
            yield number, text, UTF8_BY_CHANCE.format(line=foreign)
        else:
            yield number, text, None


#: Separators spreadsheets use instead of commas, as the hint names them.
_OTHER_SEPARATORS = {";": "';'", "\t": "a tab", "|": "'|'"}


def _separator_hint(header: list[str]) -> str:
    """Why the columns may be missing: a header read as one column that another
    separator splits (a spreadsheet saving 'CSV' with semicolons, as many European
    locales do, or tabs), or an empty string."""
    if len(header) != 1:
        return ""
    for separator, named in _OTHER_SEPARATORS.items():
        if separator in header[0]:
            return f"; the values are separated by {named}, not commas: save it as CSV with commas"
    return ""


def _misspelt(missing: Sequence[str], unknown: Sequence[str]) -> str:
    """What a refusal for missing columns adds: for each, the unknown name in the header
    that looks meant for it (``time_zone``, ``timezon``), or an empty string."""
    said = ""
    for name in missing:
        squeezed = {re.sub(r"[\s_-]", "", other): other for other in unknown}
        close = difflib.get_close_matches(name, list(squeezed), n=1, cutoff=0.8)
        if close:
            said += f"; is '{printable(squeezed[close[0]])}' meant to be {name}?"
    return said


def _taken_in(start: int, end: int) -> str:
    """What a refused CSV row read across lines adds to its problem: an unclosed quote
    took the next lines into it, good rows too, or an empty string."""
    if end <= start:
        return ""
    return (
        f"; it was read from line {start} to line {end} as one row (a quoted value holds "
        "line breaks, or a quote is never closed): none of those lines was imported"
    )


class _RowTooLong(Exception):
    """A CSV row read across lines is longer than :data:`MAX_LINE_BYTES`."""


class _RowLines:
    """The lines the csv reader reads, noting the row's first and last (:meth:`start_row`
    begins a row) and counting its UTF-8 bytes: once a row has passed
    :data:`MAX_LINE_BYTES` its next line is refused with :class:`_RowTooLong` before it
    is read, so the reader never holds more than a row's worth (quoted line breaks let
    one row run to the end of the file). The row's lines after its first are kept (one
    string and their lengths) for :meth:`read_again`; ``ended``: the file's last line
    was read. An iterator object, not a generator, which the exception would finish."""

    def __init__(self, lines: Iterator[tuple[int, str]]) -> None:
        self.lines = lines
        self.first = self.last = self.size = 0
        self.later, self.lengths = io.StringIO(), array("I")
        self.again, self.again_lengths, self.again_at = "", array("I"), [0, 0, 0]
        self.ended = False
        #: Characters read again at most, all rows together (never quadratic time).
        self.budget = 4 * MAX_LINE_BYTES

    def start_row(self) -> None:
        self.first = self.size = 0
        if self.lengths:
            self.later, self.lengths = io.StringIO(), array("I")

    def read_again(self) -> bool:
        """Give back the row's lines after its first; False once the budget is spent."""
        text = self.later.getvalue()
        if len(text) > self.budget:
            return False
        self.budget -= len(text)
        self.again, self.again_lengths, self.again_at = text, self.lengths, [0, 0, self.first + 1]
        self.later, self.lengths, self.ended = io.StringIO(), array("I"), False
        return True

    def __iter__(self) -> _RowLines:
        return self

    def __next__(self) -> str:
        if self.size > MAX_LINE_BYTES:
            raise _RowTooLong(TOO_LONG.format(limit=MAX_LINE_BYTES))
        index, offset, number = self.again_at
        if index < len(self.again_lengths):
            text = self.again[offset : offset + self.again_lengths[index]]
            self.again_at = [index + 1, offset + len(text), number + 1]
        else:
            try:
                number, text = next(self.lines)
            except StopIteration:
                self.ended = True
                raise
        if self.first:
            self.later.write(text)
            self.lengths.append(len(text))
        else:
            self.first = number
        self.last = number
        self.size += len(text) if text.isascii() else len(text.encode("utf-8", "replace"))
        return text


#: A quoted value still open at the end of the file: its row is refused at its first line.
NEVER_CLOSED = (
    "a quote opened on this line is never closed, so it took every line after it into "
    'its value: close it, or write a quote inside a value as two ("")'
)


def csv_rows(
    handle: IO[bytes], file: str, columns: Sequence[Column], ignored: list[str]
) -> Iterator[Row]:
    """The rows of a CSV file with a header line; the header's unknown column names
    are added to ``ignored``. A file that cannot be read at all raises
    :class:`ImportFileError`; a bad row is a row with problems."""
    bad_lines: dict[int, str] = {}

    def lines() -> Iterator[tuple[int, str]]:
        for number, text, wrong in decoded_lines(handle, universal=True):
            if wrong == WIDE:
                raise ImportFileError([Problem(file, number, wrong)])
            if wrong:
                bad_lines[number] = wrong
            yield number, text

    source = _RowLines(lines())
    reader = csv.reader(source)
    try:
        header = next(reader)
    except StopIteration:
        raise ImportFileError([Problem(file, None, "is empty: no header row")]) from None
    except csv.Error as exc:
        raise ImportFileError([Problem(file, 1, f"unreadable header: {exc}")]) from None
    except _RowTooLong:
        message = (
            f"header is longer than {MAX_LINE_BYTES} bytes, more than any header can be (a "
            "quoted name holds line breaks, or a quote is never closed)"
        )
        raise ImportFileError([Problem(file, 1, message)]) from None
    if 1 in bad_lines:
        raise ImportFileError([Problem(file, 1, f"header {bad_lines[1]}")])
    names = [name.strip().lower() for name in header]
    known = {column.name for column in columns}
    counts = Counter(names)  # names.count() for each name was quadratic in the header
    duplicates = sorted(name for name, seen in counts.items() if name and seen > 1)
    if duplicates:
        # Names from the file, printed on a terminal: escaped (engine/core/text.py).
        message = f"column appears more than once: {', '.join(map(printable, duplicates))}"
        raise ImportFileError([Problem(file, 1, message)])
    missing = [column.name for column in columns if column.required and column.name not in names]
    if missing:
        required = ", ".join(column.name for column in columns if column.required)
        message = (
            f"missing required column{'s' if len(missing) > 1 else ''}: {', '.join(missing)}"
            f" (required: {required})"
        )
        message += _misspelt(missing, [name for name in names if name and name not in known])
        raise ImportFileError([Problem(file, 1, message + _separator_hint(header))])
    ignored.extend(clipped(name) for name in names if name and name not in known)
    wanted = [(index, name) for index, name in enumerate(names) if name in known]

    while True:
        source.start_row()
        try:
            cells = next(reader)
        except StopIteration:
            return
        except (csv.Error, _RowTooLong) as exc:
            # A quote never closed took lines into one value up to the field limit, or
            # quoted line breaks made one row longer than any physical line may be.
            bad_lines.clear()
            start, end = source.first, source.last
            said = str(exc) if isinstance(exc, _RowTooLong) else f"bad CSV: {exc}"
            yield Row(start, problems=[Problem(file, start, said + _taken_in(start, end))])
            continue
        start, end = source.first, source.last
        if source.ended and end > start:  # a quote open at the end: its lines are rows too
            bad_lines.pop(start, None)
            said = NEVER_CLOSED if source.read_again() else NEVER_CLOSED + _taken_in(start, end)
            yield Row(start, problems=[Problem(file, start, said)])
            continue
        # The reader reads no further than the row's last line: every line kept is its.
        wrong = [bad_lines.pop(n) for n in sorted(bad_lines) if n <= end]
        if source.size > MAX_LINE_BYTES:
            message = TOO_LONG.format(limit=MAX_LINE_BYTES) + _taken_in(start, end)
            yield Row(start, problems=[Problem(file, start, message)])
            continue
        if not any(cell.strip() for cell in cells):
            continue
        if wrong:
            yield Row(start, problems=[Problem(file, start, wrong[0])])
            continue
        if len(cells) != len(names):
            message = f"has {len(cells)} values but the header has {len(names)} columns"
            yield Row(start, problems=[Problem(file, start, message + _taken_in(start, end))])
            continue
        row = parse_record({name: cells[index] for index, name in wanted}, start, file, columns)
        if row.problems and end > start:  # the lines it took in are lost with it: say so
            row.problems[0] = replace(
                row.problems[0], message=row.problems[0].message + _taken_in(start, end)
            )
        yield row


def jsonl_rows(
    handle: IO[bytes], file: str, columns: Sequence[Column], ignored: list[str]
) -> Iterator[Row]:
    """The rows of a JSON Lines file, one object a line; keys no column reads are added
    to ``ignored`` (the first :data:`MAX_IGNORED_KEYS`)."""
    known = {column.name for column in columns}
    for number, text, wrong in decoded_lines(handle):
        if wrong == WIDE:
            raise ImportFileError([Problem(file, number, wrong)])
        if wrong:
            yield Row(number, problems=[Problem(file, number, wrong)])
            continue
        # A byte-order mark starts every file some Windows tools write, so files
        # joined together carry one at the start of a later line: never content.
        text = text.removeprefix("\ufeff")
        if not text.strip():
            continue
        try:
            record = json.loads(text, parse_float=Decimal, object_pairs_hook=unique_keys)
        except RepeatedKey as twice:
            key = printable(twice.key)[:64]
            said = f"the key {json.dumps(key, ensure_ascii=False)} is written twice in this "
            yield Row(number, problems=[Problem(file, number, said + "object; write it once", key)])
            continue
        except (ValueError, RecursionError) as exc:
            reason = exc.msg if isinstance(exc, json.JSONDecodeError) else unreadable(exc)
            yield Row(number, problems=[Problem(file, number, f"not valid JSON: {reason}")])
            continue
        if not isinstance(record, dict):
            yield Row(number, problems=[Problem(file, number, "not a JSON object")])
            continue
        for key in record:
            if len(ignored) >= MAX_IGNORED_KEYS:
                break
            if key not in known and clipped(key) not in ignored:
                ignored.append(clipped(key))
        yield parse_record(record, number, file, columns)
