"""Planning locks its batch's customers in the order the web pages lock them.

An unsubscribe locks every holder of an address ``FOR UPDATE`` in the order Python
sorts their ids; planning's write (:mod:`rapport.engine.planning.erased`) locked its
batch ``FOR KEY SHARE`` in the order of ``ORDER BY id``, which on a database whose
collation is not C (en-US: 'a1' before 'B1', where Python puts 'B1' first) is another
order, so the two could each hold one row and wait for the other: a deadlock, one of
them aborted (an unsubscribe lost, or a batch not written).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Iterator

import pytest
from conftest import PG_ADMIN_URL
from factories import insert_customer
from sqlalchemy import Engine, text

from rapport.consent.privacy import hold_unerased
from rapport.engine.core.db import make_engine, upgrade
from rapport.engine.planning.erased import without_erased


@pytest.fixture
def en_us_engine(postgres_admin: Engine) -> Iterator[Engine]:
    name = f"rapport_test_{uuid.uuid4().hex[:12]}"
    with postgres_admin.connect() as connection:
        connection.execute(
            text(
                f'CREATE DATABASE "{name}" TEMPLATE template0 LOCALE_PROVIDER icu '
                "ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'"
            )
        )
    engine = make_engine(PG_ADMIN_URL.rsplit("/", 1)[0] + "/" + name)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        with postgres_admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_planning_locks_a_batch_in_the_order_an_unsubscribe_does(en_us_engine: Engine) -> None:
    engine = en_us_engine
    for customer_id in ("a1", "B1"):
        insert_customer(engine, customer_id)
    assert sorted(["a1", "B1"]) == ["B1", "a1"]
    rows = [{"customer_id": "a1"}, {"customer_id": "B1"}]
    kept: list[list[dict[str, str]]] = []

    def planning_write() -> None:
        with engine.begin() as connection:
            kept.append(without_erased(connection, rows))

    with engine.connect() as page:
        page.execute(text("SET lock_timeout = '3s'"))
        page.commit()
        with page.begin():
            assert hold_unerased(page, "B1")  # an unsubscribe, Python's order: B1 first
            planner = threading.Thread(target=planning_write)
            planner.start()
            planner.join(0.5)  # the planner now waits for B1
            assert hold_unerased(page, "a1")  # was a deadlock, one of the two aborted
    planner.join(10)
    assert kept and len(kept[0]) == 2
