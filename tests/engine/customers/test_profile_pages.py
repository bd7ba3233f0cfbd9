"""Reading customers in keyset pages under a pre-filter (customers/profiles.py): each
page's subqueries are bounded to the page's ids, so a page costs the same at the end
of a million customers as at the start, and the pages hold exactly the customers the
filter keeps, in id order, within the id range asked for."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from factories import insert_customer
from sqlalchemy import Engine, event, exists

from rapport.consent.store import grant
from rapport.engine.core.config import Settings
from rapport.engine.core.models import CONSENT_STATE, CUSTOMER
from rapport.engine.customers.profiles import iter_profile_batches

AS_OF = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
#: Every third customer has granted offers by e-mail.
GRANTED = {f"C{n:02d}" for n in range(30) if n % 3 == 0}
WHERE = exists().where(
    CONSENT_STATE.c.customer_id == CUSTOMER.c.id,
    CONSENT_STATE.c.status == "granted",
    CONSENT_STATE.c.topic == "offers",
)


def seeded(engine: Engine) -> Engine:
    with engine.begin() as connection:
        for n in range(30):
            insert_customer(connection, f"C{n:02d}")
        for cid in sorted(GRANTED):
            grant(connection, cid, "email", "offers", source="test")
    return engine


def pages(engine: Engine, id_range: Any = None) -> tuple[list[list[str]], list[dict[str, Any]]]:
    """The ids of each page of four, and the parameters of each page's statement."""
    sent: list[dict[str, Any]] = []

    def seen(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, *_: Any):
        if statement.lstrip().startswith("SELECT customer.id") and "consent_state" in statement:
            sent.append(dict(context.compiled_parameters[0]))

    event.listen(engine, "before_cursor_execute", seen)
    try:
        with engine.connect() as connection:
            found = [
                [profile.id for profile in batch]
                for batch in iter_profile_batches(
                    connection, Settings(), AS_OF, 4, where=WHERE, id_range=id_range
                )
            ]
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    return found, sent


def test_filtered_pages_hold_exactly_the_customers_the_filter_keeps_in_id_order(
    engine: Engine,
) -> None:
    found, _ = pages(seeded(engine))
    assert [cid for page in found for cid in page] == sorted(GRANTED)
    assert [len(page) for page in found] == [4, 4, 2]


def test_each_page_bounds_the_filter_subquery_from_where_the_last_page_ended(
    engine: Engine,
) -> None:
    found, sent = pages(seeded(engine))
    bounds = [p["rapport_page_from"] for p in sent]
    assert bounds == ["", found[0][-1], found[1][-1]]


def test_an_id_range_bounds_the_subquery_above_too_and_keeps_only_its_customers(
    engine: Engine,
) -> None:
    found, sent = pages(seeded(engine), ("C05", "C20"))
    assert [cid for page in found for cid in page] == ["C06", "C09", "C12", "C15", "C18"]
    uppers = {p["rapport_page_up_to"] for p in sent}
    assert uppers == {"C20"}


def test_a_statement_built_once_reads_every_page_with_its_own_bounds(engine: Engine) -> None:
    """The bounds are parameters of one statement, not literals of a new one per page
    (PostgreSQL prepares a statement run often; SQLite caches it)."""
    _, sent = pages(seeded(engine))
    assert len(sent) == 3
    assert len({tuple(sorted(p)) for p in sent[1:]}) == 1


def test_pages_are_of_the_databases_default_size_unless_the_setting_says_otherwise(
    engine: Engine,
) -> None:
    from rapport.engine.core.config import PlanningConfig

    with engine.begin() as connection:
        for n in range(4100):
            insert_customer(connection, f"D{n:04d}")
    expected = {"sqlite": 1000, "postgresql": 4000}[engine.dialect.name]

    def sizes(settings: Settings) -> list[int]:
        with engine.connect() as connection:
            return [len(b) for b in iter_profile_batches(connection, settings, AS_OF)]

    assert sizes(Settings())[0] == expected
    assert sizes(Settings(planning=PlanningConfig(batch_size=1500)))[:2] == [1500, 1500]
