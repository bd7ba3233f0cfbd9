"""Evidence that contradicts the record: the same fact said again with other evidence.

A fact (customer, channel, topic, status, source, captured_at) is recorded once
(:mod:`rapport.consent.store`). When it arrives again, its evidence (the wording the
person agreed to, the language they saw it in, their address and browser) should be
what is on record. If it is not, the two are different claims about one moment: the
record is append-only and keeps what it holds, and the caller is told which fields
differ (:class:`Conflict`), so that an operator sees it instead of a silent
"unchanged". A field the new claim leaves empty is no conflict: it says nothing.

The recorded evidence of a batch's repeated facts is read in one query per
:data:`LOOKUP_CHUNK` facts (a row-value ``IN``, on SQLite and PostgreSQL alike), never
one per fact.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import Connection, select, tuple_

from rapport.engine.core.models import CONSENT_EVENT
from rapport.engine.core.timeutil import as_utc

#: The evidence fields compared, in the order conflicts name them.
EVIDENCE_FIELDS = ("wording", "locale", "ip", "user_agent")
#: Facts per lookup: six parameters each, well inside SQLite's and PostgreSQL's limits,
#: and as many as an import batch or an API request holds.
LOOKUP_CHUNK = 1000

#: What identifies a fact (the unique constraint ``uq_consent_event_fact``), and its key.
FACT_COLUMNS = ("customer_id", "channel", "topic", "status", "source", "captured_at")
FactKey = tuple[str, str, str, str, str, datetime]


class Claim(Protocol):
    """What is compared: a fact and its evidence (a ``ConsentChange``)."""

    @property
    def fact(self) -> FactKey: ...


@dataclass(frozen=True, slots=True)
class Difference:
    """One evidence field: what the new claim says and what is on record."""

    field: str
    given: str
    recorded: str | None


@dataclass(frozen=True, slots=True)
class Conflict:
    """The claim at ``index`` of the batch contradicts the recorded evidence."""

    index: int
    differences: tuple[Difference, ...]


def _recorded(connection: Connection, facts: Sequence[FactKey]) -> dict[FactKey, Any]:
    keys = tuple(CONSENT_EVENT.c[name] for name in FACT_COLUMNS)
    found: dict[FactKey, Any] = {}
    for start in range(0, len(facts), LOOKUP_CHUNK):
        chunk = facts[start : start + LOOKUP_CHUNK]
        query = select(*keys, *(CONSENT_EVENT.c[name] for name in EVIDENCE_FIELDS)).where(
            tuple_(*keys).in_(chunk)
        )
        for row in connection.execute(query):
            found[tuple(row[:6])] = row
    return found


def conflicts(connection: Connection, claims: Mapping[int, Claim]) -> list[Conflict]:
    """The claims (by their index in the batch) whose evidence differs from the record.

    ``claims`` are facts already on record, or recorded earlier in the same batch.
    """
    worded = {
        index: claim
        for index, claim in claims.items()
        if any(getattr(claim, name, None) for name in EVIDENCE_FIELDS)
    }
    if not worded:
        return []
    facts = list(dict.fromkeys(claim.fact for claim in worded.values()))
    recorded = {
        (*key[:5], as_utc(key[5])): row for key, row in _recorded(connection, facts).items()
    }
    found: list[Conflict] = []
    for index, claim in sorted(worded.items()):
        row = recorded.get(claim.fact)
        if row is None:  # not on record after all: nothing to contradict
            continue
        differences = tuple(
            Difference(name, given, getattr(row, name))
            for name in EVIDENCE_FIELDS
            if (given := getattr(claim, name, None)) and given != getattr(row, name)
        )
        if differences:
            found.append(Conflict(index, differences))
    return found
