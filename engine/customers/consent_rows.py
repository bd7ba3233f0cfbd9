"""Writing a batch of consent rows (file or API), and naming the rows that contradict
the recorded evidence.

A row restating a fact on record (customer, channel, topic, status, source,
captured_at) with the same evidence, or with its optional fields empty, is
``unchanged``. One that gives another wording (over the API also another IP address or
user agent) is a conflict: the record is append-only and keeps its evidence, and the
row is counted ``conflicting`` and reported at its line, naming each field that differs
with both values (ids and wordings are machine text; an address or agent is never
printed, only said to differ), so the operator can see two claims about one moment.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from rapport.consent.evidence import Conflict
from rapport.consent.store import ConsentChange, record_consent
from rapport.engine.core.errors import Problem
from rapport.engine.core.text import printable
from rapport.engine.core.timeutil import isoformat_z
from rapport.engine.customers.rows import Row

if TYPE_CHECKING:
    from rapport.engine.customers.importer import ImportReport

#: Evidence too personal to print: a conflict only says it differs.
UNPRINTED = frozenset({"ip", "user_agent"})


def record_rows(
    connection: Connection,
    rows: Sequence[Row],
    report: ImportReport,
    now: datetime,
    kinds: Mapping[str, str],
) -> None:
    """Record the batch's valid consent rows; mark each conflicting one (``row.conflicts``)."""
    changes = [ConsentChange(**row.values) for row in rows]
    result = record_consent(connection, changes, recorded_at=now, kinds=kinds)
    conflicting = 0
    for conflict in result.conflicts:
        row = rows[conflict.index]
        # An address or agent the row did not give (an API item's, taken from its
        # request) says nothing against the record.
        said = tuple(
            d for d in conflict.differences if d.field not in UNPRINTED or d.field in row.provided
        )
        if said:
            conflicting += 1
            row.conflicts = conflict_problems(
                report.file, row.line, changes[conflict.index], replace(conflict, differences=said)
            )
    report.inserted += result.recorded
    report.unchanged += result.duplicates - conflicting


def conflict_problems(
    file: str, line: int, change: ConsentChange, conflict: Conflict
) -> list[Problem]:
    """One problem per differing field: ``wording: 'a' differs from the recorded 'b'
    for this fact (customer ..., channel/topic status through source at ...); the
    recorded evidence is kept``."""
    fact = (
        f"for this fact (customer {printable(change.customer_id)}, "
        f"{printable(change.channel)}/{printable(change.topic)} {change.status} "
        f"through {printable(change.source)} at {isoformat_z(change.captured_at)}); "
        "the recorded evidence is kept"
    )
    problems = []
    for difference in conflict.differences:
        name, recorded = difference.field, difference.recorded
        given = "" if name in UNPRINTED else f"'{printable(difference.given)}' "
        if not recorded:
            said = f"{given}differs from the record, which has no {name},"
        elif name in UNPRINTED:
            said = "differs from the one recorded"
        else:
            said = f"{given}differs from the recorded '{printable(recorded)}'"
        problems.append(Problem(file, line, f"{said} {fact}", name))
    return problems
